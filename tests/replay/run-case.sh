#!/bin/sh
# Runs one golden replay case: tests/replay/CASE/graph.yaml with ${case} set to
# the case directory and ${out} to a fresh folder, then diffs every file in
# CASE/expected/ against the file of the same name in ${out}.
# UPDATE_GOLDEN=1 rewrites CASE/expected/ from this run's outputs instead.
# An executable CASE/check.sh, if present, runs afterwards with OUT as $1.
set -eu
bin=$1
case_dir=$(cd "$2" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export TZ=UTC LC_ALL=C
if ! "$bin" run "$case_dir/graph.yaml" --set case="$case_dir" --set out="$out" >"$out/stdout.txt" 2>"$out/stderr.txt"; then
    echo "colo-graph run failed:"; cat "$out/stderr.txt"; exit 1
fi
status=0
if [ -n "${UPDATE_GOLDEN:-}" ]; then
    mkdir -p "$case_dir/expected"
    for f in "$out"/*.txt "$out"/*.jsonl; do
        [ -e "$f" ] || continue
        case $(basename "$f") in stdout.txt|stderr.txt) continue ;; esac
        cp "$f" "$case_dir/expected/"
    done
    echo "updated $case_dir/expected"
else
    [ -d "$case_dir/expected" ] || { echo "no expected/ in $case_dir (run with UPDATE_GOLDEN=1)"; exit 1; }
    for exp in "$case_dir"/expected/*; do
        name=$(basename "$exp")
        if [ ! -e "$out/$name" ]; then echo "missing output: $name"; status=1; continue; fi
        diff -u "$exp" "$out/$name" || status=1
    done
fi
if [ -x "$case_dir/check.sh" ]; then "$case_dir/check.sh" "$out" || status=1; fi
exit $status
