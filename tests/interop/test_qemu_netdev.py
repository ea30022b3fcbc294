#!/usr/bin/python3
"""colo-graph as a QEMU guest's network backend (docs/deployment.md, "As the
guests' netdev backend"): QEMU 7.2's `-netdev stream` and `-netdev socket`
stream backends exchange frames with a colo-graph socket node.

Both backends frame a stream as [u32 BE LEN][frame] (net/net.c
net_fill_rstate() without VNET_LEN), which is what a socket node with
vnet_hdr_support off speaks. No guest is needed: the netdev under test sits on a hub whose other port is a
`-netdev dgram` on 127.0.0.1, so a UDP datagram from the test becomes a
frame QEMU sends to colo-graph, and a frame colo-graph sends comes out as a
datagram.

    test UDP <-> dgram s1 <-> hub 0 <-> stream/socket n0 <-> colo-graph `nic`
    colo-graph: nic.out -> from_vm (test reads), to_vm (test writes) -> nic.in

Four ways round: QEMU connects (stream server=off, socket connect=) to a
colo-graph server, or listens (stream server=on, socket listen=) for a
colo-graph client. When QEMU listens, colo-graph can restart and reconnect;
QEMU 7.2's stream client has no reconnect option, so the other way round a
restarted colo-graph is never reached again (checked and reported below).
"""
import os
import socket
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H   # noqa: E402

GRAPH = """\
description: A QEMU netdev backend's peer; frames from QEMU to from_vm, to_vm to QEMU.
variables:
  nic: unix:/nonexistent
  nic_mode: server
  from_vm: unix:/nonexistent
  to_vm: unix:/nonexistent
nodes:
  nic:     { type: socket, address: "${nic}", mode: "${nic_mode}", reconnect_ms: 50 }
  from_vm: { type: socket, address: "${from_vm}" }
  to_vm:   { type: socket, address: "${to_vm}" }
links:
  - nic.out -> from_vm.in
  - to_vm.out -> nic.in
"""

# Each variant: name, colo-graph's `nic` address and mode, QEMU's -netdev n0.
def variants(wd):
    tcp_a, tcp_b, tcp_c = (H.free_port() for _ in range(3))
    nic = os.path.join(wd, "nic.sock")
    return [
        ("stream client -> colo-graph unix server", "unix:" + nic, "server",
         "stream,id=n0,server=off,addr.type=unix,addr.path=" + nic),
        ("stream server <- colo-graph tcp client", "tcp:127.0.0.1:%d" % tcp_a, "client",
         "stream,id=n0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=%d" % tcp_a),
        ("socket connect= -> colo-graph tcp server", "tcp:127.0.0.1:%d" % tcp_b, "server",
         "socket,id=n0,connect=127.0.0.1:%d" % tcp_b),
        ("socket listen= <- colo-graph tcp client", "tcp:127.0.0.1:%d" % tcp_c, "client",
         "socket,id=n0,listen=127.0.0.1:%d" % tcp_c),
    ]


def netdev_line(qemu, netdev):
    text = qemu.qmp.cmd("human-monitor-command", **{"command-line": "info network"})
    return next((l for l in text.splitlines() if " %s: " % netdev in l), "")


