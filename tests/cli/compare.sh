# colo-graph compare, the operator's divergence report (issue #3 acceptance):
# two captures of one HTTP download segmented differently => every byte
# matched, no checkpoint, exit 0; one flipped payload byte => exactly that
# connection and stream offset, exit 1. Also the JSON form, the settings and
# the exit codes for bad input.
. "$(dirname "$0")/lib.inc"
R=$SRC/tests/replay
PRI=$R/cmp-tcp-resegmented/primary.pcap
SEC=$R/cmp-tcp-resegmented/secondary.pcap
FLOW="tcp 10.0.0.2:80 > 10.0.0.1:40000"

# --- Same download, different segmentation (PVM 1448-byte segments, SVM 1000/2896/200/37).
expect_rc 0 "$BIN" compare "$PRI" "$SEC"
grep -Eq "^ +50 +[0-9]+ +46 +[0-9]+ +50 +65536  ok +$FLOW\$" "$T/out" || { cat "$T/out"; fail "connection not fully matched"; }
grep -q "^Checkpoint requests: 0\$" "$T/out" || fail "checkpoint requested"
grep -q "^First divergence per connection: 0\$" "$T/out" || fail "divergence reported"
grep -q "^  bytes matched       65536\$" "$T/out" || fail "not every byte matched"

expect_rc 0 "$BIN" compare "$PRI" "$SEC" --json
python3 - "$T/out" <<'PY' || fail "JSON report"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["checkpoint_requests"] == [], d["checkpoint_requests"]
[c] = d["connections"]
assert c["result"] == "ok" and c["matched_bytes"] == 65536, c
assert c["matched_packets"] == c["primary_packets"] == 50, c
assert d["totals"]["bytes_matched"] == 65536 and d["totals"]["released_matched"] == 50, d["totals"]
assert d["settings"]["compare_timeout"] == 3000 and d["settings"]["checkpoint_delay"] == 20, d["settings"]
PY

# --- Flip one payload byte of the secondary's sixth data segment (stdlib only: the
# comparator ignores the TCP checksum). Prints the flipped byte's stream offset and seq.
python3 - "$SEC" "$T/flipped.pcap" >"$T/flip" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
assert data[:4] == b"\xd4\xc3\xb2\xa1", "little-endian microsecond pcap expected"
pos, segment = 24, 0
while pos < len(data):
    incl = struct.unpack_from("<I", data, pos + 8)[0]
    f = pos + 16
    if data[f + 12:f + 14] == b"\x08\x00" and data[f + 23] == 6:
        ihl = (data[f + 14] & 15) * 4
        total = struct.unpack_from(">H", data, f + 16)[0]
        tcp = f + 14 + ihl
        doff = (data[tcp + 12] >> 4) * 4
        if total - ihl - doff > 0:
            if segment == 5:
                seq = struct.unpack_from(">I", data, tcp + 4)[0]
                data[tcp + doff + 100] ^= 0xFF
                open(sys.argv[2], "wb").write(data)
                print(seq + 100 - 50001, seq + 100)   # the stream starts after the ISN 50000
                sys.exit(0)
            segment += 1
    pos = f + incl
sys.exit("no sixth data segment")
PY
read -r OFFSET SEQ <"$T/flip"
expect_rc 1 "$BIN" compare "$PRI" "$T/flipped.pcap"
grep -q "^First divergence per connection: 1\$" "$T/out" || { cat "$T/out"; fail "not exactly one divergence"; }
grep -q "^  $FLOW: stream offset $OFFSET (seq $SEQ)\$" "$T/out" || { cat "$T/out"; fail "divergence not at offset $OFFSET"; }
grep -q "^Checkpoint requests: 1 " "$T/out" || fail "not one checkpoint request"
grep -Eq "^ +[0-9.]+  mismatch    primary    $FLOW, stream offset $OFFSET \(seq $SEQ\)\$" "$T/out" || fail "request line"
grep -q "diverged   $FLOW\$" "$T/out" || fail "connection not marked diverged"
[ "$(grep -c '\^^' "$T/out")" -eq 1 ] || fail "the dump marks the first differing byte once"

expect_rc 1 "$BIN" compare "$PRI" "$T/flipped.pcap" --json
python3 - "$T/out" "$OFFSET" "$SEQ" <<'PY' || fail "JSON divergence"
import json, sys
d = json.load(open(sys.argv[1]))
offset, seq = int(sys.argv[2]), int(sys.argv[3])
diverged = [c for c in d["connections"] if "first_divergence" in c]
assert len(diverged) == 1 and diverged[0]["flow"] == "tcp 10.0.0.2:80 > 10.0.0.1:40000", diverged
fd = diverged[0]["first_divergence"]
assert fd["offset"] == offset and fd["seq"] == seq, fd
p, s = bytes.fromhex(fd["primary"]), bytes.fromhex(fd["secondary"])
i = offset - fd["context_offset"]
assert p[:i] == s[:i] and p[i] ^ s[i] == 0xFF, (fd, i)
[r] = d["checkpoint_requests"]
assert r["reason"] == "mismatch" and r["divergence"]["offset"] == offset, r
PY

