# The qmp node reads QMP as JSON, top-level members only: an event whose data
# holds an "event": "RESUME" member or an "error" key is neither a RESUME nor
# an error; a line that is not a JSON object is counted and logged, and a line
# without an end (1 MiB and more) ends the session, which then reconnects.
# A fake monitor plays QEMU; the graph runs on a listening socket until SIGINT,
# sent once the node has come back a third time (so it has read everything).
. "$(dirname "$0")/lib.inc"
cat >"$T/g.yaml" <<Y
nodes:
  idle: { type: socket, address: "unix:$T/idle.sock" }
  out:  { type: null-sink }
  qmp:  { type: qmp, path: "$T/qmp.sock" }
  ctl:  { type: event-log, file: "$T/control.jsonl" }
links: [ idle -> out, qmp.control -> ctl ]
Y
python3 - "$T/qmp.sock" "$T/monitor.txt" <<'PY' &
import json, socket, sys
srv = socket.socket(socket.AF_UNIX); srv.bind(sys.argv[1]); srv.listen(1)
log = open(sys.argv[2], "w", buffering=1)
def session(lines):
    c, _ = srv.accept(); f = c.makefile("rw")
    f.write('{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, "capabilities": []}}\n'); f.flush()
    log.write("got " + f.readline())
    f.write('{"return": {}}\n'); f.flush()
    for line in lines:
        c.sendall(line.encode())
    log.write("sent %d\n" % len(lines))
    return c, f
stamp = '"timestamp": {"seconds": 1, "microseconds": 2}'
first, _ = session([
    '{"event": "STOP", "data": {"event": "RESUME"}, %s}\n' % stamp,      # nested: not a RESUME
    '{"event": "BLOCK_IO_ERROR", "data": {"error": "x"}, %s}\n' % stamp,  # nested: not an error reply
    '{"event": "RESUME", %s}\n' % stamp,                                  # the one RESUME
    'not json at all\n',                                                  # garbage: counted
    '{"error": {"class": "GenericError", "desc": "x"}}\n',                # an error reply: counted
    '{"event": "RESUME"' + ' ' * (1 << 20),                               # no end: session over
])
second, _ = session(['{"event": "RESUME", %s}\n' % stamp])              # the reconnect works
second.shutdown(socket.SHUT_RDWR)   # the makefile() copy would keep it open
# The node reads a session to its end before it reconnects: once it is back,
# it has seen every line above. No greeting this time, so no third session.
third, _ = srv.accept()
log.write("done\n")
third.recv(1)   # until the node goes away
PY
SERVER=$!
"$BIN" run "$T/g.yaml" --stats >"$T/out" 2>"$T/err" &
RUN=$!
for i in $(seq 300); do grep -q '^done' "$T/monitor.txt" 2>/dev/null && break; sleep 0.1; done
kill -INT $RUN; wait $RUN || true
kill $SERVER 2>/dev/null || true
cat "$T/monitor.txt"; grep -A6 '^qmp' "$T/out"; cat "$T/err"
grep -q '^done' "$T/monitor.txt" || fail "the node did not reconnect after the endless line"
stat_of() { sed -n "/^qmp /,/^[^ ]/s/^    $1 \([0-9]*\)$/\1/p" "$T/out"; }
[ "$(stat_of resumes)" = 2 ] || fail "resumes $(stat_of resumes), expected 2 (one per session; nested members are not events)"
[ "$(grep -c '"command":"checkpoint"' "$T/control.jsonl")" = 2 ] || fail "expected 2 checkpoint commands"
[ "$(stat_of qmp_errors)" = 3 ] || fail "qmp_errors $(stat_of qmp_errors), expected 3 (garbage, error reply, endless line)"
[ "$(stat_of connections)" = 2 ] || fail "connections $(stat_of connections), expected 2"
grep -q "qmp $T/qmp.sock: not a JSON object: not json at all" "$T/err" || fail "garbage not logged"
grep -q "a line longer than 1048576 bytes; reconnecting" "$T/err" || fail "endless line not logged"
echo ok
