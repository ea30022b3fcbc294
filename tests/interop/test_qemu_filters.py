#!/usr/bin/python3
"""QEMU 7.2's filter-mirror and filter-redirector feeding colo-graph's
comparator: the primary host of docs/colo-proxy.txt with QEMU's colo-compare
object replaced by `colo-graph run graphs/colo-compare.yaml`.

No guest: the tap is `-netdev socket,udp` hn0 and the primary guest's NIC is
another UDP netdev on the same hub (a netdev without a peer never runs its
filters: net/net.c qemu_send_packet_async_with_flags() returns before them).
The test plays the client (UDP socket A, behind hn0), the primary guest (UDP
socket B, behind the hub), the secondary host (it reads the mirror0 chardev
and writes the secondary guest's output to colo-graph's secondary_in) and the
COLO frame (colo-graph's notify_dev).

    A -> hn0 (tx) -> m0 -> mirror0 (test reads) ; -> hub -> B
    B -> hub -> hn0 (rx) -> redire1 -> compare0 -> colo-graph primary_in
    test -> colo-graph secondary_in;  colo-graph outdev -> compare_out -> redire0 -> hn0 -> A

colo-graph serves all four sockets (mode=server, as the graph ships), so
QEMU's compare0 and compare_out become client chardevs (docs/qemu-mapping.md).
Runs with vnet_hdr_support off (colo-graph started first) and on (QEMU
started first: its client chardevs retry every second). At the end colo-graph restarts: QEMU's
filters reconnect, but redire0 (an indev) stops reading for good
(net/filter-mirror.c redirector_chr_event()) until it is re-created over QMP,
in front of redire1 — the recipe in docs/deployment.md, checked here.
"""
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H   # noqa: E402

COMPARE_TIMEOUT_MS, SCAN_MS = 400, 50
TO_GUEST = dict(src=H.IP_CLIENT, dst=H.IP_GUEST, src_mac=H.MAC_CLIENT, dst_mac=H.MAC_GUEST)


class Rig:
    def __init__(self, binary, src, wd, c, vnet):
        self.c, self.vnet, self.wd, self.binary, self.src = c, vnet, wd, binary, src
        self.tag = "vnet" if vnet else "plain"
        self.graph_addr = {k: H.unix(wd, "%s-%s" % (self.tag, k))
                           for k in ("primary_in", "secondary_in", "outdev", "notify_dev")}
        self.events_path = os.path.join(wd, self.tag + "-events.jsonl")
        self.runs = 0
        qemu_first = vnet            # either start order works: QEMU's client chardevs retry
        if not qemu_first:
            self.start_graph()
        self.client, self.guest = H.Udp(), H.Udp()          # A and B
        self.qa, self.qb = H.free_port(socket.SOCK_DGRAM), H.free_port(socket.SOCK_DGRAM)
        self.mirror0 = H.unix(wd, self.tag + "-mirror0")
        vnet_opt = ",vnet_hdr_support=on" if vnet else ""
        self.redire0 = "netdev=hn0,queue=rx,indev=compare_out" + vnet_opt
        self.qemu = H.Qemu(wd, self.tag + "-qemu", [
            "-netdev", "socket,id=hn0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % (self.client.port, self.qa),
            "-netdev", "socket,id=nic,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % (self.guest.port, self.qb),
            "-netdev", "hubport,id=hp0,hubid=0,netdev=hn0",
            "-netdev", "hubport,id=hp1,hubid=0,netdev=nic",
            "-chardev", H.chardev_server("mirror0", self.mirror0),
            "-chardev", H.chardev_client("compare0", self.graph_addr["primary_in"], reconnect=1),
            "-chardev", H.chardev_client("compare_out", self.graph_addr["outdev"], reconnect=1),
            "-object", "filter-mirror,id=m0,netdev=hn0,queue=tx,outdev=mirror0" + vnet_opt,
            "-object", "filter-redirector,id=redire0," + self.redire0,
            "-object", "filter-redirector,id=redire1,netdev=hn0,queue=rx,outdev=compare0" + vnet_opt]).start()
        if qemu_first:
            self.start_graph()
        self.secondary_host = H.Peer.connect(self.mirror0, vnet=vnet)
        self.c.check(self.qemu.chardevs_connected(["mirror0", "compare0", "compare_out"]) and self.graph_connected(),
                     "%s: QEMU's chardevs connected (mirror0 to the test, compare0/compare_out to colo-graph)" % self.tag)

    def graph_connected(self):
        """colo-graph accepted every peer: a frame released before outdev
        accepted QEMU would be dropped (as QEMU drops it without a client)."""
        return all(self.graph.wait_connected(n) for n in ("primary_in", "secondary_in", "outdev", "notify_dev"))

    def start_graph(self):
        self.runs += 1
        sets = dict(self.graph_addr, compare_timeout=COMPARE_TIMEOUT_MS, expired_scan_cycle=SCAN_MS,
                    vnet_hdr_support="on" if self.vnet else "off", events=self.events_path)
        self.graph = H.ColoGraph(self.binary, self.wd, "%s-graph%d" % (self.tag, self.runs),
                                 os.path.join(self.src, "graphs", "colo-compare.yaml"), sets,
                                 graph_file=True).start(listening=4)
        self.secondary_in = H.Peer.connect(self.graph_addr["secondary_in"])
        self.colo_frame = H.Peer.connect(self.graph_addr["notify_dev"])

    def stop_graph(self):
        self.secondary_in.close()
        self.colo_frame.close()
        self.graph.stop()

    # the four roles the test plays
    def client_sends(self, frame):
        self.client.send(frame, self.qa)

    def guest_sends(self, frame):
        self.guest.send(frame, self.qb)

    def secondary_sends(self, frame):
        self.secondary_in.send(frame, 0 if self.vnet else None)

    def mirrored(self, frames):
        return [(f, 0) for f in frames] if self.vnet else frames

    def checkpoint(self):
        """The COLO frame: a checkpoint happened, flush (COLO_CHECKPOINT;
        inbound notify records carry VNET_LEN when vnet is on)."""
        self.colo_frame.send(b"COLO_CHECKPOINT", 0 if self.vnet else None)

    def stop(self):
        self.secondary_host.close()
        self.stop_graph()
        self.qemu.terminate()
        self.client.close()
        self.guest.close()