# --- Settings: a bypass rule releases the flow uncompared; no request.
expect_rc 0 "$BIN" compare "$PRI" "$T/flipped.pcap" --set bypass="udp port 53, tcp port 80"
grep -q "^  primary packets     50: 50 released by a bypass rule\$" "$T/out" || { cat "$T/out"; fail "bypass"; }
grep -q "bypass 'udp port 53', bypass 'tcp port 80'" "$T/out" || fail "bypass rules not listed in the settings"

# IPv6 and VLAN traffic is compared by default; ipv6=false vlan=false is QEMU's pass-through.
V6=$R/cmp-arp-ipv6
expect_rc 0 "$BIN" compare "$V6/primary.pcap" "$V6/secondary.pcap"
grep -q "^  primary packets     17: 15 released by a match, 2 released uncompared" "$T/out" || { cat "$T/out"; fail "IPv6/VLAN not compared"; }
expect_rc 0 "$BIN" compare "$V6/primary.pcap" "$V6/secondary.pcap" --set ipv6=false --set vlan=false
grep -q "^  primary packets     17: 17 released uncompared" "$T/out" || { cat "$T/out"; fail "ipv6=false vlan=false"; }

# Timeouts on the captures' own clock: the orphans time out at 4.0 s (the scan after 3 s of age).
P=$R/cmp-primary-only-timeout
expect_rc 1 "$BIN" compare "$P/primary.pcap" "$P/secondary.pcap"
grep -Eq "^ +4\.000000  timeout     primary    udp 10\.0\.0\.2:5000 > 10\.0\.0\.1:6000\$" "$T/out" || { cat "$T/out"; fail "timeout request"; }
expect_rc 1 "$BIN" compare "$P/primary.pcap" "$P/secondary.pcap" --set compare_timeout=500 --set expired_scan_cycle=100
grep -Eq "^ +0\.600000  timeout " "$T/out" || { cat "$T/out"; fail "compare_timeout=500"; }

# --- Why primaries are still held when the input ends. Drop the secondary's fourth data
# segment: the primaries from that point on wait for bytes the secondary skipped (a gap),
# no checkpoint is requested before the capture ends, and the final flush releases them.
python3 - "$SEC" "$T/gap.pcap" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
out, pos, segment = data[:24], 24, 0
while pos < len(data):
    incl = struct.unpack_from("<I", data, pos + 8)[0]
    f = pos + 16
    ihl = (data[f + 14] & 15) * 4
    total = struct.unpack_from(">H", data, f + 16)[0]
    payload = total - ihl - (data[f + 14 + ihl + 12] >> 4) * 4
    if not (payload > 0 and segment == 3):
        out += data[pos:f + incl]
    segment += payload > 0
    pos = f + incl
open(sys.argv[2], "wb").write(out)
PY
expect_rc 0 "$BIN" compare "$PRI" "$T/gap.pcap"
grep -q "unmatched  $FLOW\$" "$T/out" || { cat "$T/out"; fail "gap: connection not unmatched"; }
grep -Eq "^Held at the end of the input \(released by the final flush\): [1-9][0-9]*\$" "$T/out" || fail "no held section"
grep -Eq "^    [0-9]+ packets, seq [0-9]+\.\.[0-9]+ +since [0-9.]+: a gap: the secondary sent later bytes, not these\$" "$T/out" \
    || { cat "$T/out"; fail "gap not named as the reason"; }
expect_rc 0 "$BIN" compare "$PRI" "$T/gap.pcap" --json
python3 - "$T/out" <<'PY' || fail "JSON held reasons"
import json, sys
d = json.load(open(sys.argv[1]))
[c] = d["connections"]
held = c["held"]
assert held and c["primary_packets"] - c["matched_packets"] == len(held), c
reasons = [h["reason"] for h in held]
assert reasons[0] == "secondary_gap", reasons
assert set(reasons) <= {"secondary_gap", "secondary_packet"}, reasons
assert all(set(h) == {"seq", "length", "elapsed", "reason"} for h in held), held
PY
# Orphan primaries: waiting for the secondary's bytes (UDP and TCP), pure ACKs for any packet.
expect_rc 1 "$BIN" compare "$P/primary.pcap" "$P/secondary.pcap" --set checkpoint_delay=100000
grep -q "^Held at the end of the input (released by the final flush): 6\$" "$T/out" || { cat "$T/out"; fail "orphans not held"; }
[ "$(grep -c ": waiting for the secondary's bytes\$" "$T/out")" -eq 2 ] || fail "orphans: reason"

# --- Bad input.
expect_rc 66 "$BIN" compare "$T/missing.pcap" "$SEC"
grep -q "missing.pcap: error: no such file" "$T/err" || fail "missing file message"
echo "not a capture" >"$T/text.pcap"
expect_rc 65 "$BIN" compare "$PRI" "$T/text.pcap"
grep -q "text.pcap" "$T/err" || fail "bad capture not named"
expect_rc 64 "$BIN" compare "$PRI" "$SEC" --set compare_timeout=0
grep -q "compare_timeout" "$T/err" || fail "bad setting not named"
expect_rc 64 "$BIN" compare "$PRI" "$SEC" --set compare_timout=10
grep -q "did you mean 'compare_timeout'" "$T/err" || fail "unknown setting"
expect_rc 64 "$BIN" compare "$PRI" "$SEC" --set bypass="tcp prot 80"
expect_rc 64 "$BIN" compare "$PRI"
echo ok
