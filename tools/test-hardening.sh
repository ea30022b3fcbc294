#!/bin/sh
# Sanitizer and fuzzing stages, run by tools/test.sh after the normal tests:
#
#   asan  ASan+UBSan build; unit and golden replay tests
#   tsan  TSan build against an instrumented oneTBB (tools/tsan-onetbb.sh);
#         unit and golden replay tests
#   fuzz  clang/libFuzzer build (ASan+UBSan); every harness in tests/fuzz
#         for FUZZ_SECONDS (default 60) each, two at a time
#
# Usage: tools/test-hardening.sh [STAGE...]   (default: all three)
# Build folders: build-asan, build-tsan, build-fuzz, or $ASAN_BUILD_DIR,
# $TSAN_BUILD_DIR, $FUZZ_BUILD_DIR. Each stage prints its CTest summary and
# its time; every stage runs, and the script exits non-zero if any failed.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
jobs=$(nproc)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-second_deadlock_stack=1}"
export FUZZ_SECONDS="${FUZZ_SECONDS:-60}"

now() { date +%s; }

# configure DIR ARGS...: a Debug build at -O1, which keeps instrumented builds
# and runs quick and stacks readable. Logs to DIR; shows the log on failure.
configure() {
    dir=$1; shift
    mkdir -p "$dir"
    cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" "$@" \
        >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; return 1; }
}

# build DIR TARGET...: builds quietly; shows the end of the log on failure.
build() {
    dir=$1; shift
    cmake --build "$dir" -j"$jobs" --target "$@" >"$dir/build.log" 2>&1 || { tail -n 60 "$dir/build.log"; return 1; }
}

stage_asan() {
    dir=${ASAN_BUILD_DIR:-$src/build-asan}
    configure "$dir" -DCOLO_SANITIZE=address,undefined &&
        build "$dir" colo-graph engine_tests proto_tests io_tests node_tests cli_tests &&
        (cd "$dir" && ctest -j2 -L 'unit|golden' --output-on-failure --timeout 600)
}

stage_tsan() {
    dir=${TSAN_BUILD_DIR:-$src/build-tsan}
    mkdir -p "$dir"
    tbb_lib=$(tools/tsan-onetbb.sh "$dir/onetbb-tsan") &&
        configure "$dir" -DCOLO_SANITIZE=thread &&
        build "$dir" colo-graph engine_tests proto_tests io_tests node_tests cli_tests &&
        (cd "$dir" && LD_LIBRARY_PATH="$tbb_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
            ctest -j2 -L 'unit|golden' --output-on-failure --timeout 600)
}

stage_fuzz() {
    dir=${FUZZ_BUILD_DIR:-$src/build-fuzz}
    configure "$dir" -DCMAKE_CXX_COMPILER=clang++-14 -DCOLO_SANITIZE=address,undefined -DCOLO_FUZZ=ON &&
        build "$dir" fuzz_chardev_framing fuzz_frame_parse fuzz_comparator fuzz_tcp_rewriter fuzz_graph_file \
            fuzz_control_request fuzz_metrics_request fuzz_pcap_reader &&
        (cd "$dir" && ctest -j2 -L fuzz --output-on-failure --timeout $((FUZZ_SECONDS * 2 + 300)))
}

stages=${*:-asan tsan fuzz}
failed=
summary=
for stage in $stages; do
    case $stage in asan|tsan|fuzz) ;; *) echo "unknown stage '$stage' (asan, tsan, fuzz)" >&2; exit 2 ;; esac
    echo "=== hardening stage: $stage"
    start=$(now)
    if "stage_$stage"; then result=passed; else result=FAILED; failed="$failed $stage"; fi
    line="$stage: $result in $(($(now) - start)) s"
    echo "=== $line"
    summary="$summary
  $line"
done
echo "=== hardening summary:$summary"
if [ -n "$failed" ]; then
    echo "hardening stages failed:$failed" >&2
    exit 1
fi