def wait_netdev_connected(qemu, netdev, timeout=10.0):
    """`info network` shows a stream netdev's peer address, or 'connection
    from' for a listening socket netdev, once a peer is attached."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = netdev_line(qemu, netdev)
        state = line.split("type=", 1)[-1].split(",", 1)[-1].strip()
        if state and "listening" not in state and "connecting" not in state:
            return True
        time.sleep(0.02)
    print("netdev %s: %s" % (netdev, netdev_line(qemu, netdev)))
    return False


def frames_to_exchange():
    burst = [H.udp(b"burst %04d" % i + bytes(i % 200), sport=7000 + i % 3) for i in range(200)]
    single = [
        H.udp(b"x"),                                            # padded to 60 bytes
        H.tcp(b"GET / HTTP/1.1\r\n\r\n", seq=12345, ack=678),
        H.icmp_echo(b"ping" * 16),
        H.arp_request(),
        H.ipv6_udp(b"six"),
        H.udp(b"tagged", vlan=42),
        H.raw_ethernet(1514),
        H.raw_ethernet(9014, fill=3),                           # a jumbo frame
    ]
    return single, burst


def exercise(c, graph, udp, qemu_udp_port, tag):
    """Frames both ways through one live connection, byte for byte."""
    single, burst = frames_to_exchange()
    from_vm = H.Peer.connect(graph.addr_from_vm)
    to_vm = H.Peer.connect(graph.addr_to_vm)
    c.check(graph.wait_connected("from_vm") and graph.wait_connected("to_vm"), "%s: test connected" % tag)
    try:
        # QEMU -> colo-graph: each datagram becomes one record [LEN][frame].
        for f in single:
            udp.send(f, qemu_udp_port)
        got = from_vm.expect(len(single))
        c.equal(got, single, "%s: QEMU -> colo-graph, %d frames (60..9014 bytes) byte-identical" % (tag, len(single)))
        for f in burst:
            udp.send(f, qemu_udp_port)
        got = from_vm.expect(len(burst))
        c.check(got == burst, "%s: QEMU -> colo-graph, a burst of %d frames in order" % (tag, len(burst)),
                "got %d, first difference at %s" % (len(got), next((i for i, (a, b) in enumerate(zip(got, burst)) if a != b), None)))
        # colo-graph -> QEMU: each record becomes one datagram.
        for f in single:
            to_vm.send(f)
        got = udp.expect(len(single))
        c.equal(got, single, "%s: colo-graph -> QEMU, %d frames byte-identical" % (tag, len(single)))
        to_vm.send_raw(b"".join(H.record(f) for f in burst))       # many records in one write
        got = udp.expect(len(burst))
        c.check(got == burst, "%s: colo-graph -> QEMU, %d records in one write arrive in order" % (tag, len(burst)),
                "got %d" % len(got))
        # The exact record bytes on the colo-graph side of the wire.
        f = H.udp(b"wire bytes")
        udp.send(f, qemu_udp_port)
        raw = from_vm.read_exact(4 + len(f))
        c.equal(raw, bytes.fromhex("0000003c") + f, "%s: QEMU's record is [00 00 00 3c] + 60 frame bytes (no VNET_LEN)" % tag)
    finally:
        from_vm.close()
        to_vm.close()


class Graph(H.ColoGraph):
    def __init__(self, binary, wd, name, nic, mode):
        self.addr_from_vm = H.unix(wd, name + "-from_vm")
        self.addr_to_vm = H.unix(wd, name + "-to_vm")
        super().__init__(binary, wd, name, GRAPH, {"nic": nic, "nic_mode": mode, "from_vm": self.addr_from_vm,
                                                    "to_vm": self.addr_to_vm})
        self.servers = 3 if mode == "server" else 2


def body(binary, src, wd, c):
    udp = H.Udp()
    for index, (tag, nic, mode, netdev) in enumerate(variants(wd)):
        H.section(tag)
        qemu_udp_port = H.free_port(socket.SOCK_DGRAM)
        qemu_opts = ["-netdev", netdev,
                     "-netdev", "dgram,id=s1,local.type=inet,local.host=127.0.0.1,local.port=%d,"
                     "remote.type=inet,remote.host=127.0.0.1,remote.port=%d" % (qemu_udp_port, udp.port),
                     "-netdev", "hubport,id=hp0,hubid=0,netdev=n0",
                     "-netdev", "hubport,id=hp1,hubid=0,netdev=s1"]
        name = "v%d" % index
        graph = Graph(binary, wd, name, nic, mode)
        if mode == "server":          # colo-graph listens first, QEMU connects
            graph.start(listening=graph.servers)
            qemu = H.Qemu(wd, name + "-qemu", qemu_opts).start()
        else:                         # QEMU listens, colo-graph connects
            qemu = H.Qemu(wd, name + "-qemu", qemu_opts).start()
            graph.start(listening=graph.servers)
        c.check(graph.wait_connected("nic"), "%s: colo-graph's nic socket connected" % tag)
        c.check(wait_netdev_connected(qemu, "n0"), "%s: QEMU reports its netdev connected" % tag)
        exercise(c, graph, udp, qemu_udp_port, tag)

        # colo-graph restarts: does the link come back?
        graph.stop()
        c.check(graph.counter("nic", "frames_in") == 209 and graph.counter("nic", "frames_out") == 208,
                "%s: nic counted 209 records in, 208 out" % tag, str(graph.stats.get("nic")))
        again = Graph(binary, wd, name + "-again", nic, mode).start(listening=graph.servers)
        if mode == "client":
            c.check(again.wait_connected("nic") and wait_netdev_connected(qemu, "n0"),
                    "%s: a restarted colo-graph reconnects to QEMU" % tag)
            exercise(c, again, udp, qemu_udp_port, tag + " after restart")
        else:
            reconnected = again.wait_connected("nic", timeout=2)
            print("observed: QEMU 7.2 %s a restarted colo-graph server (%s has no reconnect option)"
                  % ("reconnected to" if reconnected else "does not reconnect to", netdev.split(",")[0]))
        again.stop()
        qemu.terminate()


if __name__ == "__main__":
    sys.exit(H.run_test(body))
