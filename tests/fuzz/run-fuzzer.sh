#!/bin/sh
# Runs one libFuzzer harness: run-fuzzer.sh BINARY SEED_DIR WORK_DIR
# FUZZ_SECONDS (default 60) bounds the run; 0 only replays the seeds.
# New inputs go to WORK_DIR/corpus (the committed seeds stay untouched), a
# crashing input to WORK_DIR/crash-*; the exit status is non-zero on a crash.
set -eu
bin=$1 seeds=$2 work=$3
seconds=${FUZZ_SECONDS:-60}
mkdir -p "$work/corpus"
dict=$seeds.dict
dict_opt=
[ -f "$dict" ] && dict_opt=-dict=$dict
if [ "$seconds" -eq 0 ]; then
    exec "$bin" $dict_opt "$seeds"/*
fi
exec "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" $dict_opt "$work/corpus" "$seeds"
