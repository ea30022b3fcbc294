# The qmp node reads QMP as JSON, top-level members only: an event whose data
# holds an "event": "RESUME" member or an "error" key is neither a RESUME nor
# an error; a line that is not a JSON object is counted and logged, and a line
# without an end (1 MiB and more) ends the session, which then reconnects.
# COLO_EXIT: a secondary's with reason "error" is not yet a takeover, so the
# node asks query-colo-status (with its own id) until the failover is reported,
# then emits a failover command; after it, a RESUME is a checkpoint only if
# query-colo-status says COLO runs again (ignored and counted otherwise); a
# primary's COLO_EXIT emits nothing (failover_on_exit: secondary), a
# secondary's with reason "request" a failover at once.
# A fake monitor plays QEMU; the graph runs on a listening socket until SIGINT,
# sent once the node has come back a third time (so it has read everything).
. "$(dirname "$0")/lib.inc"
cat >"$T/g.yaml" <<Y
nodes:
  idle: { type: socket, address: "unix:$T/idle.sock" }
  out:  { type: null-sink }
  qmp:  { type: qmp, path: "$T/qmp.sock" }
  ctl:  { type: event-log, file: "$T/control.jsonl" }
links: [ idle.out -> out, qmp.control -> ctl ]
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
second, f = session([
    '{"event": "RESUME", %s}\n' % stamp,                                  # the reconnect works
    '{"event": "COLO_EXIT", "data": {"mode": "secondary", "reason": "error"}, %s}\n' % stamp,
])
second.settimeout(30)
def answer(query_id, ret):
    """Reads the node's commands up to a query-colo-status with query_id; answers it."""
    for line in f:
        command = json.loads(line)
        if command.get("execute") == "query-colo-status" and command.get("id") == query_id:
            f.write(json.dumps({"return": ret, "id": query_id}) + "\n"); f.flush()
            log.write("answered %s: mode %s, reason %s\n" % (query_id, ret["mode"], ret["reason"]))
            return
def send(line):
    second.sendall(line.encode())
# QEMU reports the takeover on the node's second query.
answer("colo-graph:takeover", {"mode": "secondary", "last-mode": "none", "reason": "none"})
answer("colo-graph:takeover", {"mode": "none", "last-mode": "secondary", "reason": "request"})
send('{"event": "RESUME", %s}\n' % stamp)                                # COLO is over: no checkpoint
answer("colo-graph:resume", {"mode": "none", "last-mode": "secondary", "reason": "request"})
send('{"event": "COLO_EXIT", "data": {"mode": "primary", "reason": "request"}, %s}\n' % stamp)
send('{"event": "RESUME", %s}\n' % stamp)                                # COLO runs again: a checkpoint
answer("colo-graph:resume", {"mode": "primary", "last-mode": "secondary", "reason": "request"})
send('{"event": "COLO_EXIT", "data": {"mode": "secondary", "reason": "request"}, %s}\n' % stamp)
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
[ "$(grep -c '^answered colo-graph:takeover' "$T/monitor.txt")" = 2 ] ||
    fail "the node did not ask query-colo-status after COLO_EXIT with reason error"
[ "$(grep -c '^answered colo-graph:resume' "$T/monitor.txt")" = 2 ] ||
    fail "the node did not ask query-colo-status about the RESUMEs after COLO_EXIT"
stat_of() { sed -n "/^qmp /,/^[^ ]/s/^    $1 \([0-9]*\)$/\1/p" "$T/out"; }
[ "$(stat_of resumes)" = 3 ] || fail "resumes $(stat_of resumes), expected 3 (one per session, one with COLO back; nested members are not events)"
[ "$(grep -c '"command":"checkpoint"' "$T/control.jsonl")" = 3 ] || fail "expected 3 checkpoint commands"
[ "$(stat_of qmp_errors)" = 3 ] || fail "qmp_errors $(stat_of qmp_errors), expected 3 (garbage, error reply, endless line)"
[ "$(stat_of connections)" = 2 ] || fail "connections $(stat_of connections), expected 2"
[ "$(stat_of colo_exits)" = 3 ] || fail "colo_exits $(stat_of colo_exits), expected 3"
[ "$(stat_of failovers)" = 2 ] || fail "failovers $(stat_of failovers), expected 2 (error then reported, request)"
[ "$(stat_of resumes_ignored)" = 1 ] || fail "resumes_ignored $(stat_of resumes_ignored), expected 1"
[ "$(grep -c '"command":"failover"' "$T/control.jsonl")" = 2 ] || fail "expected 2 failover commands"
# The commands in order.
[ "$(sed -n 's/.*"command":"\([a-z]*\)".*/\1/p' "$T/control.jsonl" | tr '\n' ' ')" = "checkpoint checkpoint failover checkpoint failover " ] ||
    fail "commands out of order: $(cat "$T/control.jsonl")"
grep -q "waiting for the failover (x-colo-lost-heartbeat)" "$T/err" || fail "the wait for the failover not logged"
grep -q "COLO_EXIT (mode primary, reason request); no failover command" "$T/err" || fail "a primary's COLO_EXIT not logged"
grep -q "qmp $T/qmp.sock: not a JSON object: not json at all" "$T/err" || fail "garbage not logged"
grep -q "a line longer than 1048576 bytes; reconnecting" "$T/err" || fail "endless line not logged"
echo ok
