#!/bin/sh
# The benchmark suite in one command: builds colo-graph, colo-bench (with
# min-relay, the socket ceiling) and colo-micro (Release) and runs all of them
# (throughput, latency, memory, scale to 1,000,000 connections, replay, hops),
# printing the machine, the date and every figure. docs/performance.md
# explains the method and the results.
#
#   tools/bench/run.sh [--quick] [--profile] [--e2e] [-- COLO-BENCH OPTIONS...]
#
#   --quick    small counts and one repeat: a smoke run of a few minutes
#   --profile  also build with frame pointers (BUILD-fp), record perf
#              profiles of colo-graph (one throughput case per kind, the
#              replay graphs) and print their top entries
#   --e2e      also the e2e section (root): HTTP through a COLO pair in
#              network namespaces against a direct veth (tools/bench/e2e.sh),
#              and the pair without proxies when clang is there (pair-kernel);
#              with --profile, perf profiles of both proxies in the pair
#
# Environment: BUILD (default: build-bench in the source tree), JOBS (2).
# Needs qemu-system-x86 for the QEMU comparison (left out when missing),
# libbenchmark-dev for colo-micro, linux-perf for --profile.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$SRC/build-bench}
JOBS=${JOBS:-2}
QUICK=0
PROFILE=0
E2E=0
while [ $# -gt 0 ]; do
    case $1 in
        --quick) QUICK=1 ;;
        --profile) PROFILE=1 ;;
        --e2e) E2E=1 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 64 ;;
    esac
    shift
done

build() {  # build DIR EXTRA_CXX_FLAGS TARGETS...
    dir=$1 flags=$2
    shift 2
    cmake -S "$SRC" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$flags" >/dev/null
    for t in "$@"; do cmake --build "$dir" -j"$JOBS" --target "$t" >/dev/null; done
}

echo "== machine"
echo "  date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "  kernel:  $(uname -sr)"
echo "  cpus:    $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "  memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "  load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
echo "  qemu:    $( (command -v qemu-system-x86_64 >/dev/null && qemu-system-x86_64 --version | head -1) || echo none)"
COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')
git -C "$SRC" diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT (with uncommitted changes)"
echo "  source:  $COMMIT"

echo "== building (Release) in $BUILD"
build "$BUILD" "" colo-graph colo-bench
if grep -q '^benchmark_DIR:PATH=.*-NOTFOUND' "$BUILD/CMakeCache.txt"; then
    echo "  Google Benchmark not installed: no micro-benchmarks"
    MICRO=""
else
    cmake --build "$BUILD" -j"$JOBS" --target colo-micro >/dev/null
    MICRO=$BUILD/tools/bench/colo-micro
fi

QUICK_ARGS=""
[ $QUICK -eq 1 ] && QUICK_ARGS="--count 100000 --repeat 1 --latency-repeat 1 --latency-pairs 5000 --replicas 500 --replay-packets 200000 --scale-pairs 100000"

if [ -n "$MICRO" ]; then
    echo
    echo "== micro-benchmarks (colo-micro; median of 3 repetitions)"
    if [ $QUICK -eq 1 ]; then
        "$MICRO" --benchmark_min_time=0.05
    else
        "$MICRO" --benchmark_repetitions=3 --benchmark_display_aggregates_only=true 2>&1 | grep -v '_mean \|_stddev \|_cv '
    fi
fi

echo
# shellcheck disable=SC2086
"$BUILD/tools/bench/colo-bench" $QUICK_ARGS "$@"

if [ $PROFILE -eq 1 ]; then
    FP=$BUILD-fp
    PERF_DIR=$FP/profiles
    echo
    echo "== profiles: perf record -e cpu-clock --call-graph fp on a frame-pointer build ($FP)"
    build "$FP" "-fno-omit-frame-pointer" colo-graph colo-bench
    rm -rf "$PERF_DIR"
    "$FP/tools/bench/colo-bench" --sections throughput,replay --servers colo-graph --repeat 1 \
        --cases udp64-1flow,udp1400-1flow,tcp-reseg-1flow --perf-dir "$PERF_DIR" >/dev/null
    for data in "$PERF_DIR"/*.perf.data; do
        echo
        echo "-- $(basename "$data" .perf.data): top entries by self time (% of the process's samples;" \
             "$(perf report -i "$data" --stdio 2>/dev/null | sed -n 's/^# Samples: \([0-9.]*[KM]*\).*/\1/p') samples)"
        perf report -i "$data" --no-children -g none --sort dso,sym --stdio --percent-limit 1.5 2>/dev/null |
            grep '%' | grep -v '^#' | head -20
        echo "   by inclusive time (callers included, from the frame-pointer call chains)"
        perf report -i "$data" --children -g none --sort sym --stdio --percent-limit 8 2>/dev/null |
            grep '%' | grep -v '^#' | head -15
    done
fi

if [ $E2E -eq 1 ]; then
    echo
    E2E_REPEAT=3
    [ $QUICK -eq 1 ] && E2E_REPEAT=1
    # pair-min, the ceiling of a proxy in user space; pair-kernel, the pair's ceiling
    # without proxies, needs clang for its tc program.
    CONFIGS=direct-on,direct-off,pair-vnet-off,pair-vnet-on,pair-min
    if command -v clang >/dev/null; then CONFIGS=$CONFIGS,pair-kernel; else echo "== e2e: no clang, so no pair-kernel"; fi
    "$SRC/tools/bench/e2e.sh" --repeat $E2E_REPEAT --configs $CONFIGS "$BUILD/tools/colo-graph"
    if [ $PROFILE -eq 1 ]; then
        FP=$BUILD-fp
        PERF_DIR=$FP/profiles-e2e
        echo
        echo "== e2e profiles: perf record -e cpu-clock -g of both proxies (pair-vnet-on, downloads), $FP"
        build "$FP" "-fno-omit-frame-pointer" colo-graph
        rm -rf "$PERF_DIR"
        E2E_PERF=$PERF_DIR "$SRC/tools/bench/e2e.sh" --repeat 1 --configs pair-vnet-on "$FP/tools/colo-graph" >/dev/null
        for data in "$PERF_DIR"/*.perf.data; do
            echo "-- $(basename "$data" .perf.data): top entries by self time, both processes, kernel included"
            perf report -i "$data" --no-children -g none --sort comm,dso,sym --stdio --percent-limit 1.5 2>/dev/null |
                grep '%' | grep -v '^#' | head -25
        done
    fi
fi
