#!/usr/bin/python3
"""QEMU's own qtests for filter-mirror and filter-redirector
(tests/qtest/test-filter-mirror.c, tests/qtest/test-filter-redirector.c),
replayed against colo-graph's mirror and redirector nodes wired to socket
nodes, asserting the exact bytes on the wire:

  /netfilter/mirror          [00 00 00 16] "Hello! filter-mirror~\\0" copied to mirror0
                             (and, vnet variant, [00 00 00 16][00 00 00 00] + 22 bytes)
  /netfilter/redirector_tx   netdev -> f0 -> redirector0 => redirector2 -> f1 -> f2 -> redirector1
  /netfilter/redirector_rx   redirector1 -> f2 -> f1 -> redirector2 => redirector0 -> f0 -> netdev

In QEMU a filter chain is implicit (list order, rx runs tail to head); in a
graph it is explicit links, so each qtest becomes a small graph with the
same chardev names. A redirector node's indev->out path is the qtest's
"inject after this filter", its in->outdev path the "consume to outdev".

When qemu-system-x86_64 is installed, the same scenarios run against QEMU
too (its netdev on a hub, as the qtest's NIC would be), so the expected
bytes are QEMU's, not ours; and the redirector_rx indev is reconnected on
both, where QEMU 7.2 stops reading for good and colo-graph carries on.
"""
import os
import socket
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H   # noqa: E402

MIRROR_MSG = b"Hello! filter-mirror~\0"          # 22 bytes, as in test-filter-mirror.c
REDIRECTOR_MSG = b"Hello!!\0"                    # 8 bytes, as in test-filter-redirector.c

MIRROR_GRAPH = """\
description: /netfilter/mirror - filter-mirror qtest-f0 on the netdev, queue=tx, outdev=mirror0.
variables: { netdev: "unix:/nonexistent", guest: "unix:/nonexistent", mirror0: "unix:/nonexistent",
             netdev_vnet: "off", vnet: "off" }
nodes:
  netdev:  { type: socket, address: "${netdev}", vnet_hdr_support: "${netdev_vnet}" }
  qtest-f0: { type: mirror }
  guest:   { type: socket, address: "${guest}", vnet_hdr_support: "${netdev_vnet}" }
  mirror0: { type: socket, address: "${mirror0}", vnet_hdr_support: "${vnet}" }
links:
  - netdev.out -> qtest-f0.in        # tx: frames the backend sends toward the guest
  - qtest-f0.out -> guest.in         # mirror does not consume: the frame goes on
  - qtest-f0.mirror -> mirror0.in
"""

REDIRECTOR_TX_GRAPH = """\
description: /netfilter/redirector_tx - f0 outdev=redirector0, f1 indev=redirector2, f2 outdev=redirector1, all tx.
variables: { netdev: "unix:/nonexistent", guest: "unix:/nonexistent", r0: "unix:/nonexistent", r1: "unix:/nonexistent" }
nodes:
  netdev:      { type: socket, address: "${netdev}" }
  guest:       { type: socket, address: "${guest}" }
  qtest-f0:    { type: redirector }
  qtest-f1:    { type: redirector }
  qtest-f2:    { type: redirector }
  redirector0: { type: socket, address: "${r0}" }
  redirector2: { type: socket, address: "${r0}", mode: client, reconnect_ms: 20 }
  redirector1: { type: socket, address: "${r1}" }
links:
  - netdev.out -> qtest-f0.in            # tx enters the chain at its head
  - qtest-f0.outdev -> redirector0.in    # consumed to redirector0 ...
  - redirector2.out -> qtest-f1.indev    # ... which loops back through redirector2
  - qtest-f0.out -> qtest-f2.in          # the chain after f0 (f1 has no outdev: transparent)
  - qtest-f1.out -> qtest-f2.in          # f1 injects after itself: f2
  - qtest-f2.outdev -> redirector1.in
  - qtest-f2.out -> guest.in             # what would reach the NIC: nothing
"""

