# tap tx_queue_len: the kernel queue of frames waiting for colo-graph to read.
# The tun driver drops beyond it (500 frames by default), and a guest frame
# lost there costs the comparator a checkpoint, so the node enlarges it.
. "$(dirname "$0")/lib.inc"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
dev=cgq$$
trap 'ip link del $dev 2>/dev/null; rm -rf "$T"' EXIT
queue_len_while_running() { # queue_len_while_running PROPERTY_LINE: the device's txqueuelen as the graph runs
    cat >"$T/g.yaml" <<Y
nodes:
  tap: { type: tap, device: $dev $1 }
  out: { type: null-sink }
links: [ tap.out -> out ]
Y
    "$BIN" run "$T/g.yaml" >"$T/out" 2>"$T/err" &
    pid=$!
    for _ in $(seq 50); do [ -e /sys/class/net/$dev/tx_queue_len ] && break; sleep 0.1; done
    sleep 0.2
    len=$(cat /sys/class/net/$dev/tx_queue_len 2>/dev/null || echo none)
    kill -TERM $pid
    wait $pid || { cat "$T/err"; fail "exit code $?"; }
    echo "$len"
}
[ "$(queue_len_while_running "")" = 10000 ] || fail "default tx_queue_len is not 10000"
[ "$(queue_len_while_running ", tx_queue_len: 4321")" = 4321 ] || fail "tx_queue_len: 4321 not applied"
# 0 leaves the device as it is: create it with a length of our own first.
ip tuntap add dev $dev mode tap
ip link set dev $dev txqueuelen 777
[ "$(queue_len_while_running ", tx_queue_len: 0")" = 777 ] || fail "tx_queue_len: 0 changed the device"
echo ok
