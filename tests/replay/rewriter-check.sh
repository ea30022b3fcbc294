#!/bin/sh
# Shared check.sh body for the rw-* cases: rewriter-check.sh CASE_DIR OUT_DIR.
#  1. every TCP segment in the output pcaps has a valid checksum (tcp_checksums.py);
#  2. what the rewriter changed in each frame (tcp_deltas.py: SEQ, ACK, TSval,
#     TSecr, SACK edges, and nothing else) equals CASE_DIR/deltas/*.txt. The dump
#     text in expected/ cannot show TCP options; these listings do.
# UPDATE_GOLDEN=1 rewrites CASE_DIR/deltas/ instead of comparing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
case_dir=$1
out=$2
status=0
/usr/bin/python3 "$here/tcp_checksums.py" "$out/to_guest.pcap" "$out/from_guest.pcap" || status=1
for port in to_guest from_guest; do
    /usr/bin/python3 "$here/tcp_deltas.py" "$case_dir/$port.pcap" "$out/$port.pcap" >"$out/$port.deltas.txt" || status=1
    if [ -n "${UPDATE_GOLDEN:-}" ]; then
        mkdir -p "$case_dir/deltas"
        cp "$out/$port.deltas.txt" "$case_dir/deltas/$port.txt"
    else
        diff -u "$case_dir/deltas/$port.txt" "$out/$port.deltas.txt" || status=1
    fi
done
exit $status
