#!/bin/bash
# The e2e benchmark (issue #17): an HTTP download and request/response
# latency through a real COLO pair in network namespaces against a direct
# veth link between two namespaces, in one run. Each round runs every
# configuration once, alternated (e2e_round.sh); the table gives medians over
# the rounds, with min-max, and ratios to the direct link with its offloads on.
#
#   tools/bench/e2e.sh [--repeat N] [--configs A,B,...] [--ab COLO_GRAPH_B] COLO_GRAPH
#
# Configurations: direct-on, direct-off, pair-vnet-off, pair-vnet-on (all,
# by default), and two ceilings: pair-kernel, the pair's namespaces and guests
# with the kernel forwarding in place of the proxies, the pair's ceiling on
# this machine (needs clang, for its tc program); pair-min, the least a proxy
# in user space does there (e2e_pair_min.c, built by the round with cc). --repeat: rounds (3). --ab: an
# A/B of two builds, each pair-vnet configuration also runs on COLO_GRAPH_B,
# right after, as CONFIG-b. Environment: E2E_SIZE_MB, E2E_PAR, E2E_PAR_MB,
# E2E_REQUESTS (see e2e_round.sh); E2E_PERF=DIR records `perf record -g` of
# both proxies in each pair round into DIR (CONFIG.perf.data over the downloads,
# CONFIG.requests.perf.data over the requests); E2E_CALLGRIND=DIR runs the
# proxies under valgrind's callgrind and reports their instructions per
# request (e2e_round.sh). Each host runs on a CPU of its
# own (primary proxy and PVM on CPU 0, secondary proxy and SVM on CPU 1), the
# client on CPU 1 (e2e_round.sh says why); E2E_PIN=0 lets them float. Needs
# root, curl, ethtool, nstat (iproute2) and taskset.
# docs/performance.md shows its results.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
REPEAT=3
CONFIGS=direct-on,direct-off,pair-vnet-off,pair-vnet-on
BIN_B=
while [ $# -gt 1 ]; do
    case $1 in
        --repeat) REPEAT=$2; shift ;;
        --configs) CONFIGS=$2; shift ;;
        --ab) BIN_B=$(realpath "$2"); shift ;;
        *) break ;;
    esac
    shift
done
[ $# -eq 1 ] || { sed -n '2,25p' "$0"; exit 64; }
BIN=$(realpath "$1")
if [ "$(id -u)" -ne 0 ]; then echo "== e2e: skipped (needs root: network namespaces, TAP devices)"; exit 0; fi
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

# Decided once here for every round (e2e_round.sh reads it): with one CPU there is nothing to separate.
export E2E_PIN=${E2E_PIN:-1}
[ "$(nproc)" -ge 2 ] || E2E_PIN=0
echo "== e2e: ${E2E_SIZE_MB:-50} MiB download, ${E2E_PAR:-20} x ${E2E_PAR_MB:-10} MiB parallel," \
    "${E2E_REQUESTS:-1000} requests on one connection; $REPEAT rounds, configurations alternated;" \
    "$([ "$E2E_PIN" = 0 ] && echo 'everything floating' || echo 'pinned: primary and PVM CPU 0, secondary, SVM and client CPU 1')"
# one_round LABEL COLO_GRAPH: one configuration once; its figures go to $OUT.
one_round() {
    echo "-- round $round, $1 (load $(cut -d' ' -f1-3 /proc/loadavg))"
    "$HERE/e2e_round.sh" "$1" "$2" "$SRC" >"$OUT.round" 2>&1
    local rc=$?
    grep '^result ' "$OUT.round" | tee -a "$OUT" | sed 's/^result [^ ]* /   /' | tr '\n' ' '
    echo
    if [ $rc -ne 0 ]; then echo "   round failed ($rc):"; grep -v '^result ' "$OUT.round" | tail -20; fi
}
for round in $(seq 1 "$REPEAT"); do
    for config in ${CONFIGS//,/ }; do
        one_round "$config" "$BIN"
        if [ -n "$BIN_B" ] && [ "${config#pair-vnet}" != "$config" ]; then one_round "$config-b" "$BIN_B"; fi
    done
done
rm -f "$OUT.round"
echo
python3 "$HERE/e2e_report.py" "$OUT"
