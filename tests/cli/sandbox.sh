# run's sandbox (issue #18): once the graph has started, every thread of the
# process has no capability, no_new_privs and the seccomp filter, and the
# graph still works (TAP, socket, control socket, a trace file opened while
# running, SIGTERM); --sandbox off and run: {sandbox: off} leave it out.
# tests/cli/test_sandbox.cc shows a forbidden call refused.
. "$(dirname "$0")/lib.inc"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (a TAP device, capabilities to drop)"; exit 77; }
dev=cgsb$$
cat >"$T/g.yaml" <<Y
nodes:
  tap: { type: tap, device: $dev }
  sock: { type: socket, mode: server, address: "unix:$T/s.sock" }
  out: { type: null-sink }
links: [ tap.out -> sock, sock.out -> out ]
Y

# field PID TASK NAME: a field of a task's /proc status.
field() { awk -v n="$3:" '$1 == n { print $2 }' "/proc/$1/task/$2/status" 2>/dev/null; }

# wait_for_seccomp PID MODE: until the main thread shows Seccomp MODE (the
# filter comes last in start-up), for at most 10 s.
wait_for_seccomp() {
    i=0
    while [ "$(field "$1" "$1" Seccomp)" != "$2" ]; do
        kill -0 "$1" 2>/dev/null || { cat "$T/err"; fail "colo-graph exited during start-up"; }
        i=$((i + 1))
        [ $i -lt 200 ] || fail "no Seccomp: $2 after 10 s"
        sleep 0.05
    done
}

# Sandbox on (the default), in a network namespace of its own for the TAP.
unshare -n "$BIN" run "$T/g.yaml" --control "$T/ctl" --stats >"$T/out" 2>"$T/err" &
pid=$!
wait_for_seccomp $pid 2
nsenter -t $pid -n ip link show $dev >/dev/null || fail "TAP device not created"
"$BIN" ctl "$T/ctl" stats >"$T/stats" || { cat "$T/err"; fail "ctl stats under the sandbox"; }
grep -q '"tap"' "$T/stats" || fail "stats lack the tap node"
# A file opened while running: trace the ARP request the kernel sends out of
# the TAP when pinged through it.
nsenter -t $pid -n ip addr add 10.99.0.1/24 dev $dev
nsenter -t $pid -n ip link set $dev up
nsenter -t $pid -n sh -c 'while :; do ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1; done' &
pinger=$!
"$BIN" ctl "$T/ctl" trace tap.out --filter arp --count 1 --out "$T/trace.pcapng" >"$T/trace" 2>&1 ||
    { kill $pinger; cat "$T/trace" "$T/err"; fail "ctl trace under the sandbox"; }
kill $pinger
grep -q '"packets": 1' "$T/trace" || { cat "$T/trace"; fail "trace did not write its packet"; }
[ -s "$T/trace.pcapng" ] || fail "trace file not written"
tasks=0
for task in /proc/$pid/task/*; do
    t=${task##*/}
    tasks=$((tasks + 1))
    for f in CapEff CapPrm CapInh CapAmb; do
        [ "$(field $pid $t $f)" = 0000000000000000 ] || fail "task $t: $f $(field $pid $t $f)"
    done
    [ "$(field $pid $t Seccomp)" = 2 ] || fail "task $t: Seccomp $(field $pid $t Seccomp)"
    [ "$(field $pid $t NoNewPrivs)" = 1 ] || fail "task $t: NoNewPrivs $(field $pid $t NoNewPrivs)"
done
echo "sandbox on: $tasks threads, each with Seccomp 2, NoNewPrivs 1 and no capability"
[ $tasks -ge 3 ] || fail "only $tasks threads: the check saw too little"
kill -TERM $pid
wait $pid || { cat "$T/err"; fail "exit code $? after SIGTERM under the sandbox"; }
if grep -q "sandbox" "$T/err"; then cat "$T/err"; fail "the sandbox refused something"; fi
grep -Eq '^tap +tap' "$T/out" || { cat "$T/out"; fail "no --stats table at exit"; }
expect_rc 64 "$BIN" run "$T/g.yaml" --sandbox perhaps

# --sandbox off: root keeps its capabilities, no filter, no no_new_privs.
rm -f "$T/s.sock"
unshare -n "$BIN" run "$T/g.yaml" --sandbox off >"$T/out" 2>"$T/err" &
pid=$!
until [ -S "$T/s.sock" ]; do kill -0 $pid || fail "exited during start-up"; sleep 0.05; done
caps=$(field $pid $pid CapEff)
[ "$caps" != 0000000000000000 ] || fail "--sandbox off dropped the capabilities"
[ "$(field $pid $pid NoNewPrivs)" = 0 ] || fail "--sandbox off set no_new_privs"
[ "$(field $pid $pid Seccomp)" = 0 ] || fail "--sandbox off installed a filter"
kill -TERM $pid
wait $pid || { cat "$T/err"; fail "exit code $? with --sandbox off"; }
echo "sandbox off: CapEff $caps kept, Seccomp 0"

# The graph file's run: {sandbox: off}; the command line wins.
printf 'run: { sandbox: off }\n' >>"$T/g.yaml"
expect_rc 0 "$BIN" validate "$T/g.yaml"
rm -f "$T/s.sock"
unshare -n "$BIN" run "$T/g.yaml" >"$T/out" 2>"$T/err" &
pid=$!
until [ -S "$T/s.sock" ]; do kill -0 $pid || fail "exited during start-up"; sleep 0.05; done
[ "$(field $pid $pid Seccomp)" = 0 ] || fail "run: {sandbox: off} installed a filter"
kill -TERM $pid
wait $pid || { cat "$T/err"; fail "exit code $?"; }
unshare -n "$BIN" run "$T/g.yaml" --sandbox on >"$T/out" 2>"$T/err" &
pid=$!
wait_for_seccomp $pid 2
kill -TERM $pid
wait $pid || { cat "$T/err"; fail "exit code $?"; }
sed -i 's/sandbox: off/sandbox: maybe/' "$T/g.yaml"
expect_rc 78 "$BIN" validate "$T/g.yaml"
grep -q "g.yaml:[0-9]*:[0-9]*: error: run option sandbox must be on or off, not 'maybe'" "$T/err" ||
    { cat "$T/err"; fail "no located error for a bad sandbox value"; }
echo ok
