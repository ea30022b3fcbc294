#!/bin/sh
# Writes colo-graph(1) with help2man from the binary's own --help and --version,
# plus one section per command from `colo-graph COMMAND --help`: the page says
# what the binary says, so it cannot drift from it (tests/cli/man_page.sh).
# Usage: tools/make-man.sh COLO_GRAPH HELP2MAN OUT
set -eu
bin=$1 help2man=$2 out=$3
include=$out.h2m
{
    echo "[COMMANDS]"
    for cmd in $("$bin" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p'); do
        echo ".SS $cmd"
        echo ".nf"
        "$bin" "$cmd" --help | sed 's/\\/\\e/g; s/^\./\\\&./'
        echo ".fi"
    done
    echo "[FILES]"
    echo "Graph files are YAML; docs/graph-format.md in the source tree describes them, and"
    echo "graphs/ holds the shipped primary and secondary topologies."
    echo "[SEE ALSO]"
    echo ".BR qemu-system-x86_64 (1),"
    echo ".BR tcpdump (1)"
} >"$include"
"$help2man" --no-info --no-discard-stderr --section 1 \
    --name "a COLO proxy (QEMU colo-compare and the COLO network filters) as a dataflow graph" \
    --include "$include" --output "$out" "$bin"
rm -f "$include"
