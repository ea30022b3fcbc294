#!/bin/bash
# pcap-live on an existing interface (a veth in a namespace of our own):
# frames the peer sends are captured, frames from a graph are injected.
set -u
BIN=$1
SRC=$2
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (network namespaces)"; exit 77; fi
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump not installed"; exit 77; }
A=cgla$$ B=cglb$$
W=$(mktemp -d)
cleanup() { ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
ip netns add $A && ip netns add $B || exit 1
ip link add va$$ netns $A type veth peer name vb$$ netns $B || exit 1
ip -n $A addr add 10.198.0.1/24 dev va$$ && ip -n $A link set va$$ up
ip -n $B addr add 10.198.0.2/24 dev vb$$ && ip -n $B link set vb$$ up
python3 "$SRC/tests/cli/pcapfile.py" one-flow "$W/inject.pcap" 20
cat >"$W/g.yaml" <<Y
nodes:
  dev:  { type: pcap-live, device: va$$, filter: "icmp" }
  seen: { type: dump, file: "$W/seen.txt" }
  src:  { type: pcap-source, file: "$W/inject.pcap", timing: original }
links: [ dev.out -> seen, src -> dev.in ]
Y
ip netns exec $B timeout 10 tcpdump -ni vb$$ -c 20 -w "$W/b.pcap" "udp port 5000" 2>/dev/null &
CAP=$!
sleep 1
ip netns exec $A "$BIN" run "$W/g.yaml" --stats >"$W/out" 2>"$W/err" &
RUN=$!
sleep 1
ip netns exec $B ping -c 3 -i 0.2 -W 1 10.198.0.1 >/dev/null
sleep 0.5
kill -TERM $RUN; wait $RUN
wait $CAP
failures=0
echo "captured by pcap-live:"; cat "$W/seen.txt"
grep -c "icmp 10.198.0.2 > 10.198.0.1 type=8" "$W/seen.txt" | grep -q '^3$' && echo "PASS: 3 echo requests captured" || { echo "FAIL: capture"; failures=1; }
n=$(tcpdump -nr "$W/b.pcap" 2>/dev/null | wc -l)
[ "$n" -eq 20 ] && echo "PASS: 20 injected frames seen by the peer" || { echo "FAIL: peer saw $n of 20 injected frames"; cat "$W/out" "$W/err"; failures=1; }
echo "$((2 - failures)) passed, $failures failed"
exit $failures
