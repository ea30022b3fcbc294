#!/bin/bash
# What TLS between the hosts costs a download through a COLO pair (issue
# #18): the namespace pair of tests/e2e/pair_lib.bash, once with plain TCP and
# once with tls_creds_dir on mirror, compare and the heartbeat, alternated
# ROUNDS times; in each pair the client downloads a 200 MB file three times.
# Per download: MB/s at the client (curl's average speed), and the CPU time
# of both colo-graph processes (utime+stime from /proc) per MB. Prints each
# round and the medians, TLS over plain as ratios.
#
#   tools/bench/tls_e2e.sh COLO_GRAPH [ROUNDS]     (root; default 3 rounds)
set -u
BIN=$(realpath "$1")
ROUNDS=${2:-3}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# one_pair MODE: a pair, three downloads; appends "MB/s cpu_ms_per_MB" lines to $OUT/MODE
one_pair() (
    mode=$1
    source "$SRC/tests/e2e/pair_lib.bash"
    pair_init "$BIN" "$SRC" >/dev/null
    pair_random_file "$W/pvm/big.bin" 5 200
    ln "$W/pvm/big.bin" "$W/svm/big.bin"
    tls=()
    if [ "$mode" = tls ]; then
        "$SRC/tests/io/make_tls_creds.sh" "$W/creds" || exit 1
        tls=(--set tls_creds_dir="$W/creds/good")
    fi
    HB=tcp:127.0.0.1:$((PORT_BASE + 3))
    PAIR_SECONDARY_ARGS=("${tls[@]}" --set heartbeat_addr=$HB)
    pair_up "${tls[@]}" --set heartbeat_addr=$HB >/dev/null
    cpu() { awk '{print $14 + $15}' /proc/$PRIMARY/stat /proc/$SECONDARY/stat | paste -sd+ | bc; }
    $C curl -s -o /dev/null http://$GUEST_IP:8000/big.bin # warm-up
    for _ in 1 2 3; do
        before=$(cpu)
        speed=$($C curl -s -o /dev/null -w '%{speed_download}' http://$GUEST_IP:8000/big.bin)
        after=$(cpu)
        ticks=$(getconf CLK_TCK)
        echo "$speed $after $before $ticks" | awk '{printf "%.1f %.2f\n", $1 / 1e6, ($2 - $3) * 1000 / $4 / 200}' \
            >>"$OUT/$mode"
    done
    [ "$(cat "$W/checkpoints" 2>/dev/null || echo 0)" -eq 0 ] || echo "warning: $mode pair checkpointed" >&2
)

for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then order="plain tls"; else order="tls plain"; fi
    for mode in $order; do one_pair $mode; done
done

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo "200 MB downloads through the namespace pair, $ROUNDS pairs per mode x 3 downloads, alternated"
for mode in plain tls; do
    echo "$mode: MB/s $(cut -d' ' -f1 "$OUT/$mode" | paste -sd' ')"
    echo "$mode: CPU ms/MB (both proxies) $(cut -d' ' -f2 "$OUT/$mode" | paste -sd' ')"
done
sp=$(cut -d' ' -f1 "$OUT/plain" | median) st=$(cut -d' ' -f1 "$OUT/tls" | median)
cp=$(cut -d' ' -f2 "$OUT/plain" | median) ct=$(cut -d' ' -f2 "$OUT/tls" | median)
echo "medians: plain $sp MB/s, $cp CPU ms/MB; tls $st MB/s, $ct CPU ms/MB"
echo "tls/plain: MB/s x$(echo "scale=2; $st / $sp" | bc), CPU per MB x$(echo "scale=2; $ct / $cp" | bc)"
