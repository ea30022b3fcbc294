#!/bin/bash
# The secondary dies; the primary keeps serving (issue #16, degraded mode), in
# the namespace pair of pair_lib.bash. With the secondary proxy killed during
# traffic, a small page arrives within 1.5 s and pings go on unanswered by
# none; the primary's memory stays bounded; once the secondary is back and an
# operator resumes, comparison and checkpoints are back. Then the secondary
# proxy is frozen (SIGSTOP) instead: its sockets stay open, and only the
# heartbeat notices; after SIGCONT the first checkpoint ends degraded mode.
# Usage: degraded.sh COLO_GRAPH SOURCE_DIR
set -u
source "$(dirname "$0")/pair_lib.bash"
pair_init "$1" "$2"

pair_random_file "$W/pvm/big.bin" 11 50
ln "$W/pvm/big.bin" "$W/svm/big.bin"
head -c 20000 "$W/pvm/big.bin" >"$W/pvm/small.bin" && cp "$W/pvm/small.bin" "$W/svm/small.bin"
python3 -c "import sys; sys.stdout.write('A' * 30000)" >"$W/pvm/diverge.txt"
python3 -c "import sys; sys.stdout.write('A' * 20000 + 'B' + 'A' * 9999)" >"$W/svm/diverge.txt"
CTL=$W/primary.ctl
small_sha=$(sha256sum <"$W/pvm/small.bin" | cut -d' ' -f1)

