# `colo-graph run` speaks systemd's notify protocol (tools/cli/service_notify.*):
# READY=1 once every node has started (the socket node is listening by then),
# WATCHDOG=1 every half WatchdogSec while the graph's clock turns, STOPPING=1
# on SIGTERM. A Python datagram socket plays systemd's NOTIFY_SOCKET.
. "$(dirname "$0")/lib.inc"
cat >"$T/g.yaml" <<Y
nodes:
  idle: { type: socket, address: "unix:$T/idle.sock" }
  out:  { type: null-sink }
links: [ idle -> out ]
Y
python3 - "$T/notify.sock" "$T/idle.sock" "$T/messages" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
out = open(sys.argv[3], "w", buffering=1)
s.settimeout(30)
while True:
    msg = s.recv(4096).decode()
    for line in msg.split("\n"):
        if line == "READY=1":  # the graph must be serving when it says so
            line += " listening=%s" % os.path.exists(sys.argv[2])
        out.write("%.3f %s\n" % (time.monotonic(), line))
    if "STOPPING=1" in msg:
        break
PY
LISTENER=$!
for i in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=200000 "$BIN" run "$T/g.yaml" >"$T/out" 2>"$T/err" &
RUN=$!
# Run until 8 pings came (every 100 ms: about 0.8 s), then stop.
for i in $(seq 100); do [ "$(grep -c 'WATCHDOG=1' "$T/messages" 2>/dev/null)" -ge 8 ] && break; sleep 0.1; done
kill -TERM $RUN; wait $RUN || true
wait $LISTENER || true
cat "$T/messages" "$T/err"
grep -q '^[0-9.]* READY=1 listening=True$' "$T/messages" || fail "no READY=1, or READY=1 before the socket node listened"
grep -q "^[0-9.]* STATUS=running $T/g.yaml\$" "$T/messages" || fail "no running STATUS"
[ "$(grep -c 'WATCHDOG=1' "$T/messages")" -ge 8 ] || fail "fewer than 8 watchdog pings"
[ "$(tail -2 "$T/messages" | head -1 | cut -d' ' -f2)" = "STOPPING=1" ] || fail "STOPPING=1 was not sent on SIGTERM"
# Outside systemd nothing is sent and nothing fails.
"$BIN" run "$T/g.yaml" >"$T/out2" 2>"$T/err2" & RUN=$!
for i in $(seq 100); do grep -q 'listening' "$T/err2" && break; sleep 0.1; done
kill -TERM $RUN; wait $RUN || fail "a run without NOTIFY_SOCKET failed"
echo "ok: notify"

# The shipped template unit: installed by cmake --install, and valid for
# systemd-analyze (its ExecStart pointed at this build's binary).
BUILD=$(cd "$(dirname "$BIN")/.." && pwd)
cmake --install "$BUILD" --prefix "$T/inst" >/dev/null
UNIT=$T/inst/lib/systemd/system/colo-graph@.service
[ -s "$UNIT" ] || fail "cmake --install did not install colo-graph@.service"
grep -q '^Type=notify$' "$UNIT" && grep -q '^WatchdogSec=' "$UNIT" || fail "the unit is not Type=notify with a watchdog"
mkdir "$T/unit"
sed "s|^ExecStart=[^ ]*|ExecStart=$BIN|" "$UNIT" >"$T/unit/colo-graph@pair1.service"
systemd-analyze verify --man=no "$T/unit/colo-graph@pair1.service" >"$T/verify" 2>&1 || { cat "$T/verify"; fail "systemd-analyze verify failed"; }
[ ! -s "$T/verify" ] || { cat "$T/verify"; fail "systemd-analyze verify warned"; }
echo ok
