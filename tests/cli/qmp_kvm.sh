# The qmp node against a real QEMU 7.2 monitor: a checkpoint request becomes
# migrate-set-parameters x-checkpoint-delay (read back over a second QMP
# monitor), and a RESUME event (here from `cont`) becomes a checkpoint command.
. "$(dirname "$0")/lib.inc"
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
qemu-system-x86_64 -machine none -nodefaults -display none -monitor none -serial none -S \
    -qmp unix:"$T/a.sock",server=on,wait=off -qmp unix:"$T/b.sock",server=on,wait=off &
QEMU=$!
trap 'kill $QEMU 2>/dev/null; rm -rf "$T"' EXIT
python3 "$SRC/tests/cli/pcapfile.py" one-flow "$T/p.pcap" 300
python3 "$SRC/tests/cli/pcapfile.py" empty "$T/e.pcap"
cat >"$T/g.yaml" <<Y
nodes:
  pri: { type: pcap-source, file: "$T/p.pcap", timing: original }
  sec: { type: pcap-source, file: "$T/e.pcap" }
  cmp: { type: comparator, compare_timeout: 50, expired_scan_cycle: 10 }
  qmp: { type: qmp, path: "$T/a.sock", checkpoint_delay: 12345 }
  ctl: { type: event-log, file: "$T/control.jsonl" }
  out: { type: null-sink }
links: [ pri -> cmp.primary, sec -> cmp.secondary, cmp.out -> out, cmp.events -> qmp, qmp.control -> ctl ]
Y
for i in $(seq 50); do [ -S "$T/a.sock" ] && break; sleep 0.1; done
"$BIN" run "$T/g.yaml" --stats >"$T/out" 2>"$T/err" &
RUN=$!
sleep 1.5
python3 - "$T/b.sock" >"$T/qmp.txt" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.readline()
def cmd(c, **a):
    f.write(json.dumps({"execute": c, **({"arguments": a} if a else {})}) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            return r
cmd("qmp_capabilities")
print("delay", cmd("query-migrate-parameters")["return"].get("x-checkpoint-delay"))
cmd("cont")
time.sleep(0.5)
PY
kill -INT $RUN; wait $RUN
cat "$T/qmp.txt"; grep -A5 "^qmp" "$T/out"
grep -q "delay 12345" "$T/qmp.txt" || fail "x-checkpoint-delay was not set"
grep -q '{"command":"checkpoint"}' "$T/control.jsonl" || fail "RESUME did not become a checkpoint command"
grep -Eq "^    resumes 1$" "$T/out" || fail "resumes counter"
echo ok
