# run --dot-dir writes the live graph at start, on SIGUSR1 and at exit, with
# per-node and per-edge packet counts.
. "$(dirname "$0")/lib.inc"
mkdir -p "$T/dots"
cat >"$T/g.yaml" <<Y
nodes:
  gen: { type: generator, count: 100000000 }
  tee: { type: mirror }
  out: { type: null-sink }
links: [ gen -> tee, tee.out -> out ]
Y
"$BIN" run "$T/g.yaml" --mode live --dot-dir "$T/dots" >"$T/out" 2>"$T/err" &
pid=$!
sleep 0.5
kill -USR1 $pid
sleep 0.3
kill -TERM $pid
wait $pid || fail "exit code $?"
ls "$T/dots"
for phase in start usr1 exit; do
    f=$(ls "$T"/dots/*-colo-graph.$phase.dot 2>/dev/null | head -1)
    [ -n "$f" ] || fail "no $phase snapshot"
    grep -q "rankdir=LR" "$f" || fail "$phase: not a graph"
done
grep -Eq 'n0:o0:e -> n1:i0:w \[label="[0-9.]+[kM]?"\]' "$T"/dots/*.exit.dot || fail "edge counts missing"
grep -q "unlinked\|pkts" "$T"/dots/*.exit.dot || fail "port counts missing"
echo ok
