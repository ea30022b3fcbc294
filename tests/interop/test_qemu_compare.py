#!/usr/bin/python3
"""colo-graph's mirror and redirector feeding QEMU 7.2's colo-compare, and
QEMU's released frames coming back through colo-graph.

    test --> feed --> mirror.out --> redirect.in/outdev --> primary_in  (QEMU colo-compare)
                      mirror.mirror -----------------------> secondary_in (QEMU colo-compare)
    QEMU outdev --> compare_out --> redirect.indev/out --> released (test) + released.pcap
    test --> primary_only ------------> redirect.in  (a primary with no secondary twin)

This is the primary host of docs/colo-proxy.txt with the filters done by
colo-graph and only colo-compare left in QEMU: colo-graph's sockets are
clients of QEMU's server chardevs, exactly as the filters' chardevs were.
The mirror makes the secondary's copy, so every compared frame has an
identical twin and QEMU must release it: the frames that come back must be
byte-identical to what was fed, record header (and VNET_LEN) included.
A frame fed on `primary_only` has no twin: QEMU requests a checkpoint on
notify_dev after compare_timeout, the test answers COLO_CHECKPOINT as the
COLO frame would, and the flushed frame comes back the same way.

Runs with vnet_hdr_support off and on (frames with a 12-byte virtio-net
header, VNET_LEN 12 end to end), and once more after colo-graph restarts
(its client sockets reconnect to QEMU's servers; QEMU's colo-compare takes
the new connections).
"""
import os
import struct
import sys

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H   # noqa: E402

GRAPH = """\
description: The primary's filters in colo-graph, QEMU's colo-compare in the middle.
variables:
  feed: unix:/nonexistent
  primary_only: unix:/nonexistent
  released: unix:/nonexistent
  pcap: /nonexistent
  primary_in: unix:/nonexistent
  secondary_in: unix:/nonexistent
  compare_out: unix:/nonexistent
  vnet: "off"
nodes:
  feed:         { type: socket, address: "${feed}", vnet_hdr_support: "${vnet}" }
  primary_only: { type: socket, address: "${primary_only}", vnet_hdr_support: "${vnet}" }
  mirror:       { type: mirror }
  redirect:     { type: redirector }
  primary_in:   { type: socket, mode: client, reconnect_ms: 50, address: "${primary_in}", vnet_hdr_support: "${vnet}" }
  secondary_in: { type: socket, mode: client, reconnect_ms: 50, address: "${secondary_in}", vnet_hdr_support: "${vnet}" }
  compare_out:  { type: socket, mode: client, reconnect_ms: 50, address: "${compare_out}", vnet_hdr_support: "${vnet}" }
  released:     { type: socket, address: "${released}", vnet_hdr_support: "${vnet}" }
  capture:      { type: pcap-sink, file: "${pcap}" }
links:
  - feed.out -> mirror.in
  - mirror.out -> redirect.in
  - primary_only.out -> redirect.in
  - redirect.outdev -> primary_in.in
  - mirror.mirror -> secondary_in.in
  - compare_out.out -> redirect.indev
  - redirect.out -> released.in
  - redirect.out -> capture.in
"""

COMPARE_TIMEOUT_MS, SCAN_MS = 300, 50


def frames(vnet):
    """Compared frames, each in a flow of its own (QEMU matches non-TCP
    newest-first within a flow, so a burst of one flow would come out
    reversed), plus one TCP stream whose segments must stay in order."""
    single = [
        H.udp(b"u"),                                              # 60 bytes with padding
        H.udp(b"A" * 1472, sport=5001),                           # 1514 bytes
        H.udp(bytes(range(256)) * 35, sport=5002),                # 8996 + 42: a jumbo frame
        H.udp(b"B" * (65535 - 28), sport=5003),                   # the largest IPv4 datagram: 65549 bytes
        H.icmp_echo(b"ping" * 14, ident=9),
        H.ip_proto(253, b"other protocol"),
        H.tcp(b"HTTP/1.1 200 OK\r\n\r\nhello", seq=5000, ack=77, sport=80, dport=40001,
              options=bytes.fromhex("0101080a0000000100000002")),
        H.tcp(b"with IP options", seq=9000, ack=5, sport=81, ip_options=bytes.fromhex("01010100")),
        # QEMU's colo-compare does not compare these: they pass from primary_in at once.
        H.arp_request(),
        H.ipv6_udp(b"six"),
        H.udp(b"tagged", vlan=42, sport=5004),
        H.raw_ethernet(H.MAX_RECORD - (12 if vnet else 0), fill=5),   # the largest record QEMU takes
    ]
    stream = [H.tcp(b"segment %03d " % i * 8, seq=100000 + i * 96, ack=1, sport=8080, dport=50000)
              for i in range(50)]
    return single, stream


