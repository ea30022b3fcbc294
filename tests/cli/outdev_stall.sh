# The outdev reader stalls for 10 s while pairs keep coming: colo-graph keeps
# running with bounded memory, counts what its output queue could not hold,
# and what does arrive is in order.
. "$(dirname "$0")/lib.inc"
python3 "$SRC/tests/cli/outdev_stall.py" "$BIN" "$SRC" "$T" 40000 ${STALL_SECONDS:-10} >"$T/result" || { cat "$T/result" "$T/stderr.txt"; fail "driver failed"; }
cat "$T/result"
received=$(sed -n 's/.*received \([0-9]*\),.*/\1/p' "$T/result")
inversions=$(sed -n 's/.*inversions \([0-9]*\)/\1/p' "$T/result")
dropped=$(awk '$1 == "drop_queue_full" {s += $2} END {print s + 0}' "$T/stats.txt")
written=$(awk '/^outdev /{f=1} f && $1 == "frames_out" {print $2; exit}' "$T/stats.txt")
matched=$(awk '$1 == "released_matched" {print $2; exit}' "$T/stats.txt")
rss=$(awk '/^peak RSS/{print $3}' "$T/stats.txt")
echo "released $matched, written $written, dropped (queue full) $dropped, peak RSS $rss KiB"
[ "$inversions" -eq 0 ] || fail "reordered output"
[ "$matched" -eq 40000 ] || fail "not all pairs matched"
[ $((written + dropped)) -eq 40000 ] || fail "output unaccounted for: $written + $dropped"
[ "$received" -eq "$written" ] || fail "reader got $received, socket wrote $written"
[ "$rss" -lt 300000 ] || fail "RSS above 300 MB"
echo ok