REDIRECTOR_RX_GRAPH = """\
description: /netfilter/redirector_rx - f0 indev=redirector0, f1 outdev=redirector2, f2 indev=redirector1, all rx.
variables: { netdev: "unix:/nonexistent", guest: "unix:/nonexistent", r0: "unix:/nonexistent", r1: "unix:/nonexistent" }
nodes:
  netdev:      { type: socket, address: "${netdev}" }
  guest:       { type: socket, address: "${guest}" }
  qtest-f0:    { type: redirector }
  qtest-f1:    { type: redirector }
  qtest-f2:    { type: redirector }
  redirector0: { type: socket, address: "${r0}" }
  redirector2: { type: socket, address: "${r0}", mode: client, reconnect_ms: 20 }
  redirector1: { type: socket, address: "${r1}" }
links:
  - guest.out -> qtest-f1.in             # rx enters at the tail (f2 has no outdev: transparent)
  - redirector1.out -> qtest-f2.indev
  - qtest-f2.out -> qtest-f1.in          # f2 injects after itself in rx order: f1
  - qtest-f1.outdev -> redirector2.in    # consumed to redirector2 => redirector0
  - redirector0.out -> qtest-f0.indev
  - qtest-f1.out -> qtest-f0.in          # (empty: f1 consumes everything it gets)
  - qtest-f0.out -> netdev.in            # f0 injects: no earlier filter, so the backend sends it
"""

MIRROR_WIRE = bytes.fromhex("00000016") + MIRROR_MSG
MIRROR_WIRE_VNET = bytes.fromhex("0000001600000000") + MIRROR_MSG
REDIRECTOR_WIRE = bytes.fromhex("00000008") + REDIRECTOR_MSG


# --------------------------------------------------------------------------
# colo-graph
# --------------------------------------------------------------------------

def cg_mirror(binary, wd, c, vnet):
    tag = "colo-graph mirror%s" % (" (vnet)" if vnet else "")
    addr = {k: H.unix(wd, "m%d-%s" % (vnet, k)) for k in ("netdev", "guest", "mirror0")}
    g = H.ColoGraph(binary, wd, "mirror%d" % vnet, MIRROR_GRAPH,
                    dict(addr, vnet="on" if vnet else "off")).start(listening=3)
    netdev, guest, mirror0 = (H.Peer.connect(addr[k]) for k in ("netdev", "guest", "mirror0"))
    c.check(g.wait_connected("guest") and g.wait_connected("mirror0"), "%s: sockets connected" % tag)
    netdev.send_raw(bytes.fromhex("00000016") + MIRROR_MSG)
    want = MIRROR_WIRE_VNET if vnet else MIRROR_WIRE
    got = mirror0.read_exact(len(want))
    c.equal(got, want, "%s: mirror0 carries exactly %s" % (tag, want[:8].hex(" ")))
    c.equal(guest.read_exact(len(MIRROR_WIRE)), MIRROR_WIRE, "%s: the original still reaches the guest" % tag)
    c.equal(mirror0.quiet(0.2) + guest.quiet(0.1), [], "%s: nothing else on the wire" % tag)
    if vnet:
        # A frame that carries a virtio-net header keeps its VNET_LEN (a netdev with vnet_hdr_len 12).
        g.stop()
        g = H.ColoGraph(binary, wd, "mirror-vnet12", MIRROR_GRAPH,
                        dict(addr, vnet="on", netdev_vnet="on")).start(listening=3)
        netdev, guest, mirror0 = (H.Peer.connect(addr[k]) for k in ("netdev", "guest", "mirror0"))
        c.check(g.wait_connected("guest") and g.wait_connected("mirror0"), "%s: sockets connected again" % tag)
        payload = bytes(12) + MIRROR_MSG
        netdev.send(payload, vnet_len=12)
        want = bytes.fromhex("00000022 0000000c".replace(" ", "")) + payload
        c.equal(mirror0.read_exact(len(want)), want, "%s: a 12-byte virtio-net header keeps VNET_LEN = 12" % tag)
        c.equal(guest.read_exact(len(want)), want, "%s: ... on the guest side too" % tag)
    g.stop()
    return got


def cg_redirector_tx(binary, wd, c):
    tag = "colo-graph redirector_tx"
    addr = {k: H.unix(wd, "tx-" + k) for k in ("netdev", "guest", "r0", "r1")}
    g = H.ColoGraph(binary, wd, "redirector_tx", REDIRECTOR_TX_GRAPH, addr).start(listening=4)
    c.check(g.wait_connected("redirector2") and g.wait_connected("redirector0"),
            "%s: redirector2 connected to redirector0 inside colo-graph" % tag)
    netdev, guest, r1 = (H.Peer.connect(addr[k]) for k in ("netdev", "guest", "r1"))
    c.check(g.wait_connected("redirector1") and g.wait_connected("guest"), "%s: sockets connected" % tag)
    netdev.send_raw(REDIRECTOR_WIRE)
    got = r1.read_exact(len(REDIRECTOR_WIRE))
    c.equal(got, REDIRECTOR_WIRE, "%s: redirector1 carries exactly 00 00 00 08 'Hello!!\\0'" % tag)
    c.equal(guest.quiet(0.3), [], "%s: consumed on the way: nothing reaches the guest" % tag)
    g.stop()
    c.check(g.counter("redirector0", "frames_out") == 1 and g.counter("redirector2", "frames_in") == 1,
            "%s: the frame went through the redirector0/redirector2 socket pair" % tag, str(g.stats))
    return got


