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
# Within one initial receive window (64 KiB): the client sends at the PVM's pace, so a larger
# file needs the SVM's curl to read as fast as the PVM's. Under load one that reads slower
# drops what exceeds its window, never to be resent to it; real COLO would resynchronise the
# SVM at the checkpoint that follows, which this pair's stand-in cannot.
mkdir -p "$W/client" && head -c 40000 "$W/pvm/big.bin" > "$W/client/upstream.bin"

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
# Both guests run the same client, with the same source port, like replicas would. The
# secondary's starts first, the primary's once the secondary's SYN is out (held by the
# comparator until the primary's arrives): a primary SYN left without its twin for
# compare_timeout is released by a checkpoint, which this pair's stand-in answers without
# resynchronising the guests, so a secondary that started later would never connect.
ip netns exec $NS_S curl -s --max-time 30 --local-port 41000 -o "$W/guest.svm" http://$CLIENT_IP:8080/upstream.bin & SVMCURL=$!
for _ in $(seq 1 200); do
    [ -n "$(ip netns exec $NS_S ss -Htn state syn-sent '( sport = :41000 )')" ] && break
    sleep 0.05
done
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

# The secondary's death and return: tests/e2e/degraded.sh.

kill -TERM $PRIMARY $SECONDARY 2>/dev/null
wait $PRIMARY 2>/dev/null
echo "=== primary stats"; cat "$W/primary.out"; echo "=== primary log"; tail -20 "$W/primary.err"
echo "=== checkpoint requests answered: $(cat "$W/checkpoints" 2>/dev/null || echo 0)"
echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
