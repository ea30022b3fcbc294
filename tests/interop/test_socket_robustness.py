#!/usr/bin/python3
"""The chardev robustness cases (docs/reliability.md, "Bad input"), where QEMU
7.2 fails (net/net.c net_fill_rstate(), net/filter-mirror.c
redirector_chr_read() and redirector_chr_event()),
against a colo-graph socket node (server) feeding a redirector's indev:

  * a zero-length record is ignored, alone or followed by a record in the
    same write (QEMU: colo-compare aborts on `assert(data)`);
  * a 69632-byte record is accepted, byte for byte;
  * a 69633-byte record closes that connection with a log line, and the
    endpoint keeps listening (QEMU: stops reading that chardev for good);
  * a peer dying in the middle of a LEN, a VNET_LEN or a payload leaves no
    parser state behind: the next peer's records parse cleanly (QEMU: the
    next stream is misparsed);
  * the redirector's indev keeps injecting after each reconnect (QEMU's
    filter-redirector removes its indev handler on the first close);
  * one peer at a time: a second client waits in the backlog until the
    first leaves, as with a QEMU server chardev.

Everything runs twice, without and with vnet_hdr_support. No QEMU needed.
"""
import os
import sys

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H   # noqa: E402

GRAPH = """\
description: A chardev socket under test; its records are injected by a redirector and read back on `seen`.
variables: { chardev: "unix:/nonexistent", seen: "unix:/nonexistent", vnet: "off" }
nodes:
  chardev: { type: socket, address: "${chardev}", vnet_hdr_support: "${vnet}" }
  redir:   { type: redirector }
  seen:    { type: socket, address: "${seen}", vnet_hdr_support: "${vnet}" }
links:
  - chardev.out -> redir.indev
  - redir.out -> seen.in
"""


def run(binary, wd, c, vnet):
    tag = "vnet" if vnet else "plain"
    vl = 0 if vnet else None          # VNET_LEN field value, or absent

    def rec(payload, vnet_len=0):
        return H.record(payload, vnet_len if vnet else None)

    def item(payload, vnet_len=0):
        return (payload, vnet_len) if vnet else payload

    addr = {"chardev": H.unix(wd, tag + "-chardev"), "seen": H.unix(wd, tag + "-seen")}
    g = H.ColoGraph(binary, wd, "robust-" + tag, GRAPH, dict(addr, vnet="on" if vnet else "off")).start(listening=2)
    seen = H.Peer.connect(addr["seen"], vnet=vnet)
    peer = H.Peer.connect(addr["chardev"])
    c.check(g.wait_connected("seen") and g.wait_connected("chardev"), "%s: connected" % tag)
    f = [H.udp(b"frame %d" % i, sport=1000 + i) for i in range(10)]

    H.section("%s: zero-length records" % tag)
    peer.send_raw(rec(b""))
    c.equal(seen.quiet(0.3), [], "%s: a zero-length record alone delivers nothing" % tag)
    peer.send_raw(rec(f[0]))
    c.equal(seen.expect(1), [item(f[0])], "%s: the next record parses" % tag)
    peer.send_raw(rec(b"") + rec(f[1]))     # QEMU delivers the empty one here, and aborts
    c.equal(seen.expect(2, timeout=1.0), [item(f[1])], "%s: zero-length then a record in one write: only the record" % tag)

    H.section("%s: the 69632-byte limit" % tag)
    biggest = H.raw_ethernet(H.MAX_RECORD, fill=7)
    peer.send_raw(rec(biggest))
    got = seen.expect(1)
    c.check(got == [item(biggest)], "%s: a %d-byte record is accepted byte for byte" % (tag, H.MAX_RECORD),
            "got %s" % H.show(got))
    if vnet:
        hdr_frame = bytes(12) + f[2]
        peer.send_raw(rec(hdr_frame, 12))
        c.equal(seen.expect(1), [item(hdr_frame, 12)], "%s: VNET_LEN 12 passes through" % tag)
    try:
        peer.send_raw(H.record(bytes(H.MAX_RECORD + 1), vl))
    except OSError:
        pass                               # colo-graph may close while we are still writing
    c.check(peer.wait_closed(), "%s: a %d-byte record closes the connection" % (tag, H.MAX_RECORD + 1))
    c.check(g.wait_log("oversized record (%d bytes > %d), closing connection" % (H.MAX_RECORD + 1, H.MAX_RECORD)),
            "%s: ... with a log line naming the size" % tag)
    c.equal(seen.quiet(0.2), [], "%s: ... and delivers nothing of it" % tag)
    peer = H.Peer.connect(addr["chardev"])
    peer.send_raw(rec(f[3]))
    c.equal(seen.expect(1), [item(f[3])], "%s: the endpoint kept listening: a new peer's record arrives" % tag)

    H.section("%s: peers dying mid-record" % tag)
    cuts = [("in LEN", rec(f[9])[:2]), ("in the payload", rec(f[9])[:(8 if vnet else 4) + 20])]
    if vnet:
        cuts.insert(1, ("in VNET_LEN", rec(f[9])[:6]))
    for i, (where, partial) in enumerate(cuts):
        peer.send_raw(partial)
        peer.close()
        peer = H.Peer.connect(addr["chardev"])
        peer.send_raw(rec(f[4 + i]))
        c.equal(seen.expect(2, timeout=1.0), [item(f[4 + i])],
                "%s: a peer died %s; the next peer's record parses cleanly (and the redirector injects it)"
                % (tag, where))

    H.section("%s: one peer at a time" % tag)
    waiting = H.Peer.connect(addr["chardev"])   # queued in the listen backlog
    waiting.send_raw(rec(f[8]))
    c.equal(seen.quiet(0.3), [], "%s: a second client is not served while the first is connected" % tag)
    peer.close()
    c.equal(seen.expect(1), [item(f[8])], "%s: ... and is served once the first leaves" % tag)
    waiting.close()
    seen.close()

    g.stop()
    want = {"drop_zero_length": 2, "drop_oversize": 1, "mid_record_disconnects": len(cuts),
            "frames_in": 5 + len(cuts) + (1 if vnet else 0)}
    got = {k: g.counter("chardev", k) for k in want}
    c.equal(got, want, "%s: the chardev's counters" % tag)


def body(binary, src, wd, c):
    run(binary, wd, c, vnet=False)
    run(binary, wd, c, vnet=True)


if __name__ == "__main__":
    sys.exit(H.run_test(body, needs_qemu=False))
