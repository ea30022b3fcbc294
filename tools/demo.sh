#!/bin/sh
# One command on a fresh Debian 12 machine: install, build, run the demo graph
# on the bundled captures. Outputs go to ${OUT:-/tmp/colo-demo}.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] && tools/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" --target colo-graph
out=${OUT:-/tmp/colo-demo}
mkdir -p "$out"
build/tools/colo-graph run graphs/demo-replay.yaml --set out="$out" --stats
echo
echo "checkpoint events ($out/events.jsonl):"
cat "$out/events.jsonl"
echo
echo "released packets: $out/released.pcap ($(tcpdump -nr "$out/released.pcap" 2>/dev/null | wc -l) frames; tcpdump -nr reads it)"
