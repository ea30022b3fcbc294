#!/bin/bash
# The Pacemaker resource agent tools/ocf/colo-graph: resource-agents' ocf-tester
# must pass it (meta-data against ra-api-1.dtd, probes, start/stop, promote and
# demote twice over, idempotence), then the roles are checked against the
# running proxy: a new pair's promote runs the primary graph; a secondary that
# has seen a checkpoint fails over in place (the rewriter's failovers counter);
# refused failover, a graph that exits at start, broken configurations.
# Two small graphs on unix sockets in a temporary directory: no devices, no QEMU.
set -u
BIN=$1
SRC=$2
if ! command -v ocf-tester >/dev/null || ! command -v xmllint >/dev/null; then
    # CI runs as root (tools/setup-debian.sh installs them).
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            resource-agents libxml2-utils >/dev/null 2>&1
    fi
    if ! command -v ocf-tester >/dev/null || ! command -v xmllint >/dev/null; then
        echo "SKIP: ocf-tester (resource-agents) or xmllint (libxml2-utils) missing and not installable"
        exit 77
    fi
fi
T=$(mktemp -d)
chmod 755 "$T" # ocf-tester runs meta-data as nobody
# The agent as installed (mode 755, readable by nobody wherever the source is).
AGENT=$T/colo-graph
install -m 755 "$SRC/tools/ocf/colo-graph" "$AGENT"
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=colo_test
export OCF_RESKEY_binary=$BIN OCF_RESKEY_primary_graph=$T/primary.yaml OCF_RESKEY_secondary_graph=$T/secondary.yaml
export OCF_RESKEY_extra_args="--set dir=$T" OCF_RESKEY_control_dir=$T/ctl OCF_RESKEY_log=$T/colo.log OCF_RESKEY_stop_timeout=10
S=$T/ctl/control
cleanup() {
    "$AGENT" stop >/dev/null 2>&1
    # Only a proxy this test started, by the pid the agent recorded.
    [ -f "$T/ctl/pid" ] && kill -KILL "$(cat "$T/ctl/pid")" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

cat >"$T/secondary.yaml" <<'Y'
description: A secondary host in miniature; the rewriter takes failover.
variables: { dir: /nonexistent }
nodes:
  from_primary: { type: socket, address: "unix:${dir}/mirror.sock" }
  rewriter:     { type: rewriter }
  guest:        { type: null-sink }
  to_compare:   { type: null-sink }
links:
  - from_primary.out -> rewriter.to_guest
  - rewriter.to_guest -> guest.in
  - rewriter.from_guest -> to_compare.in
Y
cat >"$T/primary.yaml" <<'Y'
description: A primary host in miniature; the comparator takes failover.
variables: { dir: /nonexistent }
nodes:
  primary_in:   { type: socket, address: "unix:${dir}/primary.sock" }
  secondary_in: { type: socket, address: "unix:${dir}/secondary.sock" }
  compare:      { type: comparator }
  out:          { type: null-sink }
links:
  - primary_in.out -> compare.primary
  - secondary_in.out -> compare.secondary
  - compare.out -> out.in
Y

failures=0
passes=0
pass() { echo "PASS: $1"; passes=$((passes + 1)); }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }
# check ACTION RC WHAT: run the agent, compare its exit status.
check() {
    "$AGENT" "$1" >"$T/agent.out" 2>&1
    local rc=$?
    if [ "$rc" -eq "$2" ]; then pass "$1 -> $2 ($3)"; else
        fail "$1 -> $rc, expected $2 ($3)"
        cat "$T/agent.out"
    fi
}
stats() { "$BIN" ctl "$S" stats; }
# counter NODE NAME: a counter of the running graph, from ctl stats.
counter() {
    stats | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(next(n["counters"][sys.argv[2]] for n in d["nodes"] if n["name"] == sys.argv[1]))' "$1" "$2"
}
graph_file() { stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["graph"])'; }
gone() { [ -z "$(ps -o stat= -p "$1" 2>/dev/null | grep -v '^Z')" ]; }

echo "== ocf-tester"
ocf-tester -n colo_test -o binary="$BIN" -o primary_graph="$T/primary.yaml" -o secondary_graph="$T/secondary.yaml" \
    -o extra_args="--set dir=$T" -o control_dir="$T/ctl" -o log="$T/colo.log" -o stop_timeout=10 \
    "$AGENT" >"$T/tester.out" 2>&1
rc=$?
cat "$T/tester.out"
if [ "$rc" -eq 0 ] && grep -q "passed all tests" "$T/tester.out"; then pass "ocf-tester"; else fail "ocf-tester exit $rc"; fi

