# Floods: memory stays bounded and every discarded packet is counted.
#  1. 100,000 distinct connections in one second of capture time (both sides):
#     connections beyond max_connections are evicted and counted.
#  2. A primary-only flood: the queue bound holds, the excess is counted as
#     lost, and timeout/queue_full checkpoint requests are raised.
#  3. A secondary-only flood: likewise on the secondary side.
. "$(dirname "$0")/lib.inc"
P="python3 $SRC/tests/cli/pcapfile.py"
$P flows "$T/flows.pcap" 100000
$P one-flow "$T/flood.pcap" 200000
$P empty "$T/empty.pcap"
cat >"$T/g.yaml" <<'Y'
variables: { p: x, s: x, out: x, max_connections: 65536 }
nodes:
  pri: { type: pcap-source, file: "${p}" }
  sec: { type: pcap-source, file: "${s}" }
  cmp: { type: comparator, max_connections: "${max_connections}" }
  colo: { type: checkpoint-sim }
  out: { type: null-sink }
  log: { type: event-log, file: "${out}" }
links: [ pri -> cmp.primary, sec -> cmp.secondary, cmp.out -> out, cmp.events -> colo, cmp.events -> log, colo -> cmp.control ]
Y
counter() { awk -v n="$1" '$1 == n {print $2; exit}' "$T/out"; }
rss() { awk '/^peak RSS/{print $3}' "$T/out"; }

expect_rc 0 "$BIN" run "$T/g.yaml" --set p="$T/flows.pcap" --set s="$T/flows.pcap" --set out="$T/e1" --set max_connections=10000 --stats
echo "100k connections: matched $(counter released_matched), evicted $(counter connections_evicted), peak RSS $(rss) KiB"
[ "$(counter released_matched)" -eq 100000 ] || fail "not all matched"
[ "$(counter connections_evicted)" -ge 90000 ] || fail "evictions not counted"
[ "$(rss)" -lt 200000 ] || fail "RSS above 200 MB"

expect_rc 0 "$BIN" run "$T/g.yaml" --set p="$T/flood.pcap" --set s="$T/empty.pcap" --set out="$T/e2" --stats
lost=$(counter primary_lost_queue_full); flushed=$(counter released_flush)
echo "primary-only flood: released by flush $flushed, lost to the queue bound $lost, requests $(counter checkpoint_requests), peak RSS $(rss) KiB"
[ $((flushed + lost)) -eq 200000 ] || fail "primaries unaccounted for: $flushed + $lost != 200000"
grep -Eq '"reason":"(timeout|queue_full)"' "$T/e2" || fail "no timeout or queue_full request"
[ "$(rss)" -lt 200000 ] || fail "RSS above 200 MB"

expect_rc 0 "$BIN" run "$T/g.yaml" --set p="$T/empty.pcap" --set s="$T/flood.pcap" --set out="$T/e3" --stats
dropped=$(( $(counter secondary_dropped_queue_full) + $(counter secondary_dropped_flush) ))
echo "secondary-only flood: dropped $dropped (queue bound + flush), requests $(counter checkpoint_requests), peak RSS $(rss) KiB"
[ "$dropped" -eq 200000 ] || fail "secondaries unaccounted for"
grep -q '"side":"secondary"' "$T/e3" || fail "no request for the secondary side"
echo ok
