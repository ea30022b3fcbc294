# Two `run` processes with heartbeat nodes (issue #16): a frozen peer (SIGSTOP)
# is lost by heartbeat and back on SIGCONT, a killed one is lost by
# disconnect; with auto_failover each loss also sends a failover command. A
# process that was frozen itself reads the pulses waiting for it first and
# loses nobody. Waits are generous (the machine may be busy); no pulse counts.
. "$(dirname "$0")/lib.inc"
a= b=
trap 'for p in $a $b; do kill -9 $p 2>/dev/null || true; done; rm -rf "$T"' EXIT

graph() { # graph NAME MODE AUTO_FAILOVER
    cat >"$T/$1.yaml" <<Y
nodes:
  hb: { type: heartbeat, address: "unix:$T/hb.sock", mode: $2, interval_ms: 50, timeout_ms: 500,
        reconnect_ms: 20, auto_failover: $3 }
  status: { type: event-log, file: "$T/$1-status.jsonl" }
  control: { type: event-log, file: "$T/$1-control.jsonl" }
links: [ hb.status -> status, hb.control -> control ]
Y
}
count() { # count FILE PATTERN
    n=$(grep -c -- "$2" "$1" 2>/dev/null) || true
    echo "${n:-0}"
}
wait_for() { # wait_for FILE PATTERN COUNT: up to 15 s
    i=0
    while [ "$(count "$1" "$2")" -lt "$3" ]; do
        i=$((i + 1))
        [ $i -le 300 ] || { tail -n +1 "$T"/*.jsonl "$T"/*.err; fail "$1: fewer than $3 lines matching $2"; }
        sleep 0.05
    done
}
expect_count() { # expect_count FILE PATTERN COUNT
    [ "$(count "$1" "$2")" -eq "$3" ] || { tail -n +1 "$T"/*.jsonl "$T"/*.err; fail "$1: not $3 lines matching $2"; }
}
up='"event":"peer_up"'
by_heartbeat='"event":"peer_down".*"reason":"heartbeat"'
by_disconnect='"event":"peer_down".*"reason":"disconnect"'
failover='"command":"failover"'

# A timeout not above the interval is refused when the graph is built.
graph bad server false
sed -i 's/timeout_ms: 500/timeout_ms: 50/' "$T/bad.yaml"
set +e; "$BIN" run "$T/bad.yaml" >"$T/out" 2>"$T/err"; rc=$?; set -e
[ "$rc" -ne 0 ] || fail "timeout_ms = interval_ms accepted"
grep -q "timeout_ms (50) must be greater than interval_ms (50)" "$T/err" || { cat "$T/err"; fail "no clear error"; }

graph a server true
graph b client false
"$BIN" run "$T/a.yaml" --stats >"$T/a.out" 2>"$T/a.err" &
a=$!
"$BIN" run "$T/b.yaml" >"$T/b.out" 2>"$T/b.err" &
b=$!
wait_for "$T/a-status.jsonl" "$up" 1
wait_for "$T/b-status.jsonl" "$up" 1
grep -q '^{"version":1,"event":"peer_up","time":[0-9.]*}$' "$T/a-status.jsonl" || fail "peer_up event format"

# The client freezes: the server loses it by heartbeat (and fails over),
# then it is back; the frozen one lost nothing.
kill -STOP $b
wait_for "$T/a-status.jsonl" "$by_heartbeat" 1
wait_for "$T/a-control.jsonl" "$failover" 1
kill -CONT $b
wait_for "$T/a-status.jsonl" "$up" 2
grep -q "peer down (heartbeat), sending failover" "$T/a.err" || { cat "$T/a.err"; fail "loss not logged"; }
grep -q "peer up" "$T/a.err" || fail "recovery not logged"

# The server freezes: the same, seen from the client (no auto_failover).
kill -STOP $a
wait_for "$T/b-status.jsonl" "$by_heartbeat" 1
kill -CONT $a
wait_for "$T/b-status.jsonl" "$up" 2
expect_count "$T/b-control.jsonl" "$failover" 0

# The client dies: the server loses it by disconnect and fails over again.
kill -9 $b
wait $b 2>/dev/null || true
b=
wait_for "$T/a-status.jsonl" "$by_disconnect" 1
wait_for "$T/a-control.jsonl" "$failover" 2
sleep 1 # a loss is reported once
expect_count "$T/a-status.jsonl" '"event":"peer_down"' 2
expect_count "$T/a-status.jsonl" "$up" 2
expect_count "$T/a-control.jsonl" "$failover" 2
# Each frozen process read its waiting pulses first and lost nobody.
expect_count "$T/a-status.jsonl" "$by_heartbeat" 1
expect_count "$T/b-status.jsonl" '"event":"peer_down"' 1

kill -TERM $a
wait $a || fail "server exit code $?"
a=
cat "$T/a-status.jsonl" "$T/a-control.jsonl"
grep -Eq '^    losses +2' "$T/a.out" || { cat "$T/a.out"; fail "losses counter"; }
grep -Eq '^    recoveries +1' "$T/a.out" || { cat "$T/a.out"; fail "recoveries counter"; }
[ ! -e "$T/hb.sock" ] || fail "the server left its socket file"
echo ok
