# tap offload: with a vnet header the node enables TUNSETOFFLOAD, so the stack
# behind the device hands over TCP segments larger than the MTU and colo-graph
# carries them as GSO frames; the TAP on the other side segments them again.
# Two namespaces are wired through colo-graph (tap a <-> tap b); a 16 MiB TCP
# transfer must arrive intact, and the largest frame colo-graph saw tells
# whether segmentation offload was in force.
. "$(dirname "$0")/lib.inc"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (namespaces, TAP devices)"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: ip not installed"; exit 77; }
id=$$
na=cgoa$id nb=cgob$id ta=cgta$id tb=cgtb$id
pid=
cleanup() {
    [ -n "$pid" ] && kill $pid 2>/dev/null && wait $pid 2>/dev/null
    ip netns del $na 2>/dev/null
    ip netns del $nb 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
ip netns add $na
ip netns add $nb
head -c 16777216 /dev/urandom >"$T/data"
want=$(sha256sum <"$T/data" | cut -d' ' -f1)

# largest_frame PCAP: the longest original frame length in a pcap file.
largest_frame() {
    python3 - "$1" <<'P'
import struct, sys
d = open(sys.argv[1], 'rb').read()
order = '<' if d[:4] == b'\xd4\xc3\xb2\xa1' else '>'
i, top = 24, 0
while i + 16 <= len(d):
    _, _, caplen, origlen = struct.unpack(order + 'IIII', d[i:i + 16])
    top = max(top, origlen)
    i += 16 + caplen
print(top)
P
}

# transfer SETTINGS: runs the wire with tap SETTINGS, sends the data from a to b;
# prints the largest frame a sent.
transfer() {
    cat >"$T/g.yaml" <<Y
nodes:
  a: { type: tap, device: $ta, $1 }
  b: { type: tap, device: $tb, $1 }
  seen: { type: pcap-sink, file: "$T/a.pcap" }
links:
  - a.out -> b.in
  - a.out -> seen.in
  - b.out -> a.in
Y
    "$BIN" run "$T/g.yaml" --stats >"$T/run.out" 2>"$T/run.err" &
    pid=$!
    for _ in $(seq 50); do [ -e /sys/class/net/$tb ] && break; sleep 0.1; done
    ip link set $ta netns $na
    ip link set $tb netns $nb
    ip -n $na addr add 10.77.0.1/24 dev $ta
    ip -n $nb addr add 10.77.0.2/24 dev $tb
    ip -n $na link set $ta up
    ip -n $nb link set $tb up
    ip netns exec $nb python3 -c "
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.77.0.2', 5001)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256()
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b)
open('$T/got', 'w').write(h.hexdigest())
" &
    server=$!
    sleep 0.3
    ip netns exec $na python3 -c "
import socket
s = socket.create_connection(('10.77.0.2', 5001), timeout=30)
s.sendall(open('$T/data', 'rb').read()); s.close()
"
    wait $server || fail "receiver failed"
    kill -TERM $pid
    wait $pid || { cat "$T/run.err"; fail "colo-graph exited $?"; }
    pid=
    [ "$(cat "$T/got")" = "$want" ] || fail "data damaged on the way ($1)"
    largest_frame "$T/a.pcap"
}

on=$(transfer "vnet_hdr_len: 12")
[ "$on" -gt 1514 ] || fail "vnet header, offload on by default: largest frame $on, no segmentation offload"
off=$(transfer "vnet_hdr_len: 12, offload: false")
[ "$off" -le 1514 ] || fail "offload: false: largest frame $off exceeds the MTU"
plain=$(transfer "vnet_hdr_len: 0")
[ "$plain" -le 1514 ] || fail "no vnet header: largest frame $plain exceeds the MTU"
echo "largest frame: offload $on, offload off $off, no vnet header $plain"
echo ok