class Rig:
    def __init__(self, binary, wd, c, vnet):
        self.c = c
        self.vnet = vnet
        self.tag = "vnet" if vnet else "plain"
        self.wd = wd
        self.binary = binary
        name = "compare-" + self.tag
        self.qemu_addr = {k: H.unix(wd, name + "-qemu-" + k) for k in ("pin", "sin", "out", "notify")}
        self.qemu = H.Qemu(wd, name + "-qemu", [
            "-object", "iothread,id=iothread1",
            "-chardev", H.chardev_server("compare0-0", self.qemu_addr["pin"]),
            "-chardev", H.chardev_server("compare1", self.qemu_addr["sin"]),
            "-chardev", H.chardev_server("compare_out0", self.qemu_addr["out"]),
            "-chardev", H.chardev_server("notify_way", self.qemu_addr["notify"]),
            "-object", "colo-compare,id=comp0,primary_in=compare0-0,secondary_in=compare1,outdev=compare_out0,"
                       "iothread=iothread1,notify_dev=notify_way,compare_timeout=%d,expired_scan_cycle=%d%s"
                       % (COMPARE_TIMEOUT_MS, SCAN_MS, ",vnet_hdr_support=on" if vnet else "")]).start()
        self.notify = H.Peer.connect(self.qemu_addr["notify"])   # the COLO frame's end
        self.runs = 0

    def start_graph(self):
        self.runs += 1
        name = "compare-%s-graph%d" % (self.tag, self.runs)
        self.addr = {k: H.unix(self.wd, name + "-" + k) for k in ("feed", "primary_only", "released")}
        self.pcap = os.path.join(self.wd, name + ".pcap")
        self.graph = H.ColoGraph(self.binary, self.wd, name, GRAPH, dict(
            self.addr, pcap=self.pcap, vnet="on" if self.vnet else "off", primary_in=self.qemu_addr["pin"],
            secondary_in=self.qemu_addr["sin"], compare_out=self.qemu_addr["out"])).start(listening=3)
        self.released = H.Peer.connect(self.addr["released"], vnet=self.vnet)
        self.feed = H.Peer.connect(self.addr["feed"])
        self.primary_only = H.Peer.connect(self.addr["primary_only"])
        ok = all(self.graph.wait_connected(n) for n in ("primary_in", "secondary_in", "compare_out", "released",
                                                          "feed", "primary_only"))
        ok = self.qemu.chardevs_connected(["compare0-0", "compare1", "compare_out0", "notify_way"]) and ok
        self.c.check(ok, "%s: colo-graph connected to QEMU's colo-compare (run %d)" % (self.tag, self.runs))

    def wire(self, frame):
        """What the test writes and expects back: the record with the
        frame behind a 12-byte virtio-net header when vnet is on."""
        return (bytes(12) + frame, 12) if self.vnet else (frame, None)

    def send(self, peer, frame):
        payload, vnet_len = self.wire(frame)
        peer.send(payload, vnet_len)

    def expect_back(self, frames, what, timeout=5.0):
        want = [self.wire(f) if self.vnet else f for f in frames]
        got = self.released.expect(len(want), timeout)
        self.c.check(got == want, "%s: %s" % (self.tag, what),
                     "got %d of %d; first difference at %s" % (
                         len(got), len(want), next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), "the end")))
        return got

    def stop_graph(self):
        for p in (self.released, self.feed, self.primary_only):
            p.close()
        self.graph.stop()
        return read_pcap(self.pcap)

    def stop(self):
        """Quits QEMU once it is idle; returns its exit status. QEMU 7.2 frees
        the chardevs on quit while colo-compare's iothread may still be
        handling a hang-up on one of them (a core dump showed qemu_cleanup()
        destroying a mutex the iothread held: an abort, or on the other side
        "Assertion `mutex->initialized' failed"); so the test quits only after
        QEMU has seen every peer go."""
        self.notify.close()
        idle = self.qemu.chardevs_disconnected(["compare0-0", "compare1", "compare_out0", "notify_way"])
        self.c.check(idle, "%s: QEMU saw colo-graph and the COLO frame disconnect" % self.tag)
        return self.qemu.terminate()


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    records, pos = [], 24
    while pos + 16 <= len(data):
        incl = struct.unpack_from("<I", data, pos + 8)[0]
        records.append(data[pos + 16:pos + 16 + incl])
        pos += 16 + incl
    return records


