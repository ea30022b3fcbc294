#!/bin/bash
# A real COLO pair, end to end, in network namespaces.
#
#   client ns ── tap ── [colo-graph primary] ── tap ── pvm ns
#                              │  loopback sockets (mirror, compare)
#                       [colo-graph secondary] ── tap ── svm ns
#
# pvm and svm carry the same IP and MAC and run the same HTTP server on the
# same files, with real Linux TCP stacks (so different ISNs and timestamp
# clocks: the secondary's rewriter must translate). A small script plays the
# COLO frame on the primary's notify socket: every DO_CHECKPOINT is answered
# with COLO_CHECKPOINT (a flush). Usage: colo_pair.sh COLO_GRAPH SOURCE_DIR
set -u
source "$(dirname "$0")/pair_lib.bash"
pair_init "$1" "$2"

# Content: identical on both guests, except diverge.txt.
pair_random_file "$W/pvm/big.bin" 7 50
ln "$W/pvm/big.bin" "$W/svm/big.bin"
head -c 20000 "$W/pvm/big.bin" > "$W/pvm/small.bin" && cp "$W/pvm/small.bin" "$W/svm/small.bin"
python3 -c "import sys; sys.stdout.write('A' * 30000)" > "$W/pvm/diverge.txt"
python3 -c "import sys; sys.stdout.write('A' * 20000 + 'B' + 'A' * 9999)" > "$W/svm/diverge.txt"
mkdir -p "$W/client" && head -c 300000 "$W/pvm/big.bin" > "$W/client/upstream.bin"

pair_up --set compare_timeout=300 --set expired_scan_cycle=100

say "ping"
check "ping from the client reaches the protected guest" $C ping -c 3 -W 2 -q $GUEST_IP

say "50 MB download"
want=$(sha256sum < "$W/pvm/big.bin" | cut -d' ' -f1)
got=$($C curl -s --max-time 120 http://$GUEST_IP:8000/big.bin | sha256sum | cut -d' ' -f1)
check "a 50 MB file arrives intact (sha256)" [ "$got" = "$want" ]

say "20 parallel connections"
CURLS=()
for i in $(seq 1 20); do $C curl -s --max-time 60 -o "$W/par.$i" http://$GUEST_IP:8000/small.bin & CURLS+=($!); done
for p in "${CURLS[@]}"; do wait $p; done
same=0
for i in $(seq 1 20); do cmp -s "$W/par.$i" "$W/pvm/small.bin" && same=$((same + 1)); done
check "20 parallel connections all complete ($same/20)" [ $same -eq 20 ]

say "a connection opened by the guests"
# Both guests run the same client, with the same source port, like replicas would.
ip netns exec $NS_S curl -s --max-time 30 --local-port 41000 -o "$W/guest.svm" http://$CLIENT_IP:8080/upstream.bin & SVMCURL=$!
ip netns exec $NS_P curl -s --max-time 30 --local-port 41000 -o "$W/guest.pvm" http://$CLIENT_IP:8080/upstream.bin
wait $SVMCURL
check "the primary guest's outbound connection works" cmp -s "$W/guest.pvm" "$W/client/upstream.bin"
check "the secondary guest's outbound connection works through the rewriter" cmp -s "$W/guest.svm" "$W/client/upstream.bin"

say "divergent content on the secondary"
before=$(cat "$W/checkpoints" 2>/dev/null || echo 0)
$C curl -s --max-time 60 --local-port 42000 -o "$W/diverge.got" http://$GUEST_IP:8000/diverge.txt
check "after the flush the client has the primary's bytes" cmp -s "$W/diverge.got" "$W/pvm/diverge.txt"
check "the comparator asked for a checkpoint naming that connection" \
    grep -q "\"reason\":\"mismatch\".*\"flow\":\"tcp $GUEST_IP:8000 > $CLIENT_IP:42000\"" "$W/events.jsonl"
after=$(cat "$W/checkpoints" 2>/dev/null || echo 0)
check "the COLO frame saw DO_CHECKPOINT ($before -> $after)" [ "$after" -gt "$before" ]

say "secondary killed"
kill -9 $SECONDARY
rss_before=$(ps -o rss= -p $PRIMARY)
for i in $(seq 1 5); do $C curl -s --max-time 30 -o "$W/dead.$i" http://$GUEST_IP:8000/small.bin; done
ok=0; for i in $(seq 1 5); do cmp -s "$W/dead.$i" "$W/pvm/small.bin" && ok=$((ok + 1)); done
check "with the secondary dead, timeouts trigger checkpoints and the client is served ($ok/5)" [ $ok -eq 5 ]
check "timeout checkpoint requests were raised" grep -q '"reason":"timeout"' "$W/events.jsonl"
$C curl -s --max-time 60 -o /dev/null http://$GUEST_IP:8000/big.bin
rss_after=$(ps -o rss= -p $PRIMARY)
echo "primary RSS: ${rss_before} KiB before, ${rss_after} KiB after 50 MB with the secondary dead"
check "primary memory stays bounded (< 200 MiB)" [ "$rss_after" -lt 204800 ]

say "secondary restarted"
pair_start_secondary
sleep 2
got=$($C curl -s --max-time 60 http://$GUEST_IP:8000/small.bin | sha256sum | cut -d' ' -f1)
check "service resumes after the secondary restarts" [ "$got" = "$(sha256sum < "$W/pvm/small.bin" | cut -d' ' -f1)" ]
check "the restarted secondary reconnected" grep -q "peer connected" "$W/primary.err"

kill -TERM $PRIMARY $SECONDARY 2>/dev/null
wait $PRIMARY 2>/dev/null
echo "=== primary stats"; cat "$W/primary.out"; echo "=== primary log"; tail -20 "$W/primary.err"
echo "=== checkpoint requests answered: $(cat "$W/checkpoints" 2>/dev/null || echo 0)"
echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
