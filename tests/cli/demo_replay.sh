# The demo graph replays the bundled captures: tcpdump reads the released pcap,
# every primary frame is in it, and the event log holds exactly the one
# expected checkpoint request (graphs/data/DEMO.txt) and its flush.
. "$(dirname "$0")/lib.inc"
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump not installed"; exit 77; }
expect_rc 0 "$BIN" run "$SRC/graphs/demo-replay.yaml" --set out="$T" --stats
grep -q "^compare  *comparator" "$T/out" || fail "no --stats summary"

tcpdump -nr "$T/released.pcap" >"$T/released.txt" 2>"$T/tcpdump.err" || { cat "$T/tcpdump.err"; fail "tcpdump cannot read released.pcap"; }
tcpdump -nr "$SRC/graphs/data/primary.pcap" >"$T/primary.txt" 2>/dev/null
[ "$(wc -l <"$T/released.txt")" -eq "$(wc -l <"$T/primary.txt")" ] || fail "released $(wc -l <"$T/released.txt") frames, the primary sent $(wc -l <"$T/primary.txt")"
# Same frames; their order may differ (each leaves when its twin arrives).
[ "$(sort "$T/released.txt" | md5sum)" = "$(sort "$T/primary.txt" | md5sum)" ] || fail "released frames differ from the primary's"

[ "$(grep -c '"event":"checkpoint_request"' "$T/events.jsonl")" -eq 1 ] || { cat "$T/events.jsonl"; fail "expected exactly one checkpoint request"; }
grep -q '"event":"checkpoint_request","time":1700000000.900989,"reason":"mismatch","side":"primary","flow":"tcp 10.0.0.2:80 > 10.0.0.1:41001","offset":400,"seq":50401,' "$T/events.jsonl" \
    || { cat "$T/events.jsonl"; fail "not the expected request (DEMO.txt: byte 400, seq 50401 of port 41001)"; }
grep -q '"event":"checkpoint_done","time":1700000000.920989,"released":1,"secondary_dropped":1}' "$T/events.jsonl" \
    || { cat "$T/events.jsonl"; fail "no flush of the divergent response"; }
[ "$(wc -l <"$T/events.jsonl")" -eq 2 ] || { cat "$T/events.jsonl"; fail "unexpected events"; }

# Both files read ahead on threads of their own: the same output, byte for byte.
mkdir "$T/ahead"
sed -e 's|{ type: pcap-source, |{ type: pcap-source, read_ahead: true, |' -e "s|\${graph_dir}|$SRC/graphs|" \
    "$SRC/graphs/demo-replay.yaml" >"$T/ahead.yaml"
grep -c "read_ahead: true" "$T/ahead.yaml" | grep -qx 2 || fail "the read-ahead copy of the demo graph"
expect_rc 0 "$BIN" run "$T/ahead.yaml" --set out="$T/ahead"
cmp "$T/released.pcap" "$T/ahead/released.pcap" || fail "read-ahead changed released.pcap"
cmp "$T/events.jsonl" "$T/ahead/events.jsonl" || fail "read-ahead changed events.jsonl"
echo ok
