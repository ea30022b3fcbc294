# Bad capture files: a truncated capture ends with a named warning and a
# counter (also when read ahead); an unknown link type is refused with the file and link type named.
. "$(dirname "$0")/lib.inc"
python3 "$SRC/tests/cli/pcapfile.py" one-flow "$T/good.pcap" 100
size=$(stat -c %s "$T/good.pcap")
head -c $((size - 20)) "$T/good.pcap" >"$T/cut.pcap"
cat >"$T/g.yaml" <<Y
variables: { in: x }
nodes:
  src: { type: pcap-source, file: "\${in}" }
  out: { type: null-sink }
links: [ src -> out ]
Y
expect_rc 0 "$BIN" run "$T/g.yaml" --set in="$T/cut.pcap" --stats
grep -q "cut.pcap: truncated dump file" "$T/err" || { cat "$T/err"; fail "no warning naming the truncated file"; }
grep -q "truncated_files 1" "$T/out" || fail "truncated_files counter"
grep -Eq "^    packets 99$" "$T/out" || { cat "$T/out"; fail "99 whole packets expected"; }
# The same when a read-ahead thread reads the file.
sed 's/src: { type: pcap-source, /src: { type: pcap-source, read_ahead: true, /' "$T/g.yaml" >"$T/ahead.yaml"
expect_rc 0 "$BIN" run "$T/ahead.yaml" --set in="$T/cut.pcap" --stats
grep -q "cut.pcap: truncated dump file" "$T/err" || { cat "$T/err"; fail "read-ahead: no warning naming the truncated file"; }
grep -Eq "^    packets 99$" "$T/out" || { cat "$T/out"; fail "read-ahead: 99 whole packets expected"; }

python3 "$SRC/tests/cli/pcapfile.py" raw-linktype "$T/raw.pcap"
expect_rc 78 "$BIN" run "$T/g.yaml" --set in="$T/raw.pcap"
grep -q "raw.pcap: link type RAW is not supported (need EN10MB, Ethernet)" "$T/err" || { cat "$T/err"; fail "link type"; }

expect_rc 78 "$BIN" run "$T/g.yaml" --set in="$T/missing.pcap"
grep -q "missing.pcap" "$T/err" || fail "missing file not named"

head -c 10 "$T/good.pcap" >"$T/stub.pcap"
expect_rc 78 "$BIN" run "$T/g.yaml" --set in="$T/stub.pcap"
echo ok
