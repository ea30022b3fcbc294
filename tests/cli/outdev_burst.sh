# A checkpoint flush releases 100,000 primaries at once into an outdev whose
# reader is slow: the socket holds the graph back until the reader took them
# (back-pressure: the reader never stops reading for stall_timeout), drops
# none, and every one arrives, in order, with bounded memory.
. "$(dirname "$0")/lib.inc"
N=100000
python3 "$SRC/tests/cli/outdev_burst.py" "$BIN" "$SRC" "$T" $N 16384 0.002 >"$T/result" || { cat "$T/result" "$T/stderr.txt"; fail "driver failed"; }
cat "$T/result"
received=$(sed -n 's/.*received \([0-9]*\) in.*/\1/p' "$T/result")
in_order=$(sed -n 's/.*in order \([0-9]*\)/\1/p' "$T/result")
stat() { awk -v n="$1" '$1 == n {print $2; exit}' "$T/stats.txt"; }
socket_stat() { awk -v n="$1" '/^outdev /{f=1} f && $1 == n {print $2; exit}' "$T/stats.txt"; }
dropped=$(awk '$1 ~ /^drop_/ && $1 != "drop_after_stop" {s += $2} END {print s + 0}' "$T/stats.txt")
flushed=$(stat released_flush); written=$(socket_stat frames_out); waits=$(socket_stat queue_full_waits)
rss=$(awk '/^peak RSS/{print $3}' "$T/stats.txt")
echo "released by the flush ${flushed:-0}, written ${written:-0}, waits for the reader ${waits:-0}, dropped $dropped, peak RSS $rss KiB"
[ "${flushed:-0}" -eq $N ] || { cat "$T/stats.txt"; fail "the flush released ${flushed:-0}, not $N"; }
[ "$dropped" -eq 0 ] || { cat "$T/stats.txt"; fail "packets dropped"; }
[ "${written:-0}" -eq $N ] || fail "socket wrote ${written:-0}"
[ "$received" -eq $N ] || fail "reader got $received of $N"
[ "$in_order" -eq $N ] || fail "out of order: only $in_order in place"
[ "$rss" -lt 300000 ] || fail "RSS above 300 MB"

# A reader that never reads holds the graph for stall_timeout (2 s) at most;
# SIGTERM 1 s after the flush, inside that wait, still ends the run promptly,
# and what could not be written counts as dropped (at shutdown, or as stalled
# had the wait run out first).
python3 "$SRC/tests/cli/outdev_burst.py" "$BIN" "$SRC" "$T" $N 16384 -1 >"$T/result" || { cat "$T/result" "$T/stderr.txt"; fail "driver failed"; }
cat "$T/result"
exit_s=$(sed -n 's/.*exited \([0-9]*\)\..*/\1/p' "$T/result")
written=$(socket_stat frames_out); shutdown=$(socket_stat drop_shutdown); stalled=$(socket_stat drop_stalled)
echo "stuck reader: written ${written:-0}, dropped at shutdown ${shutdown:-0}, as stalled ${stalled:-0}, exit after SIGTERM ${exit_s}s"
[ "$exit_s" -lt 10 ] || fail "SIGTERM took ${exit_s}s"
[ $((${written:-0} + ${shutdown:-0} + ${stalled:-0})) -eq $N ] || { cat "$T/stats.txt"; fail "released primaries unaccounted for"; }
echo ok
