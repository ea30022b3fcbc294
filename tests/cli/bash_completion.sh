# tools/colo-graph.bash completes commands, a command's options, node types,
# graph variables for --set and --mode values, from the program itself; and
# cmake --install installs it where bash-completion looks.
. "$(dirname "$0")/lib.inc"
BUILD=$(cd "$(dirname "$BIN")/.." && pwd)
complete_words() { # complete_words WORD... : what TAB offers for the last word
    bash -c 'shopt -s extglob; source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
             _colo_graph; printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$SRC/tools/colo-graph.bash" "$@"
}
expect() { # expect "WANTED LINES" WORD...
    want=$1; shift
    got=$(complete_words "$@")
    [ "$got" = "$want" ] || fail "completing '$*': got [$got], want [$want]"
}
expect "$(printf 'compare\n')" "$BIN" co
expect "$(printf 'inspect\n')" "$BIN" ins
expect "$(printf 'rewriter\n')" "$BIN" inspect rew
expect "$(printf 'redirector\n')" "$BIN" inspect red
expect "$(printf -- '--mode\n')" "$BIN" run g.yaml --mo
expect "$(printf 'live\n')" "$BIN" run g.yaml --mode l
expect "$(printf 'off\n')" "$BIN" run g.yaml --sandbox of
expect "$(printf 'compare_addr=\ncompare_timeout=\n')" "$BIN" run "$SRC/graphs/primary.yaml" --set comp
expect "$(printf 'checkpoint\n')" "$BIN" ctl /run/x.sock che
expect "$(printf 'add\n')" "$BIN" ctl /run/x.sock bypass a
# every command of --help is offered
n=$(complete_words "$BIN" "" | grep -cv -- '^--')
[ "$n" -eq "$("$BIN" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' | wc -l)" ] || fail "offered $n commands"
mkdir -p "$T/g" && touch "$T/g/a.yaml" "$T/g/b.txt"
expect "$T/g/a.yaml" "$BIN" validate "$T/g/"
cmake --install "$BUILD" --prefix "$T/inst" >/dev/null
cmp -s "$SRC/tools/colo-graph.bash" "$T/inst/share/bash-completion/completions/colo-graph" ||
    fail "cmake --install did not install the completion"
echo ok