# compare_timeout stays at its default (3 s): what degraded mode saves is
# exactly that wait, once per packet.
HEARTBEAT=tcp:127.0.0.1:$((PORT_BASE + 3))
PAIR_SECONDARY_ARGS=(--set heartbeat_addr=$HEARTBEAT)
pair_up --control "$CTL" --set heartbeat_addr=$HEARTBEAT
stat() { "$BIN" ctl "$CTL" stats | python3 -c "
import json, sys
d = json.load(sys.stdin)
print(next(n for n in d['nodes'] if n['name'] == 'compare')['counters'][sys.argv[1]])" "$1"; }

say "both up"
check "a page through the intact pair" [ "$($C curl -s --max-time 30 http://$GUEST_IP:8000/small.bin | sha256sum | cut -d' ' -f1)" = "$small_sha" ]
check "not degraded while the secondary is there" [ "$(stat degraded)" -eq 0 ]

say "secondary killed during traffic"
$C ping -i 0.1 -c 40 -W 1 $GUEST_IP >"$W/ping.txt" &
PING=$!
$C curl -s --max-time 120 --limit-rate 5M -o "$W/during.bin" http://$GUEST_IP:8000/big.bin &
DOWNLOAD=$!
sleep 1
kill_ms=$(date +%s%3N)
kill -9 $SECONDARY
for _ in $(seq 100); do grep -q '"event":"secondary_lost"' "$W/events.jsonl" && break; sleep 0.05; done
lost_line=$(grep '"event":"secondary_lost"' "$W/events.jsonl" | head -1)
lost_ms=$(echo "$lost_line" | sed -n 's/.*"time":\([0-9]*\)\.\([0-9][0-9][0-9]\).*/\1\2/p')
echo "secondary_lost event: $lost_line"
echo "time to degraded mode: $((lost_ms - kill_ms)) ms after kill -9"
check "secondary_lost (reason disconnect) logged" grep -q '"event":"secondary_lost".*"reason":"disconnect"' "$W/events.jsonl"
check "the degraded gauge is 1" [ "$(stat degraded)" -eq 1 ]
times=()
for i in 1 2 3 4 5; do
    t=$($C curl -s --max-time 30 -o "$W/dead.$i" -w '%{time_total}' http://$GUEST_IP:8000/small.bin)
    times+=("$t")
done
echo "small page while degraded: ${times[*]} s"
ok=0 slow=0
for i in 1 2 3 4 5; do
    cmp -s "$W/dead.$i" "$W/pvm/small.bin" && ok=$((ok + 1))
    awk -v t="${times[$((i - 1))]}" 'BEGIN { exit !(t >= 1.5) }' && slow=$((slow + 1))
done
check "every page arrives intact while degraded ($ok/5)" [ $ok -eq 5 ]
check "every page within 1.5 s (slower: $slow)" [ $slow -eq 0 ]
wait $PING
echo "ping: $(grep -E 'packets transmitted' "$W/ping.txt")"
check "pings uninterrupted across the kill" grep -q ' 0% packet loss' "$W/ping.txt"
wait $DOWNLOAD
check "the download running across the kill completes intact" cmp -s "$W/during.bin" "$W/pvm/big.bin"
check "no timeout checkpoint request while degraded" bash -c "! grep -q '\"reason\":\"timeout\"' '$W/events.jsonl'"
$C curl -s --max-time 60 -o /dev/null http://$GUEST_IP:8000/big.bin
rss=$(ps -o rss= -p $PRIMARY)
echo "primary RSS after 100 MB through degraded mode: $rss KiB"
check "primary memory stays bounded (< 200 MiB)" [ "$rss" -lt 204800 ]

say "secondary restarted, then resume"
# The svm TAP is persistent and outlived the killed proxy, in the svm
# namespace: back to this one for the new proxy to attach it, then home again
# (a move drops its address).
ip -n $NS_S link set $TAP_S netns 1
pair_start_secondary "${PAIR_SECONDARY_ARGS[@]}"
for _ in $(seq 100); do grep -q "peer connected" "$W/secondary.err" && break; sleep 0.05; done
sleep 0.5
ip link set $TAP_S netns $NS_S
ip -n $NS_S addr add $GUEST_IP/24 dev $TAP_S
ip -n $NS_S link set $TAP_S up
# The move also flushed its neighbours, and the client answers only the
# primary guest's ARP (the secondary's go to the comparator): a re-synchronised
# guest would have the primary's cache, so give it the client's address.
client_mac=$(ip -n $NS_C -o link show $TAP_C | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
ip -n $NS_S neigh replace $CLIENT_IP lladdr "$client_mac" dev $TAP_S
for _ in $(seq 100); do grep -q '"event":"secondary_back"' "$W/events.jsonl" && break; sleep 0.1; done
check "secondary_back logged when it reconnects" grep -q '"event":"secondary_back"' "$W/events.jsonl"
check "still degraded until re-synchronised" [ "$(stat degraded)" -eq 1 ]
"$BIN" ctl "$CTL" resume >"$W/resume.json"
check "resume answered" grep -q '"comparing": true' "$W/resume.json"
check "comparing again" [ "$(stat degraded)" -eq 0 ]
matched_before=$(stat released_matched)
check "a page after resume" [ "$($C curl -s --max-time 30 http://$GUEST_IP:8000/small.bin | sha256sum | cut -d' ' -f1)" = "$small_sha" ]
check "its packets were compared (released_matched grew)" [ "$(stat released_matched)" -gt "$matched_before" ]
before=$(cat "$W/checkpoints" 2>/dev/null || echo 0)
$C curl -s --max-time 60 --local-port 42000 -o "$W/diverge.got" http://$GUEST_IP:8000/diverge.txt
after=$(cat "$W/checkpoints" 2>/dev/null || echo 0)
check "a divergence after resume asks for a checkpoint again ($before -> $after)" [ "$after" -gt "$before" ]
check "the client has the primary's bytes" cmp -s "$W/diverge.got" "$W/pvm/diverge.txt"

say "secondary frozen (SIGSTOP): only the heartbeat can tell"
hb_stat() { "$BIN" ctl "$CTL" stats | python3 -c "
import json, sys
d = json.load(sys.stdin)
print(next(n for n in d['nodes'] if n['name'] == 'heartbeat')['counters'][sys.argv[1]])" "$1"; }
for _ in $(seq 100); do [ "$(hb_stat peer_up)" -eq 1 ] && break; sleep 0.1; done
check "the heartbeat sees the secondary" [ "$(hb_stat peer_up)" -eq 1 ]
lost_before=$(grep -c '"event":"secondary_lost"' "$W/events.jsonl")
stop_ms=$(date +%s%3N)
kill -STOP $SECONDARY
for _ in $(seq 200); do
    [ "$(grep -c '"event":"secondary_lost"' "$W/events.jsonl")" -gt "$lost_before" ] && break
    sleep 0.05
done
lost_line=$(grep '"event":"secondary_lost"' "$W/events.jsonl" | tail -1)
lost_ms=$(echo "$lost_line" | sed -n 's/.*"time":\([0-9]*\)\.\([0-9][0-9][0-9]\).*/\1\2/p')
echo "secondary_lost event: $lost_line"
echo "time to degraded mode: $((lost_ms - stop_ms)) ms after SIGSTOP (heartbeat timeout 1000 ms)"
check "secondary_lost (reason heartbeat) while its sockets stay open" grep -q '"reason":"heartbeat"' <<<"$lost_line"
check "within the heartbeat's timeout and a pulse ($((lost_ms - stop_ms)) ms <= 1100)" [ $((lost_ms - stop_ms)) -le 1100 ]
t=$($C curl -s --max-time 30 -o "$W/frozen.bin" -w '%{time_total}' http://$GUEST_IP:8000/small.bin)
echo "small page while frozen: $t s"
check "a page while the secondary is frozen, intact and within 1.5 s ($t s)" \
    bash -c "cmp -s '$W/frozen.bin' '$W/pvm/small.bin' && awk -v t=$t 'BEGIN { exit !(t < 1.5) }'"
kill -CONT $SECONDARY
for _ in $(seq 100); do [ "$(grep -c '"event":"secondary_back"' "$W/events.jsonl")" -ge 2 ] && break; sleep 0.1; done
check "secondary_back when its pulses return" [ "$(grep -c '"event":"secondary_back"' "$W/events.jsonl")" -ge 2 ]
check "still degraded until a checkpoint" [ "$(stat degraded)" -eq 1 ]
"$BIN" ctl "$CTL" checkpoint >/dev/null   # what the COLO frame does once it re-synchronised the VMs
check "the first checkpoint after it is back ends degraded mode" [ "$(stat degraded)" -eq 0 ]
matched_before=$(stat released_matched)
check "a page after the checkpoint" [ "$($C curl -s --max-time 30 http://$GUEST_IP:8000/small.bin | sha256sum | cut -d' ' -f1)" = "$small_sha" ]
check "compared again (released_matched grew)" [ "$(stat released_matched)" -gt "$matched_before" ]

kill -TERM $PRIMARY $SECONDARY 2>/dev/null
wait $PRIMARY 2>/dev/null
echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