def scenario(rig, c):
    tag = rig.tag

    H.section("%s: client -> guest is mirrored" % tag)
    request = H.tcp(b"GET / HTTP/1.1\r\n\r\n", seq=1, ack=5001, sport=40000, dport=80, **TO_GUEST)
    rig.client_sends(request)
    c.equal(rig.secondary_host.expect(1), rig.mirrored([request]),
            "%s: m0 wrote the request to mirror0 as one record%s" % (tag, " with VNET_LEN 0" if rig.vnet else ""))
    c.equal(rig.guest.expect(1), [request], "%s: ... and the guest still received it" % tag)

    H.section("%s: guest -> client waits for the secondary" % tag)
    replies = [
        H.tcp(b"HTTP/1.1 200 OK\r\n\r\n", seq=5001, ack=19, sport=80, dport=40000),
        H.udp(b"dns answer", sport=53, dport=33333),
        H.icmp_echo(b"pong" * 8, request=False),
        H.ip_proto(253, b"other protocol"),
        H.udp(bytes(range(256)) * 35, sport=5002),                # a 9002-byte jumbo frame
        H.udp(b"Z" * 60000, sport=5003),                          # 60042 bytes, in one UDP datagram
    ]
    for f in replies:
        rig.guest_sends(f)
        c.equal(rig.client.quiet(0.15), [], "%s: %d-byte primary held by colo-graph's comparator" % (tag, len(f)))
        rig.secondary_sends(f)
        c.equal(rig.client.expect(1), [f], "%s: ... released to the client byte-identical once the secondary matched"
                % tag)

    H.section("%s: TCP segmented differently by the two guests" % tag)
    data = bytes((i * 7) & 0xFF for i in range(1024))
    rig.guest_sends(H.tcp(data, seq=6001, ack=19, sport=80, dport=40000))
    rig.secondary_sends(H.tcp(data[:512], seq=6001, ack=19, sport=80, dport=40000))
    c.equal(rig.client.quiet(0.15), [], "%s: 1x1024 primary held after the first 512 secondary bytes" % tag)
    rig.secondary_sends(H.tcp(data[512:], seq=6513, ack=19, sport=80, dport=40000))
    c.equal(rig.client.expect(1), [H.tcp(data, seq=6001, ack=19, sport=80, dport=40000)],
            "%s: ... released after the second 512 (2x512 secondary)" % tag)

    H.section("%s: unsupported frames pass at once" % tag)
    arp = H.arp_request()
    rig.guest_sends(arp)
    c.equal(rig.client.expect(1), [arp], "%s: the guest's ARP request passes uncompared" % tag)

    H.section("%s: a mismatch asks for a checkpoint; the flush releases the primary" % tag)
    primary = H.udp(b"primary says A", sport=7000)
    rig.guest_sends(primary)
    rig.secondary_sends(H.udp(b"primary says B", sport=7000))
    c.equal(rig.colo_frame.expect(1), [b"DO_CHECKPOINT"], "%s: colo-graph sent DO_CHECKPOINT on notify_dev" % tag)
    c.equal(rig.client.quiet(0.15), [], "%s: the primary is held until the checkpoint" % tag)
    rig.checkpoint()
    c.equal(rig.client.expect(1), [primary], "%s: COLO_CHECKPOINT flushed it to the client" % tag)

    H.section("%s: a primary alone times out" % tag)
    lonely = H.udp(b"no twin", sport=7001)
    t0 = time.monotonic()
    rig.guest_sends(lonely)
    c.equal(rig.colo_frame.expect(1, timeout=5), [b"DO_CHECKPOINT"],
            "%s: DO_CHECKPOINT after compare_timeout (%d ms; took %d ms)"
            % (tag, COMPARE_TIMEOUT_MS, (time.monotonic() - t0) * 1000))
    rig.checkpoint()
    c.equal(rig.client.expect(1), [lonely], "%s: flushed to the client" % tag)

    H.section("%s: the handshake of the Xen notify protocol" % tag)
    rig.colo_frame.send(b"COLO_USERSPACE_PROXY_INIT", 0 if rig.vnet else None)
    c.equal(rig.colo_frame.expect(1), [b"COLO_COMPARE_GET_XEN_INIT"], "%s: answered COLO_COMPARE_GET_XEN_INIT" % tag)
    return replies


