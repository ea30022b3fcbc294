# The outdev reader stalls for 10 s while pairs keep coming: colo-graph holds
# back (its output queue full, it waits for the reader and stops reading its
# inputs) with bounded memory, and once the reader resumes every pair arrives,
# in order, none dropped.
. "$(dirname "$0")/lib.inc"
python3 "$SRC/tests/cli/outdev_stall.py" "$BIN" "$SRC" "$T" 40000 ${STALL_SECONDS:-10} >"$T/result" || { cat "$T/result" "$T/stderr.txt"; fail "driver failed"; }
cat "$T/result"
received=$(sed -n 's/.*received \([0-9]*\),.*/\1/p' "$T/result")
inversions=$(sed -n 's/.*inversions \([0-9]*\)/\1/p' "$T/result")
dropped=$(awk '$1 ~ /^drop_/ && $1 != "drop_after_stop" {s += $2} END {print s + 0}' "$T/stats.txt")
written=$(awk '/^outdev /{f=1} f && $1 == "frames_out" {print $2; exit}' "$T/stats.txt")
matched=$(awk '$1 == "released_matched" {print $2; exit}' "$T/stats.txt")
rss=$(awk '/^peak RSS/{print $3}' "$T/stats.txt")
waits=$(awk '/^outdev /{f=1} f && $1 == "queue_full_waits" {print $2; exit}' "$T/stats.txt")
echo "released $matched, written $written, waits for the reader ${waits:-0}, dropped $dropped, peak RSS $rss KiB"
[ "$inversions" -eq 0 ] || fail "reordered output"
[ "$matched" -eq 40000 ] || fail "not all pairs matched"
[ "$dropped" -eq 0 ] || fail "$dropped packets dropped"
[ "$written" -eq 40000 ] || fail "socket wrote $written of 40000"
[ "${waits:-0}" -gt 0 ] || fail "the output never waited for the stalled reader"
[ "$received" -eq "$written" ] || fail "reader got $received, socket wrote $written"
[ "$rss" -lt 300000 ] || fail "RSS above 300 MB"
echo ok
