# A real COLO pair in network namespaces, for the e2e scripts (sourced, bash;
# not itself a test: CTest registers tests/e2e/*.sh only).
#
#   client ns ── tap ── [colo-graph primary] ── tap ── pvm ns
#                              │  loopback sockets (mirror, compare)
#                       [colo-graph secondary] ── tap ── svm ns
#
# pvm and svm carry the same IP and MAC and run the same HTTP server on their
# own folders ($W/pvm, $W/svm), with real Linux TCP stacks (so different ISNs
# and timestamp clocks: the secondary's rewriter must translate). A small
# script plays the COLO frame on the primary's notify socket: every
# DO_CHECKPOINT is answered with COLO_CHECKPOINT (a flush), counted in
# $W/checkpoints. The primary's events go to $W/events.jsonl, its --stats to
# $W/primary.out, the secondary's to $W/secondary.out.
#
# Use:  source pair_lib.bash; pair_init BIN SRC   (exits 77 when it cannot run)
#       fill $W/pvm and $W/svm
#       pair_up [--set NAME=VALUE]...             (extra settings for the primary)
#       ... traffic with $C (runs a command in the client namespace) ...
# Everything started is killed and the namespaces removed on exit. KEEP=1
# keeps $W. PAIR_PRIMARY_GRAPH replaces graphs/primary.yaml; PAIR_HTTP_SERVER
# replaces tests/e2e/http_server.py (same arguments); the array
# PAIR_SECONDARY_ARGS adds arguments to the secondary's command line; a
# function pair_on_exit, when defined, runs first in the clean-up.
#
# The secondary's client_dev is $TAP_SC, attached but silent until failover.
# It stays down in the root namespace, unless PAIR_CLIENT_BRIDGE=1: then the
# client namespace holds a bridge with both client-facing TAPs, $TAP_C (the
# primary's) and $TAP_SC, and the client's address is on the bridge, as both
# hosts' client TAPs would be on one client network (tests/e2e/failover.sh).
# The array PAIR_HTTP_ARGS adds arguments to the guests' HTTP servers.
# PAIR_START_WAIT: seconds each proxy is given to start and open its TAPs
# before the next step (0.5 for the primary, 1 for the secondary; more when
# they run under valgrind).

say() { echo "--- $*"; }
check() { # check NAME CMD... : run, report PASS/FAIL
    local name=$1; shift
    if "$@"; then echo "PASS: $name"; passes=$((passes + 1)); else echo "FAIL: $name"; failures=$((failures + 1)); fi
}

# pair_random_file PATH SEED MIB: MIB MiB of seeded pseudo-random bytes.
pair_random_file() {
    python3 -c "
import random, sys
r = random.Random(int(sys.argv[2]))
with open(sys.argv[1], 'wb') as f:
    for _ in range(int(sys.argv[3])):
        f.write(r.randbytes(1 << 20))
" "$1" "$2" "$3"
}

pair_init() {
    BIN=$1
    SRC=$2
    if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (network namespaces, TAP devices)"; exit 77; fi
    local tool
    for tool in ip ping curl python3 sha256sum; do
        command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
    done
    ID=$$
    NS_C=cgc$ID NS_P=cgp$ID NS_S=cgs$ID
    TAP_C=cgtc$ID TAP_P=cgtp$ID TAP_S=cgts$ID TAP_SC=cgtsc$ID
    PORT_BASE=$((20000 + ID % 20000))
    MIRROR=tcp:127.0.0.1:$PORT_BASE COMPARE=tcp:127.0.0.1:$((PORT_BASE + 1)) NOTIFY_PORT=$((PORT_BASE + 2))
    GUEST_IP=10.199.0.2 CLIENT_IP=10.199.0.1 GUEST_MAC=52:54:00:12:34:56
    PAIR_PRIMARY_GRAPH=${PAIR_PRIMARY_GRAPH:-$SRC/graphs/primary.yaml}
    PAIR_HTTP_SERVER=${PAIR_HTTP_SERVER:-$SRC/tests/e2e/http_server.py}
    C="ip netns exec $NS_C"
    W=$(mktemp -d)
    mkdir -p "$W/pvm" "$W/svm"
    PIDS=()
    failures=0
    passes=0
    trap pair_cleanup EXIT
    trap 'exit 143' TERM HUP
    trap 'exit 130' INT
}

pair_cleanup() {
    local p ns t
    if declare -F pair_on_exit >/dev/null; then pair_on_exit; fi
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for ns in $NS_C $NS_P $NS_S; do ip netns del $ns 2>/dev/null; done
    for t in $TAP_C $TAP_P $TAP_S $TAP_SC; do ip link del $t 2>/dev/null; done
    if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}