def cg_redirector_rx(binary, wd, c):
    tag = "colo-graph redirector_rx"
    addr = {k: H.unix(wd, "rx-" + k) for k in ("netdev", "guest", "r0", "r1")}
    g = H.ColoGraph(binary, wd, "redirector_rx", REDIRECTOR_RX_GRAPH, addr).start(listening=4)
    c.check(g.wait_connected("redirector2") and g.wait_connected("redirector0"),
            "%s: redirector2 connected to redirector0 inside colo-graph" % tag)
    netdev, guest, r1 = (H.Peer.connect(addr[k]) for k in ("netdev", "guest", "r1"))
    c.check(g.wait_connected("netdev") and g.wait_connected("redirector1"), "%s: sockets connected" % tag)
    r1.send_raw(REDIRECTOR_WIRE)
    got = netdev.read_exact(len(REDIRECTOR_WIRE))
    c.equal(got, REDIRECTOR_WIRE, "%s: the netdev emits exactly 00 00 00 08 'Hello!!\\0'" % tag)
    # The indev's peer goes away and comes back (QEMU's redirector stops reading here).
    r1.close()
    r1 = H.Peer.connect(addr["r1"])
    c.check(g.wait_connected("redirector1", 2), "%s: redirector1 accepted a new peer" % tag)
    r1.send_raw(REDIRECTOR_WIRE)
    again = netdev.read_exact(len(REDIRECTOR_WIRE))
    c.equal(again, REDIRECTOR_WIRE, "%s: indev still injects after its peer reconnected" % tag)
    g.stop()
    return got, again


# --------------------------------------------------------------------------
# QEMU, for the reference bytes
# --------------------------------------------------------------------------

class QemuNetdev:
    """QEMU with netdev qtest-bn0 = -netdev stream (a server the test
    connects to, framed like the qtest's -nic socket,fd=) on a hub whose
    other port is a dgram netdev toward `guest` (a UDP socket)."""

    def __init__(self, wd, name, chardevs, filters):
        self.netdev_addr = H.unix(wd, name + "-bn0")
        self.guest = H.Udp()
        opts = ["-netdev", "stream,id=qtest-bn0,server=on,addr.type=unix,addr.path=" + H.path_of(self.netdev_addr),
                "-netdev", "dgram,id=nic,local.type=inet,local.host=127.0.0.1,local.port=%d,remote.type=inet,"
                "remote.host=127.0.0.1,remote.port=%d" % (H.free_port(socket.SOCK_DGRAM), self.guest.port),
                "-netdev", "hubport,id=hp0,hubid=0,netdev=qtest-bn0",
                "-netdev", "hubport,id=hp1,hubid=0,netdev=nic"]
        for arg in chardevs:
            opts += ["-chardev", arg]
        for arg in filters:
            opts += ["-object", arg]
        self.qemu = H.Qemu(wd, name, opts).start()
        self.netdev = H.Peer.connect(self.netdev_addr)
        # connect() returns once the socket listens, before QEMU has accepted.
        # Until then QEMU 7.2 drops a frame bound for the netdev (link down) or,
        # before its listener is set up (done asynchronously), crashes on it (a
        # NULL channel in net_stream_receive()): so nothing goes that way (the
        # redirector_rx scenario) before QEMU reports the client accepted.
        if not self.connected(10.0):
            raise RuntimeError("%s: QEMU never accepted the qtest-bn0 client" % name)

    def connected(self, timeout):
        """Waits for QMP's NETDEV_STREAM_CONNECTED for qtest-bn0."""
        deadline = time.monotonic() + timeout
        while True:
            self.qemu.sync()        # reads the events QEMU sent meanwhile
            if any(e["event"] == "NETDEV_STREAM_CONNECTED" and e["data"].get("netdev-id") == "qtest-bn0"
                   for e in self.qemu.qmp.events):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    def stop(self):
        self.netdev.close()
        self.guest.close()
        self.qemu.terminate()


