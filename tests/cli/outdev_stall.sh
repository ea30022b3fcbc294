# Socket outputs whose reader stops reading (graphs/colo-compare.yaml's outdev,
# stall_timeout 2000 ms by default; then two processes feeding each other).
# 1. The outdev reader pauses for 1 s, less than stall_timeout: colo-graph
#    holds back (it waits for the reader and stops reading its inputs) with
#    bounded memory, and once the reader resumes every pair arrives, in
#    order, none dropped.
# 2. It reads nothing for 5 s: after stall_timeout the outdev counts as
#    stalled, with one warning naming it; what does not fit its queue is
#    dropped and counted (drop_stalled) without waiting, so the rest of the
#    graph keeps running: colo-graph reads all its inputs and a divergent
#    pair's checkpoint request reaches notify_dev while the reader is hung.
#    When the reader resumes it gets the queued pairs, in order.
# 3. Two colo-graph processes whose sockets feed each other (as a COLO
#    primary's mirror and a secondary's compare output do), each with one I/O
#    thread, under a flood that fills both ways: each waits for the other, and
#    after stall_timeout (300 ms here) the waiting output drops instead, so
#    the flood gets through with counted drops instead of freezing both. The
#    driver stops them once the flood has drained (markers follow it until
#    one comes back twice), so every record is accounted for.
. "$(dirname "$0")/lib.inc"
stat() { awk -v n="$2" '$1 == n {print $2; exit}' "$1"; }
node_stat() { awk -v node="$2" -v n="$3" '$1 == node {f=1; next} f && /^[^ ]/ {exit} f && $1 == n {print $2; exit}' "$1"; }
sum_drops() { awk '$1 ~ /^drop_/ && $1 != "drop_after_stop" && $1 != "drop_stalled" {s += $2} END {print s + 0}' "$1"; }

# 1. A pause shorter than stall_timeout: back-pressure, nothing lost.
python3 "$SRC/tests/cli/outdev_stall.py" "$BIN" "$SRC" "$T" 40000 1 >"$T/result" || { cat "$T/result" "$T/stderr.txt"; fail "driver failed"; }
cat "$T/result"
received=$(sed -n 's/.*received \([0-9]*\),.*/\1/p' "$T/result")
inversions=$(sed -n 's/.*inversions \([0-9]*\).*/\1/p' "$T/result")
dropped=$(awk '$1 ~ /^drop_/ && $1 != "drop_after_stop" {s += $2} END {print s + 0}' "$T/stats.txt")
written=$(node_stat "$T/stats.txt" outdev frames_out)
matched=$(stat "$T/stats.txt" released_matched)
rss=$(awk '/^peak RSS/{print $3}' "$T/stats.txt")
waits=$(node_stat "$T/stats.txt" outdev queue_full_waits)
echo "pause 1 s: released $matched, written $written, waits for the reader ${waits:-0}, dropped $dropped, peak RSS $rss KiB"
[ "$inversions" -eq 0 ] || fail "reordered output"
[ "$matched" -eq 40000 ] || fail "not all pairs matched"
[ "$dropped" -eq 0 ] || fail "$dropped packets dropped"
[ "$written" -eq 40000 ] || fail "socket wrote $written of 40000"
[ "${waits:-0}" -gt 0 ] || fail "the output never waited for the paused reader"
[ "$received" -eq "$written" ] || fail "reader got $received, socket wrote $written"
[ "$rss" -lt 300000 ] || fail "RSS above 300 MB"
! grep -q "read nothing" "$T/stderr.txt" || { cat "$T/stderr.txt"; fail "a stall warning for a reader that only paused"; }