def scenario(rig, c):
    single, stream = frames(rig.vnet)
    tag = rig.tag
    H.section("%s: identical twins, one at a time" % tag)
    for f in single:
        rig.send(rig.feed, f)
        rig.expect_back([f], "%d-byte %s released byte-identical" % (len(f), describe(f)))
    H.section("%s: a TCP stream in one flow, as one burst" % tag)
    rig.feed.send_raw(b"".join(H.record(*rig.wire(f)) for f in stream))
    rig.expect_back(stream, "%d TCP segments released in sequence order, byte-identical" % len(stream))

    H.section("%s: a primary without its twin: checkpoint over notify_dev" % tag)
    lonely = H.udp(b"no twin", sport=6001)
    rig.send(rig.primary_only, lonely)
    c.equal(rig.released.quiet(0.1), [], "%s: a primary with no secondary is held" % tag)
    request = rig.notify.expect(1, timeout=COMPARE_TIMEOUT_MS / 1000 + 5)
    c.equal(request, [b"DO_CHECKPOINT"], "%s: QEMU asks for a checkpoint after compare_timeout" % tag)
    rig.notify.send(b"COLO_CHECKPOINT", 0 if rig.vnet else None)   # inbound notify records carry VNET_LEN
    rig.expect_back([lonely], "the flushed primary comes back byte-identical")
    rig.notify.quiet(SCAN_MS * 3 / 1000)                            # requests sent before the flush landed
    return single + stream + [lonely]


def describe(frame):
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    if ethertype == 0x0800:
        return {6: "TCP", 17: "UDP", 1: "ICMP"}.get(frame[23], "IP proto %d" % frame[23])
    return {0x0806: "ARP", 0x86DD: "IPv6", 0x8100: "VLAN"}.get(ethertype, "ethertype 0x%04x" % ethertype)


def body(binary, src, wd, c):
    for vnet in (False, True):
        rig = Rig(binary, wd, c, vnet)
        rig.start_graph()
        sent = scenario(rig, c)
        captured = rig.stop_graph()
        c.check(captured == sent, "%s: released.pcap holds the %d released Ethernet frames (no virtio-net "
                "header), byte-identical" % (rig.tag, len(sent)), "pcap has %d records" % len(captured))
        g = rig.graph
        c.check(g.counter("primary_in", "frames_out") == len(sent) and
                g.counter("secondary_in", "frames_out") == len(sent) - 1 and
                g.counter("compare_out", "frames_in") == len(sent),
                "%s: colo-graph's counters agree: %d to primary_in, %d to secondary_in, %d back"
                % (rig.tag, len(sent), len(sent) - 1, len(sent)), str(g.stats))

        H.section("%s: colo-graph restarts, QEMU keeps running" % rig.tag)
        rig.start_graph()
        again = H.udp(b"after a restart", sport=6002)
        rig.send(rig.feed, again)
        rig.expect_back([again], "released after colo-graph reconnected to colo-compare")
        rig.stop_graph()
        # Checked apart from QEMU's own exit, so that a failure says whether
        # QEMU broke while colo-graph came and went or only as it quit.
        rig.qemu.sync()
        c.check(rig.qemu.alive() and "Assertion" not in rig.qemu.stderr(),
                "%s: QEMU kept running, without errors, through colo-graph's restart and stop" % rig.tag,
                rig.qemu.stderr())
        status = rig.stop()
        c.check(status == 0 and "Assertion" not in rig.qemu.stderr(), "%s: QEMU quit without errors" % rig.tag,
                "exit status %s; %s" % (status, rig.qemu.stderr()))


if __name__ == "__main__":
    sys.exit(H.run_test(body))
