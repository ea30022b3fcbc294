# A pcap sink on a full disk (a 1 MiB tmpfs): a clear error naming the file,
# a counter for the packets it could not write, and the rest of the graph
# keeps running (the second sink gets every packet).
. "$(dirname "$0")/lib.inc"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to mount a tmpfs"; exit 77; }
mkdir -p "$T/small"
mount -t tmpfs -o size=1m tmpfs "$T/small" || { echo "SKIP: cannot mount tmpfs"; exit 77; }
trap 'umount "$T/small" 2>/dev/null; rm -rf "$T"' EXIT
python3 "$SRC/tests/cli/pcapfile.py" one-flow "$T/in.pcap" 50000
cat >"$T/g.yaml" <<Y
nodes:
  src: { type: pcap-source, file: "$T/in.pcap" }
  tee: { type: mirror }
  full: { type: pcap-sink, file: "$T/small/out.pcap" }
  fine: { type: null-sink }
links: [ src -> tee, tee.out -> full, tee.mirror -> fine ]
Y
expect_rc 0 "$BIN" run "$T/g.yaml" --stats
grep -q "small/out.pcap: write failed (No space left on device); dropping further packets" "$T/err" || { cat "$T/err"; fail "no clear error"; }
errors=$(awk '/write_errors/{print $2}' "$T/out")
written=$(awk '/^full /{f=1} f && /^    packets /{print $2; exit}' "$T/out")
fine=$(awk '/^fine /{f=1} f && /^    packets /{print $2; exit}' "$T/out")
echo "full sink: written $written, write_errors $errors; other sink: $fine"
[ "$fine" -eq 50000 ] || fail "the other sink lost packets"
[ $((written + errors)) -eq 50000 ] || fail "written + write_errors != 50000"
[ "$errors" -gt 0 ] || fail "no write errors counted"
echo ok