# 2. A reader that reads nothing for longer than stall_timeout: counted drops,
# and the rest of the graph keeps running.
python3 "$SRC/tests/cli/outdev_stall.py" "$BIN" "$SRC" "$T" 40000 5 diverge >"$T/result" || { cat "$T/result" "$T/stderr.txt"; fail "driver failed"; }
cat "$T/result"
received=$(sed -n 's/.*received \([0-9]*\),.*/\1/p' "$T/result")
inversions=$(sed -n 's/.*inversions \([0-9]*\).*/\1/p' "$T/result")
sent_s=$(sed -n 's/.*pairs in \([0-9.]*\)s,.*/\1/p' "$T/result")
request_s=$(sed -n 's/.*checkpoint request after \([0-9.]*\)s.*/\1/p' "$T/result")
matched=$(stat "$T/stats.txt" released_matched); flushed=$(stat "$T/stats.txt" released_flush)
written=$(node_stat "$T/stats.txt" outdev frames_out)
stalled=$(node_stat "$T/stats.txt" outdev drop_stalled); stalls=$(node_stat "$T/stats.txt" outdev stalls)
shutdown=$(node_stat "$T/stats.txt" outdev drop_shutdown)
other=$(sum_drops "$T/stats.txt")
out_addr="outdev: unix:$T/out.sock"
warnings=$(grep -c "^$out_addr: the peer has read nothing for 2000 ms" "$T/stderr.txt" || true)
echo "hung 5 s: released $matched + ${flushed:-0} flushed, written $written, dropped as stalled ${stalled:-0} in ${stalls:-0} stall(s), other drops $other, warnings $warnings"
[ "$matched" -eq 40000 ] || fail "not all pairs matched"
[ -n "$sent_s" ] && awk -v s="$sent_s" 'BEGIN {exit !(s < 5)}' || fail "colo-graph stopped reading its inputs while the outdev was hung"
[ -n "$request_s" ] && awk -v s="$request_s" 'BEGIN {exit !(s < 5)}' || fail "no checkpoint request reached notify_dev while the outdev was hung"
[ "${stalls:-0}" -eq 1 ] || { cat "$T/stats.txt"; fail "expected one stall, got ${stalls:-0}"; }
[ "$warnings" -eq 1 ] || { cat "$T/stderr.txt"; fail "expected one warning naming the outdev, got $warnings"; }
grep -q "^$out_addr: the peer reads again after a stall; ${stalled:-0} packets were dropped" "$T/stderr.txt" || { cat "$T/stderr.txt"; fail "the end of the stall was not logged"; }
[ "${stalled:-0}" -gt 0 ] || fail "nothing dropped for the hung reader"
[ "$other" -eq 0 ] || { cat "$T/stats.txt"; fail "$other packets dropped for other reasons"; }
[ $((written + stalled + ${shutdown:-0})) -eq $((matched + ${flushed:-0})) ] || { cat "$T/stats.txt"; fail "released primaries unaccounted for"; }
# The divergent primary is flushed at shutdown, after the reader stopped.
[ "$received" -eq $((written - ${flushed:-0})) ] || fail "reader got $received, socket wrote $written"
[ "$inversions" -eq 0 ] || fail "reordered output"

# 3. Two processes feeding each other: progress, not a freeze.
mkdir "$T/relay"
python3 "$SRC/tests/cli/outdev_stall.py" relay "$BIN" "$T/relay" 5000 300 60 >"$T/result" || { cat "$T/result" "$T"/relay/*-stderr.txt; fail "driver failed"; }
cat "$T/result"
grep -q "through" "$T/result" || { cat "$T"/relay/*-stats.txt; fail "the two processes froze"; }
P="$T/relay/p-stats.txt" S="$T/relay/s-stats.txt"
received=$(sed -n 's/.*received \([0-9]*\)$/\1/p' "$T/result")
markers=$(sed -n 's/.*drained after \([0-9]*\) markers.*/\1/p' "$T/result")
records=$((5000 + markers))   # the markers go the same way as the flood, and are counted with it
p_stalls=$(node_stat "$P" to_s stalls); p_dropped=$(node_stat "$P" to_s drop_stalled)
s_stalls=$(node_stat "$S" to_p stalls); s_dropped=$(node_stat "$S" to_p drop_stalled)
other=$(($(sum_drops "$P") + $(sum_drops "$S")))
p_warn=$(grep -c "^to_s: unix:$T/relay/p2s.sock: the peer has read nothing for 300 ms" "$T/relay/p-stderr.txt" || true)
s_warn=$(grep -c "^to_p: unix:$T/relay/s2p.sock: the peer has read nothing for 300 ms" "$T/relay/s-stderr.txt" || true)
echo "relay: received $received of $((2 * records)) ($markers markers); first process dropped ${p_dropped:-0} in ${p_stalls:-0} stall(s), second ${s_dropped:-0} in ${s_stalls:-0}; other drops $other"
[ $((${p_stalls:-0} + ${s_stalls:-0})) -gt 0 ] || fail "the two processes never waited for each other: the test did not test anything"
[ "$p_warn" -eq "${p_stalls:-0}" ] && [ "$s_warn" -eq "${s_stalls:-0}" ] || { cat "$T"/relay/*-stderr.txt; fail "one warning per stall, naming the endpoint"; }
[ "$other" -eq 0 ] || { cat "$P" "$S"; fail "$other packets dropped for other reasons"; }
[ "$(node_stat "$P" flood frames_in)" -eq "$records" ] || fail "the first process did not read the whole flood"
# Every record came back twice, or is counted where it was dropped.
[ $((received + 2 * ${p_dropped:-0} + ${s_dropped:-0})) -eq $((2 * records)) ] || { cat "$P" "$S"; fail "records unaccounted for"; }
echo ok
