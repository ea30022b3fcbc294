# The operator endpoints end to end: every `colo-graph ctl` command and the
# Prometheus metrics against a running graphs/colo-compare.yaml
# (tests/cli/operations.py).
. "$(dirname "$0")/lib.inc"
python3 "$SRC/tests/cli/operations.py" "$BIN" "$SRC" "$T" || { cat "$T/stderr.txt"; fail "driver failed"; }

# The same endpoints from the graph file's run: mapping (variables expanded);
# the command line wins over it.
cat >"$T/g.yaml" <<'Y'
variables:
  dir: /nonexistent
nodes:
  in:   { type: socket, address: "unix:${dir}/in.sock", mode: server }
  sink: { type: null-sink }
links:
  - in -> sink
run:
  control: "${dir}/from-file.sock"
Y
"$BIN" run "$T/g.yaml" --set dir="$T" 2>"$T/run.err" &
pid=$!
for _ in $(seq 100); do [ -S "$T/from-file.sock" ] && break; sleep 0.05; done
"$BIN" ctl "$T/from-file.sock" stats >"$T/stats.json" || { cat "$T/run.err"; fail "ctl on the run: socket"; }
grep -q '"name": "sink"' "$T/stats.json" || fail "stats from the run: socket"
# A socket another process serves is left alone; a symlink is never followed.
expect_rc 73 "$BIN" run "$T/g.yaml" --set dir="$T/other" --control "$T/from-file.sock"
grep -q "from-file.sock: another process listens on it" "$T/err" || { cat "$T/err"; fail "live socket"; }
ln -s "$T/target" "$T/link.sock"
expect_rc 73 "$BIN" run "$T/g.yaml" --set dir="$T/other" --control "$T/link.sock"
grep -q "link.sock: is a symbolic link; refusing to follow it" "$T/err" || { cat "$T/err"; fail "symlink"; }
[ ! -e "$T/target" ] || fail "created through the symlink"
kill $pid; wait $pid || true
[ ! -e "$T/from-file.sock" ] || fail "the run: socket was left behind"
"$BIN" run "$T/g.yaml" --set dir="$T" --control "$T/from-cli.sock" 2>"$T/run.err" &
pid=$!
for _ in $(seq 100); do [ -S "$T/from-cli.sock" ] && break; sleep 0.05; done
"$BIN" ctl "$T/from-cli.sock" help >/dev/null || fail "ctl on the --control socket"
[ ! -e "$T/from-file.sock" ] || fail "--control did not replace the run: option"
kill $pid; wait $pid || true
echo ok