echo "== roles"
check monitor 7 "not started"
check start 0 "the secondary graph"
check monitor 0 "unpromoted"
[ "$(graph_file)" = "$T/secondary.yaml" ] && pass "unpromoted runs secondary.yaml" || fail "unpromoted graph: $(graph_file)"
check promote 0 "a new pair: no checkpoint seen"
check monitor 8 "promoted"
[ "$(graph_file)" = "$T/primary.yaml" ] && pass "a new pair's promoted instance runs primary.yaml" || fail "promoted graph: $(graph_file)"
check demote 0 "back to the secondary graph"
check monitor 0 "unpromoted again"
[ "$(graph_file)" = "$T/secondary.yaml" ] && pass "demoted instance runs secondary.yaml" || fail "demoted graph: $(graph_file)"

echo "== failover: a synchronised secondary takes over"
"$BIN" ctl "$S" checkpoint >/dev/null || fail "ctl checkpoint"
pid=$(cat "$T/ctl/pid")
check promote 0 "failover"
check monitor 8 "promoted by failover"
[ "$(cat "$T/ctl/pid")" = "$pid" ] && pass "failover kept the same process ($pid)" || fail "failover restarted the proxy"
[ "$(graph_file)" = "$T/secondary.yaml" ] && pass "the survivor still runs secondary.yaml" || fail "survivor graph: $(graph_file)"
[ "$(counter rewriter failovers)" = 1 ] && pass "rewriter failovers = 1" || fail "rewriter failovers: $(counter rewriter failovers)"
check promote 0 "promoting a promoted instance"
[ "$(counter rewriter failovers)" = 1 ] && pass "no second failover" || fail "rewriter failovers: $(counter rewriter failovers)"
check stop 0 "stop"
check monitor 7 "stopped"
gone "$pid" && pass "no colo-graph process left" || { fail "pid $pid still runs"; ps -fp "$pid"; }
[ ! -e "$S" ] && pass "control socket removed" || fail "control socket left behind"
check stop 0 "stopping a stopped instance"
check demote 7 "demoting a stopped instance"
check promote 0 "promoting a stopped instance starts the primary graph"
[ "$(graph_file)" = "$T/primary.yaml" ] && pass "it runs primary.yaml" || fail "graph: $(graph_file)"
check stop 0 "stop"

echo "== failover refused (exit 65)"
cat >"$T/refuse" <<EOF
#!/bin/sh
# colo-graph, except that ctl failover is refused as by a graph with no node taking it.
case " \$* " in *" ctl "*" failover "*) echo "colo-graph ctl: no node takes failover" >&2; exit 65 ;; esac
exec "$BIN" "\$@"
EOF
chmod 755 "$T/refuse"
OCF_RESKEY_binary=$T/refuse check start 0 "start"
"$BIN" ctl "$S" checkpoint >/dev/null
OCF_RESKEY_binary=$T/refuse check promote 1 "failover refused: OCF_ERR_GENERIC"
grep -q "failover failed (status 65).*no node takes failover" "$T/agent.out" && pass "the refusal is logged" || { fail "no log line"; cat "$T/agent.out"; }
check monitor 0 "still unpromoted"
check stop 0 "stop"

echo "== failures"
printf 'nodes:\n  a: { type: no-such-type }\n' >"$T/broken.yaml"
OCF_RESKEY_secondary_graph=$T/broken.yaml check validate-all 6 "broken graph: OCF_ERR_CONFIGURED"
OCF_RESKEY_secondary_graph=$T/broken.yaml check start 6 "start with a broken graph: OCF_ERR_CONFIGURED"
grep -q "no-such-type" "$T/agent.out" && pass "the reason names the problem" || fail "reason: $(cat "$T/agent.out")"
[ ! -e "$T/ctl/pid" ] && pass "nothing started" || fail "a pid file after a refused start"
OCF_RESKEY_primary_graph=$T/missing.yaml check validate-all 6 "missing graph file"
OCF_RESKEY_primary_graph='' check validate-all 6 "primary_graph unset"
OCF_RESKEY_binary=$T/no-such-binary check validate-all 5 "binary missing: OCF_ERR_INSTALLED"
OCF_RESKEY_binary=$T/no-such-binary check monitor 7 "probe without the binary"
# Valid, but its socket cannot be created: colo-graph exits during start.
OCF_RESKEY_extra_args="--set dir=$T/no-such-dir" check start 1 "the proxy exits at start: OCF_ERR_GENERIC"
grep -q "exited with status" "$T/agent.out" && pass "the exit is logged" || fail "reason: $(cat "$T/agent.out")"
check monitor 7 "not running after a failed start"
# A process that does not answer on its control socket: monitor fails.
check start 0 "start"
pid=$(cat "$T/ctl/pid")
kill -STOP "$pid"
check monitor 1 "stopped process, control socket silent: OCF_ERR_GENERIC"
# Stopped, it cannot act on SIGTERM: SIGKILL after stop_timeout.
OCF_RESKEY_stop_timeout=1 check stop 0 "stop: SIGTERM, then SIGKILL"
grep -q "SIGKILL" "$T/agent.out" && pass "SIGKILL logged" || fail "no SIGKILL: $(cat "$T/agent.out")"
gone "$pid" && pass "no colo-graph process left" || fail "pid $pid still runs"
check start 0 "start again over the stale control socket"
check stop 0 "stop"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