def body(binary, src, wd, c):
    for vnet in (False, True):
        rig = Rig(binary, src, wd, c, vnet)
        replies = scenario(rig, c)
        rig.stop_graph()
        g = rig.graph
        c.check(g.counter("compare", "released_matched") == len(replies) + 1
                and g.counter("compare", "released_flush") == 2
                and g.counter("compare", "released_unsupported") == 1,
                "%s: the comparator counted %d matched, 2 flushed, 1 unsupported"
                % (rig.tag, len(replies) + 1), str(g.stats.get("compare")))
        with open(rig.events_path) as f:
            events = [json.loads(line) for line in f if line.strip()]
        reasons = [e.get("reason") for e in events if e.get("event") == "checkpoint_request"]
        c.equal(reasons, ["mismatch", "timeout"], "%s: the event log has the two checkpoint requests" % rig.tag)

        H.section("%s: colo-graph restarts under running QEMU filters" % rig.tag)
        rig.start_graph()
        c.check(rig.qemu.chardevs_connected(["compare0", "compare_out"], timeout=5) and rig.graph_connected(),
                "%s: QEMU's client chardevs reconnected" % rig.tag)
        stuck = H.udp(b"released while redire0 is gone", sport=7002)
        rig.guest_sends(stuck)
        rig.secondary_sends(stuck)
        lost = rig.client.quiet(1.0) == []
        print("observed: after colo-graph restarted, QEMU's redire0 (an indev) %s"
              % ("reads nothing more: it dropped its handler on the disconnect" if lost else "still injects"))
        # The recipe: re-create redire0 in front of redire1 (the list order is load-bearing).
        rig.qemu.qmp.cmd("object-del", id="redire0")
        props = dict(kv.split("=", 1) for kv in rig.redire0.split(","))
        props = {k: (v == "on" if k == "vnet_hdr_support" else v) for k, v in props.items()}
        rig.qemu.qmp.cmd("object-add", **{"qom-type": "filter-redirector", "id": "redire0",
                                          "position": "id=redire1", "insert": "before"}, **props)
        after = H.udp(b"released after redire0 was re-created", sport=7003)
        rig.guest_sends(after)
        rig.secondary_sends(after)
        want = [stuck, after] if lost else [after]
        c.equal(rig.client.expect(len(want)), want,
                "%s: redire0 re-created over QMP in front of redire1: releases reach the client again%s"
                % (rig.tag, ", the one released meanwhile first" if lost else ""))
        c.equal(rig.client.quiet(0.3), [], "%s: ... and do not loop back into redire1" % rig.tag)
        rig.stop()


if __name__ == "__main__":
    sys.exit(H.run_test(body))
