#!/usr/bin/env bash
# Fails, listing file:line, when a C++ file includes across a boundary that
# docs/architecture.md ("Who may include what") forbids:
#
#   engine/packet.*  the standard library only (nodes/proto links it without TBB)
#   engine/          engine/ only: nothing of nodes/, tools/ or tests/
#   nodes/proto/     nodes/proto/ and engine/packet.hh; no nodes/io/, no node
#                    headers, no other engine header, no TBB or other library
#   nodes/io/        nodes/io/, nodes/proto/ and engine/packet.hh; no node
#                    headers, no other engine header, no TBB or other library
#                    (but libpcap in nodes/io/pcap_reader.cc, which wraps it)
#   nodes/*.cc|hh    engine/ and nodes/; nothing of tools/ or tests/
#
# A quoted include without a folder ("packet.hh") is read as the file's own
# folder. tools/ and tests/ may include anything and are not checked.
#
# Usage: tools/check-layering.sh [SOURCE_DIR]   (default: this script's tree)
# In a git work tree it checks the tracked files (git ls-files); otherwise
# every .cc/.hh under SOURCE_DIR except build folders.
set -u
source "$(dirname "$0")/lint-lib.bash"
lint_root check-layering "${1:-}"

list_sources() { lint_files 'engine/*.cc' 'engine/*.hh' 'nodes/*.cc' 'nodes/*.hh'; }

# Third-party libraries that the plain-code layers must not see.
libraries='^(tbb|oneapi|yaml-cpp|pcap|boost|catch2)(/|\.h)'

# allowed FILE INCLUDE KIND: 0 when FILE may include INCLUDE ("q" quoted,
# "a" angle-bracketed); sets `why` otherwise.
allowed() {
    local file=$1 inc=$2 kind=$3
    case $file in
    engine/packet.*)
        [ "$kind" = q ] && [ "$inc" != engine/packet.hh ] && { why="engine/packet.* includes no other header of the tree"; return 1; }
        [[ $kind = a && $inc =~ $libraries ]] && { why="engine/packet.* uses the standard library only"; return 1; } ;;
    engine/*)
        [ "$kind" = q ] && [[ $inc != engine/* ]] && { why="engine/ includes only engine/"; return 1; } ;;
    nodes/proto/*)
        [ "$kind" = q ] && [[ $inc != nodes/proto/* && $inc != engine/packet.hh ]] &&
            { why="nodes/proto/ includes only nodes/proto/ and engine/packet.hh"; return 1; }
        [[ $kind = a && $inc =~ $libraries ]] && { why="nodes/proto/ uses no library but the standard one and POSIX"; return 1; } ;;
    nodes/io/*)
        [ "$kind" = q ] && [[ $inc != nodes/io/* && $inc != nodes/proto/* && $inc != engine/packet.hh ]] &&
            { why="nodes/io/ includes only nodes/io/, nodes/proto/ and engine/packet.hh"; return 1; }
        [[ $file = nodes/io/pcap_reader.cc && $inc = pcap/pcap.h ]] && return 0 # the one file that wraps libpcap
        [[ $kind = a && $inc =~ $libraries ]] && { why="nodes/io/ uses no library but the standard one and POSIX"; return 1; } ;;
    nodes/*)
        [ "$kind" = q ] && [[ $inc != engine/* && $inc != nodes/* ]] &&
            { why="nodes/ includes only engine/ and nodes/"; return 1; } ;;
    esac
    return 0
}

bad=0
while IFS= read -r -d '' file; do
    [ -f "$file" ] || continue   # a tracked file another change has just deleted
    dir=$(dirname "$file")
    while IFS=: read -r line text; do
        if [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
            inc=${BASH_REMATCH[1]} kind=q
            [[ $inc != */* ]] && inc=$dir/$inc
        elif [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
            inc=${BASH_REMATCH[1]} kind=a
        else
            continue
        fi
        if ! allowed "$file" "$inc" "$kind"; then
            echo "$file:$line: includes $inc: $why"
            bad=$((bad + 1))
        fi
    done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include' "$file")
done < <(list_sources)

if [ $bad -gt 0 ]; then
    echo "check-layering: $bad include(s) cross a boundary (docs/architecture.md, \"Who may include what\")" >&2
    exit 1
fi
echo "check-layering: every include stays within its layer"
