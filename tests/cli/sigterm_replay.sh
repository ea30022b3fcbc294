# SIGTERM in the middle of a replay: the graph drains and the pcap sink's file
# is complete and readable.
. "$(dirname "$0")/lib.inc"
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump not installed"; exit 77; }
python3 "$SRC/tests/cli/pcapfile.py" one-flow "$T/in.pcap" 200000
cat >"$T/g.yaml" <<Y
nodes:
  src: { type: pcap-source, file: "$T/in.pcap", loop: 0 }
  out: { type: pcap-sink, file: "$T/out.pcap" }
links: [ src -> out ]
Y
"$BIN" run "$T/g.yaml" --stats >"$T/stats" 2>"$T/err" &
pid=$!
sleep 1
kill -TERM $pid
wait $pid || fail "exit code $? after SIGTERM"
grep -q "SIGTERM: stopping" "$T/err" || fail "no stop message"
written=$(awk '/^out /{f=1} f && /^    packets /{print $2; exit}' "$T/stats")
read_back=$(tcpdump -nr "$T/out.pcap" 2>/dev/null | wc -l)
echo "written $written, read back $read_back"
[ -n "$written" ] && [ "$written" -gt 0 ] || fail "nothing written"
[ "$read_back" -eq "$written" ] || fail "pcap has $read_back packets, sink wrote $written"
echo ok
