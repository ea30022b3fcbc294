#!/bin/sh
# The cost of being watched (issue #15): colo-bench's throughput and latency
# sections against colo-graph run with --metrics and --control while a
# scraper GETs /metrics every 100 ms, alternated round by round with runs
# without either, in the same session. Prints every run's figures and the
# ratio of the medians (watched / plain); docs/performance.md has the method
# and the results.
#
#   tools/bench/metrics-overhead.sh [ROUNDS]      (default 5)
#
# Environment: BUILD (default: build-bench in the source tree), JOBS (2),
# COUNT (pairs per throughput run, 500000).
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$SRC/build-bench}
JOBS=${JOBS:-2}
COUNT=${COUNT:-500000}
ROUNDS=${1:-5}
PORT=19464
W=$(mktemp -d)
trap 'kill $scraper 2>/dev/null || true; rm -rf "$W"' EXIT
scraper=

cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target colo-graph --target colo-bench >/dev/null

bench() {  # bench LABEL [COLO-GRAPH ARGS]
    label=$1
    shift
    "$BUILD/tools/bench/colo-bench" --sections throughput,latency --servers colo-graph \
        --cases udp64-1flow,udp1400-256flows --count "$COUNT" --repeat 1 --latency-repeat 1 \
        --colo-graph "$BUILD/tools/colo-graph" --source-dir "$SRC" --colo-graph-args "$*" >"$W/out"
    # throughput rows: pairs/s and CPU us/pair; latency rows: p50 and p99
    awk -v l="$label" '
        /^-- / { c = $2; sub(":", "", c) }
        $1 == "colo-graph" { print l, c, "pairs/s", $2; print l, c, "cpu_us", $3 }
        $1 ~ /^[0-9]+$/ && $2 == "colo-graph" { print l, "lat" $1, "p50_us", $3; print l, "lat" $1, "p99_us", $4 }
    ' "$W/out" | sed 's/\([0-9.]*\)M$/\1e6/; s/\([0-9.]*\)k$/\1e3/' >>"$W/figures"
}

scrape_forever() {  # one line in $W/scrapes per /metrics answered
    while :; do
        curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/metrics" | grep -x 200 >>"$W/scrapes" || true
        sleep 0.1
    done
}

i=0
while [ $i -lt "$ROUNDS" ]; do
    i=$((i + 1))
    bench plain
    scrape_forever &
    scraper=$!
    bench watched --metrics 127.0.0.1:$PORT --control "$W/ctl.sock"
    kill $scraper
    wait $scraper 2>/dev/null || true
    scraper=
    echo "round $i done"
done

echo "== /metrics answered $(wc -l <"$W/scrapes" 2>/dev/null || echo 0) scrapes during the watched runs"
echo "== every run (label case figure value)"
cat "$W/figures"
echo "== medians over $ROUNDS rounds: plain, watched, watched/plain"
awk '
    { key = $2 " " $3; v[$1, key, ++n[$1, key]] = $4; keys[key] = 1 }
    function median(label, key,    k, m, a, i, j, t) {
        m = n[label, key]
        for (i = 1; i <= m; i++) a[i] = v[label, key, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    END {
        for (k in keys) {
            p = median("plain", k); w = median("watched", k)
            printf "  %-28s %12.4g %12.4g %8.3f\n", k, p, w, p ? w / p : 0
        }
    }' "$W/figures" | sort