# pair_start_primary [--set NAME=VALUE]... : sets PRIMARY.
pair_start_primary() {
    "$BIN" run "$PAIR_PRIMARY_GRAPH" --set client_dev=$TAP_C --set guest_dev=$TAP_P \
        --set mirror_addr=$MIRROR --set compare_addr=$COMPARE --set notify_addr=tcp:127.0.0.1:$NOTIFY_PORT \
        --set events="$W/events.jsonl" "$@" \
        --stats >"$W/primary.out" 2>"$W/primary.err" &
    PRIMARY=$!
    PIDS+=($PRIMARY)
}

# pair_start_secondary [ARG]... : sets SECONDARY; output is appended (restarts).
pair_start_secondary() {
    "$BIN" run "$SRC/graphs/secondary.yaml" --set guest_dev=$TAP_S --set client_dev=$TAP_SC --set mirror_addr=$MIRROR \
        --set compare_addr=$COMPARE "$@" --stats >>"$W/secondary.out" 2>>"$W/secondary.err" &
    SECONDARY=$!
    PIDS+=($SECONDARY)
}

# pair_up [--set NAME=VALUE]... : namespaces, TAPs, both graphs (the arguments
# go to the primary), the COLO frame, addresses and the three HTTP servers.
# netns_add NS...: new namespaces with loopback up and no IPv6 (exits on failure).
netns_add() {
    local ns
    for ns in "$@"; do
        ip netns add $ns || exit 1
        ip -n $ns link set lo up
        ip netns exec $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
    done
}

pair_up() {
    local t
    say "namespaces and TAP devices"
    # No IPv6 on the TAPs, ever: the graphs bring them up in this namespace,
    # where MLD reports with each TAP's own random MAC would reach the
    # comparator as a (false) mismatch before the TAPs move.
    netns_add $NS_C $NS_P $NS_S
    for t in $TAP_C $TAP_P $TAP_S $TAP_SC; do
        ip tuntap add dev $t mode tap || exit 1
        sysctl -qw net.ipv6.conf.$t.disable_ipv6=1
    done

    pair_start_primary "$@"
    sleep "${PAIR_START_WAIT:-0.5}"
    pair_start_secondary ${PAIR_SECONDARY_ARGS[@]+"${PAIR_SECONDARY_ARGS[@]}"}
    python3 "$SRC/tests/e2e/colo_frame.py" 127.0.0.1 $NOTIFY_PORT "$W/checkpoints" &
    PIDS+=($!)
    sleep "${PAIR_START_WAIT:-1}"

    # Attached devices move into their namespaces; the open file keeps working.
    ip link set $TAP_C netns $NS_C && ip link set $TAP_P netns $NS_P && ip link set $TAP_S netns $NS_S || exit 1
    if [ "${PAIR_CLIENT_BRIDGE:-0}" = 1 ]; then
        ip link set $TAP_SC netns $NS_C || exit 1
        ip -n $NS_C link add br0 type bridge || exit 1
        ip -n $NS_C link set $TAP_C master br0 && ip -n $NS_C link set $TAP_SC master br0
        ip -n $NS_C addr add $CLIENT_IP/24 dev br0
        ip -n $NS_C link set $TAP_C up && ip -n $NS_C link set $TAP_SC up && ip -n $NS_C link set br0 up
    else
        ip -n $NS_C addr add $CLIENT_IP/24 dev $TAP_C && ip -n $NS_C link set $TAP_C up
    fi
    for ns_tap in "$NS_P $TAP_P" "$NS_S $TAP_S"; do
        set -- $ns_tap
        ip -n $1 link set $2 address $GUEST_MAC
        ip -n $1 addr add $GUEST_IP/24 dev $2
        ip -n $1 link set $2 up
        # Both guests must emit the same frames: no IPv6 chatter, no offload differences.
        ip netns exec $1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    done
    ip netns exec $NS_C sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    mkdir -p "$W/client"
    ip netns exec $NS_P python3 "$PAIR_HTTP_SERVER" "$W/pvm" 8000 ${PAIR_HTTP_ARGS[@]+"${PAIR_HTTP_ARGS[@]}"} & PIDS+=($!)
    ip netns exec $NS_S python3 "$PAIR_HTTP_SERVER" "$W/svm" 8000 ${PAIR_HTTP_ARGS[@]+"${PAIR_HTTP_ARGS[@]}"} & PIDS+=($!)
    ip netns exec $NS_C python3 "$PAIR_HTTP_SERVER" "$W/client" 8080 & PIDS+=($!)
    sleep 1
}