def qemu_mirror(wd, c, vnet):
    tag = "QEMU mirror%s" % (" (vnet)" if vnet else "")
    m0 = H.unix(wd, "qm%d-mirror0" % vnet)
    q = QemuNetdev(wd, "qemu-mirror%d" % vnet, [H.chardev_server("mirror0", m0)],
                   ["filter-mirror,id=qtest-f0,netdev=qtest-bn0,queue=tx,outdev=mirror0"
                    + (",vnet_hdr_support=on" if vnet else "")])
    mirror0 = H.Peer.connect(m0)
    q.qemu.chardevs_connected(["mirror0"])
    q.netdev.send_raw(bytes.fromhex("00000016") + MIRROR_MSG)
    want = MIRROR_WIRE_VNET if vnet else MIRROR_WIRE
    got = mirror0.read_exact(len(want))
    c.equal(got, want, "%s: mirror0 carries exactly %s" % (tag, want[:8].hex(" ")))
    c.equal(q.guest.expect(1), [MIRROR_MSG], "%s: the original still reaches the guest side" % tag)
    mirror0.close()
    q.stop()
    return got


def qemu_redirector(wd, c, direction):
    tag = "QEMU redirector_" + direction
    r0, r1 = H.unix(wd, "q%s-r0" % direction), H.unix(wd, "q%s-r1" % direction)
    chardevs = [H.chardev_server("redirector0", r0), H.chardev_server("redirector1", r1),
                H.chardev_client("redirector2", r0)]
    if direction == "tx":
        filters = ["filter-redirector,id=qtest-f0,netdev=qtest-bn0,queue=tx,outdev=redirector0",
                   "filter-redirector,id=qtest-f1,netdev=qtest-bn0,queue=tx,indev=redirector2",
                   "filter-redirector,id=qtest-f2,netdev=qtest-bn0,queue=tx,outdev=redirector1"]
    else:
        filters = ["filter-redirector,id=qtest-f0,netdev=qtest-bn0,queue=rx,indev=redirector0",
                   "filter-redirector,id=qtest-f1,netdev=qtest-bn0,queue=rx,outdev=redirector2",
                   "filter-redirector,id=qtest-f2,netdev=qtest-bn0,queue=rx,indev=redirector1"]
    q = QemuNetdev(wd, "qemu-redirector-" + direction, chardevs, filters)
    r1_peer = H.Peer.connect(r1)
    q.qemu.chardevs_connected(["redirector0", "redirector1", "redirector2"])
    again = None
    if direction == "tx":
        q.netdev.send_raw(REDIRECTOR_WIRE)
        got = r1_peer.read_exact(len(REDIRECTOR_WIRE))
        c.equal(got, REDIRECTOR_WIRE, "%s: redirector1 carries exactly 00 00 00 08 'Hello!!\\0'" % tag)
    else:
        r1_peer.send_raw(REDIRECTOR_WIRE)
        got = q.netdev.read_exact(len(REDIRECTOR_WIRE))
        c.equal(got, REDIRECTOR_WIRE, "%s: the netdev emits exactly 00 00 00 08 'Hello!!\\0'" % tag)
        r1_peer.close()
        q.qemu.sync()
        r1_peer = H.Peer.connect(r1)
        q.qemu.chardevs_connected(["redirector1"])
        r1_peer.send_raw(REDIRECTOR_WIRE)
        again = q.netdev.read_exact(len(REDIRECTOR_WIRE), timeout=1.0)
        print("observed: after its indev peer reconnected, QEMU's redirector %s"
              % ("still injects" if again == REDIRECTOR_WIRE else "injects nothing (%d bytes)" % len(again)))
    r1_peer.close()
    q.stop()
    return got, again


def body(binary, src, wd, c):
    H.section("/netfilter/mirror against colo-graph")
    ours = {"mirror": cg_mirror(binary, wd, c, False), "mirror-vnet": cg_mirror(binary, wd, c, True)}
    H.section("/netfilter/redirector_tx against colo-graph")
    ours["redirector_tx"] = cg_redirector_tx(binary, wd, c)
    H.section("/netfilter/redirector_rx against colo-graph")
    ours["redirector_rx"], _ = cg_redirector_rx(binary, wd, c)
    if not H.QEMU:
        print("QEMU part skipped: qemu-system-x86_64 not installed")
        return
    H.section("the same qtests against QEMU %s" % H.QEMU)
    theirs = {"mirror": qemu_mirror(wd, c, False), "mirror-vnet": qemu_mirror(wd, c, True),
              "redirector_tx": qemu_redirector(wd, c, "tx")[0]}
    theirs["redirector_rx"], _ = qemu_redirector(wd, c, "rx")
    for name in ours:
        c.equal(ours[name], theirs[name], "%s: colo-graph's bytes on the wire are QEMU's" % name)


if __name__ == "__main__":
    sys.exit(H.run_test(body, needs_qemu=False))
