#!/bin/bash
# Failover on the secondary (issue #16), end to end: the namespace COLO pair of
# pair_lib.bash with both client-facing TAPs on one client network (a bridge
# in the client namespace: the primary's, and the secondary's client_dev,
# attached but silent), and the secondary run with a control socket.
#
#   client ns: br0 ── tap ── [primary] ── tap ── pvm ns
#               └──── tap (client_dev) ── [secondary] ── tap ── svm ns
#
# A 200 MiB download from the guests (their HTTP servers paced, so that it
# is still running when the primary dies); once 40 MiB have arrived the
# primary colo-graph is killed (-9), the PVM's interface and the primary's
# port on the client network go down, and `colo-graph ctl failover` reaches
# the secondary: its switches send client frames to the secondary guest
# through the rewriter and the guest's output, still translated into the
# primary's sequence space, out on client_dev. Checks: the download
# completes with the right sha256 and without a reset (curl exit 0), a new
# connection works afterwards, the counters show the route change and the
# rewriter still translating. Prints the failover gap: the longest time
# without received bytes across the switch (tests/e2e/failover_meter.py
# timestamps curl's output): the decision's time plus what the secondary
# guest's TCP takes to send again.
#
# Timing bounds are safety timeouts only (generous, for a loaded machine).
# Usage: failover.sh COLO_GRAPH SOURCE_DIR
# Environment: FAILOVER_RATE (bytes/s per response, 20000000),
# FAILOVER_AT_MIB (40), FAILOVER_DECISION_MS (0: time between the kill and
# ctl failover, as a heartbeat's timeout would take); KEEP=1 keeps the work
# folder.
set -u
source "$(dirname "$0")/pair_lib.bash"
pair_init "$1" "$2"
MIB=1048576
SIZE_MIB=200
RATE=${FAILOVER_RATE:-20000000}
AT_MIB=${FAILOVER_AT_MIB:-40}
DECISION_MS=${FAILOVER_DECISION_MS:-0}

# Content: identical on both guests (hard links).
pair_random_file "$W/pvm/big.bin" 16 $SIZE_MIB
head -c 300000 "$W/pvm/big.bin" > "$W/pvm/small.bin"
for f in big.bin small.bin; do ln "$W/pvm/$f" "$W/svm/$f"; done
SUM_BIG=$(sha256sum < "$W/pvm/big.bin" | cut -d' ' -f1)
SUM_SMALL=$(sha256sum < "$W/pvm/small.bin" | cut -d' ' -f1)

CTL=$W/secondary.ctl
PAIR_CLIENT_BRIDGE=1
PAIR_HTTP_ARGS=(--rate "$RATE")
PAIR_SECONDARY_ARGS=(--control "$CTL")
pair_up

# stat_of FILE NODE NAME: counter NAME, or out.PORT's packets, of NODE in a `ctl stats` answer.
stat_of() {
    python3 - "$@" <<'PY'
import json, sys
nodes = {n["name"]: n for n in json.load(open(sys.argv[1]))["nodes"]}
node, name = nodes[sys.argv[2]], sys.argv[3]
print(node["out"][name[4:]]["packets"] if name.startswith("out.") else node["counters"][name])
PY
}
stats() { "$BIN" ctl "$CTL" stats > "$W/stats.$1.json" || echo "ctl stats failed: $?"; }
sum_of() { $C curl -s --max-time 60 "http://$GUEST_IP:8000/$1" | sha256sum | cut -d' ' -f1; }

say "before failover: the primary serves, client_dev is silent"
check "ping from the client reaches the protected guest" $C ping -c 3 -W 2 -q $GUEST_IP
check "a download through the primary works" [ "$(sum_of small.bin)" = "$SUM_SMALL" ]
stats before
check "client frames on client_dev are discarded, counted ($(stat_of "$W/stats.before.json" from_client discarded))" \
    [ "$(stat_of "$W/stats.before.json" from_client discarded)" -gt 0 ]
check "nothing leaves on client_dev" [ "$(stat_of "$W/stats.before.json" guest_out out.out1)" -eq 0 ]
check "the secondary guest's output goes to the comparator" [ "$(stat_of "$W/stats.before.json" guest_out out.out0)" -gt 0 ]

say "a $SIZE_MIB MiB download at $RATE B/s; the primary dies when $AT_MIB MiB have arrived"
( $C curl -sS -N --max-time 600 "http://$GUEST_IP:8000/big.bin"; echo $? > "$W/curl.rc" ) 2>"$W/curl.err" |
    python3 "$SRC/tests/e2e/failover_meter.py" "$W/progress" "$W/times" > "$W/meter.json" &
