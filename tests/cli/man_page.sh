# colo-graph(1): generated from the binary's help at build time (tools/make-man.sh),
# so every command and every option of every command's --help is in the page;
# `cmake --install` puts it under share/man/man1.
. "$(dirname "$0")/lib.inc"
BUILD=$(cd "$(dirname "$BIN")/.." && pwd)
PAGE=$(dirname "$BIN")/colo-graph.1
[ -s "$PAGE" ] || fail "no man page at $PAGE (target 'man')"
sed 's/\\-/-/g' "$PAGE" >"$T/page"
grep -q '^\.TH COLO-GRAPH "1"' "$T/page" || fail "not a section 1 page"
version=$(sed -n 's/^\.TH [^ ]* "1" "[^"]*" "\([^"]*\)".*/\1/p' "$T/page")
[ -n "$version" ] && "$BIN" --version | grep -qxF "$version" || fail "the page's version '$version' is not --version's"
commands=$("$BIN" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p')
[ "$(echo "$commands" | wc -w)" -ge 6 ] || fail "found only: $commands"
for cmd in $commands; do
    grep -q "^\.SS $cmd\$" "$T/page" || fail "no section for '$cmd'"
    for opt in $("$BIN" "$cmd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -- "$opt" "$T/page" || fail "'$cmd $opt' is not in the page"
    done
done
cmake --install "$BUILD" --prefix "$T/inst" >/dev/null
[ -s "$T/inst/share/man/man1/colo-graph.1" ] || fail "cmake --install did not install the page"
cmp -s "$PAGE" "$T/inst/share/man/man1/colo-graph.1" || fail "the installed page differs"
echo "ok: $(echo $commands | wc -w) commands"