DOWNLOAD=$!
PIDS+=($DOWNLOAD)
got=0
for i in $(seq 1800); do    # up to 180 s
    got=$(cat "$W/progress" 2>/dev/null || echo 0)
    [ "$got" -ge $((AT_MIB * MIB)) ] && break
    kill -0 $DOWNLOAD 2>/dev/null || break
    sleep 0.1
done
check "the download is under way when the primary dies ($got of $((SIZE_MIB * MIB)) bytes)" \
    [ "$got" -ge $((AT_MIB * MIB)) -a "$got" -lt $((SIZE_MIB * MIB)) ]

t_kill=$(date +%s.%N)
kill -9 $PRIMARY
ip -n $NS_P link set $TAP_P down   # the primary guest went with its host,
ip -n $NS_C link set $TAP_C down   # and so did the primary's port on the client network
[ "$DECISION_MS" -gt 0 ] && sleep "$(printf '%d.%03d' $((DECISION_MS / 1000)) $((DECISION_MS % 1000)))"
"$BIN" ctl "$CTL" failover > "$W/failover.json"
rc=$?
t_failover=$(date +%s.%N)
cat "$W/failover.json"
answered=0
for node in from_client guest_out rewriter; do grep -q "\"$node\"" "$W/failover.json" && answered=$((answered + 1)); done
check "ctl failover is answered (exit $rc) by both switches and the rewriter" [ $rc -eq 0 -a $answered -eq 3 ]
stats failover

say "after failover"
wait $DOWNLOAD
curl_rc=$(cat "$W/curl.rc" 2>/dev/null || echo none)
cat "$W/curl.err"
read -r bytes sha < <(python3 -c '
import json, sys; m = json.load(open(sys.argv[1])); print(m["bytes"], m["sha256"])' "$W/meter.json" 2>/dev/null ||
    echo 0 none)
check "the download completes without a reset (curl exit $curl_rc)" [ "$curl_rc" = 0 ]
check "all $bytes bytes arrived intact (sha256)" [ "$bytes" -eq $((SIZE_MIB * MIB)) -a "$sha" = "$SUM_BIG" ]
check "a new connection after failover works" [ "$(sum_of small.bin)" = "$SUM_SMALL" ]
check "and another download through the secondary alone" [ "$(sum_of small.bin)" = "$SUM_SMALL" ]
stats after
check "each switch switched once" \
    [ "$(stat_of "$W/stats.after.json" from_client switches)" = 1 -a "$(stat_of "$W/stats.after.json" guest_out switches)" = 1 ]
check "the secondary guest's output leaves on client_dev" [ "$(stat_of "$W/stats.after.json" guest_out out.out1)" -gt 0 ]
check "the client's frames reach the guest through client_dev" [ "$(stat_of "$W/stats.after.json" from_client out.out0)" -gt 0 ]
seq_at_failover=$(stat_of "$W/stats.failover.json" rewriter seq_rewrites)
seq_after=$(stat_of "$W/stats.after.json" rewriter seq_rewrites)
check "the rewriter keeps translating the old connection ($seq_at_failover -> $seq_after SEQ rewrites)" \
    [ "$seq_after" -gt "$seq_at_failover" ]
check "the rewriter took one failover" [ "$(stat_of "$W/stats.after.json" rewriter failovers)" = 1 ]

# The failover gap: the longest interval without bytes that overlaps the
# switch, from the kill to a second after ctl failover returned (what the
# switch costs includes any retransmission it takes); for comparison, the
# longest one elsewhere in the download.
python3 - "$W/times" "$t_kill" "$t_failover" <<'PY'
import sys
times = [float(line) for line in open(sys.argv[1])]
t_kill, t_failover = float(sys.argv[2]), float(sys.argv[3])
gaps = [(b - a, a, b) for a, b in zip(times, times[1:])]
near = [g for g in gaps if g[1] <= t_failover + 1.0 and g[2] >= t_kill]
far = [g for g in gaps if g not in near]
gap, start, end = max(near)
print("FAILOVER GAP: %.0f ms without received bytes, from %.0f ms after the kill to %.0f ms after "
      "ctl failover returned (%.0f ms after the kill)"
      % (gap * 1000, (start - t_kill) * 1000, (end - t_failover) * 1000, (t_failover - t_kill) * 1000))
print("the longest gap elsewhere in the %.1f s download: %.0f ms" % (times[-1] - times[0], max(far)[0] * 1000))
PY
[ $? -eq 0 ] || echo "no failover gap measured"

kill -TERM $SECONDARY 2>/dev/null
wait $SECONDARY 2>/dev/null
echo "=== secondary stats"; cat "$W/secondary.out"
echo "=== secondary log"; tail -20 "$W/secondary.err"
echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
