#!/usr/bin/python3
"""colo-graph's sockets and QEMU 7.2's chardevs over TLS, both ways round
(issue #18), with certificates the test makes (tests/io/make_tls_creds.sh):

A. colo-graph serves, QEMU's colo-compare connects: its primary_in,
   secondary_in and outdev are client chardevs with `tls-creds` (a
   tls-creds-x509 object, endpoint=client, verify-peer=on: QEMU checks
   colo-graph's certificate against 127.0.0.1 and shows its own).

       test -> feed -> mirror.out    -> pin (TLS server) ==> QEMU primary_in
                       mirror.mirror -> sin (TLS server) ==> QEMU secondary_in
       QEMU outdev ==> out (TLS server) -> released -> test

   Every frame has an identical twin, so QEMU must release it, and what comes
   back must be byte-identical: the records went into QEMU and out of it
   inside TLS. A second QEMU whose client certificate comes from another CA
   is refused by a colo-graph TLS server (logged, counted in tls_refused).

B. QEMU serves, colo-graph connects: filter-mirror's outdev and
   filter-redirector's indev are server chardevs with `tls-creds`
   (endpoint=server, verify-peer=on: QEMU demands colo-graph's client
   certificate), colo-graph's sockets are TLS clients (checking QEMU's
   certificate against 127.0.0.1).

       client A -> hn0 (tx) -> filter-mirror ==> mirror0 (TLS client) -> got -> test
       test -> feed -> inject (TLS client) ==> filter-redirector indev -> hn0 -> client A

   Then a colo-graph TLS client meets a QEMU server chardev without TLS: the
   handshake fails, is logged and counted, and the client keeps retrying.
"""
import os
import shutil
import socket
import subprocess
import sys

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H   # noqa: E402

SERVING = """\
description: colo-graph serves QEMU's colo-compare over TLS.
variables: { feed: unix:/nonexistent, released: unix:/nonexistent, pin: "", sin: "", out: "", probe: "", creds: "" }
nodes:
  feed:     { type: socket, address: "${feed}" }
  mirror:   { type: mirror }
  pin:      { type: socket, address: "${pin}", tls_creds_dir: "${creds}" }
  sin:      { type: socket, address: "${sin}", tls_creds_dir: "${creds}" }
  out:      { type: socket, address: "${out}", tls_creds_dir: "${creds}" }
  released: { type: socket, address: "${released}" }
  probe:    { type: socket, address: "${probe}", tls_creds_dir: "${creds}" }
links:
  - feed.out -> mirror.in
  - mirror.out -> pin.in
  - mirror.mirror -> sin.in
  - out.out -> released.in
"""

CONNECTING = """\
description: colo-graph connects to QEMU's filter-mirror and filter-redirector over TLS.
variables: { got: unix:/nonexistent, feed: unix:/nonexistent, mirror0: "", indev: "", plain: "", creds: "" }
nodes:
  mirror0: { type: socket, mode: client, reconnect_ms: 50, address: "${mirror0}", tls_creds_dir: "${creds}" }
  got:     { type: socket, address: "${got}" }
  feed:    { type: socket, address: "${feed}" }
  inject:  { type: socket, mode: client, reconnect_ms: 50, address: "${indev}", tls_creds_dir: "${creds}" }
  plain:   { type: socket, mode: client, reconnect_ms: 50, address: "${plain}", tls_creds_dir: "${creds}" }
links:
  - mirror0.out -> got.in
  - feed.out -> inject.in
"""


def tcp():
    return "tcp:127.0.0.1:%d" % H.free_port()


def tls_object(oid, creds, endpoint):
    return "tls-creds-x509,id=%s,dir=%s,endpoint=%s,verify-peer=on" % (oid, creds, endpoint)


def frames():
    """Compared frames, each in a flow of its own (QEMU matches non-TCP
    newest-first within a flow), and a TCP stream that must stay in order."""
    single = [
        H.udp(b"u"),
        H.udp(b"A" * 1472, sport=5001),
        H.udp(bytes(range(256)) * 35, sport=5002),                # a jumbo frame: several TLS records
        H.raw_ethernet(H.MAX_RECORD, fill=5),                     # the largest record QEMU takes
        H.udp(b"B" * (65535 - 28), sport=5003),                   # the largest IPv4 datagram
        H.icmp_echo(b"ping" * 14, ident=9),
        H.tcp(b"HTTP/1.1 200 OK\r\n\r\nhello", seq=5000, ack=77, sport=80, dport=40001),
    ]
    stream = [H.tcp(b"segment %03d " % i * 8, seq=100000 + i * 96, ack=1, sport=8080, dport=50000)
              for i in range(200)]
    return single, stream


def serving(binary, wd, c, creds):
    H.section("A: colo-graph is the TLS server, QEMU's colo-compare the TLS client")
    addr = dict(pin=tcp(), sin=tcp(), out=tcp(), probe=tcp(), feed=H.unix(wd, "a-feed"),
                released=H.unix(wd, "a-released"))
    graph = H.ColoGraph(binary, wd, "a-graph", SERVING, dict(addr, creds=creds["good"])).start(listening=6)

    def client(cid, address):
        return H.chardev_client(cid, address, reconnect=1) + ",tls-creds=tls0"
    qemu = H.Qemu(wd, "a-qemu", [
        "-object", tls_object("tls0", creds["good"], "client"),
        "-object", "iothread,id=iothread1",
        "-chardev", client("pin", addr["pin"]),
        "-chardev", client("sin", addr["sin"]),
        "-chardev", client("out", addr["out"]),
        "-object", "colo-compare,id=comp0,primary_in=pin,secondary_in=sin,outdev=out,iothread=iothread1"]).start()
    feed = H.Peer.connect(addr["feed"])
    released = H.Peer.connect(addr["released"])
    ok = all(graph.wait_connected(n) for n in ("pin", "sin", "out", "feed", "released"))
    ok = qemu.chardevs_connected(["pin", "sin", "out"]) and ok
    c.check(ok, "A: QEMU's TLS client chardevs connected to colo-graph's TLS servers")
    c.check(graph.wait_log("pin: %s: peer connected ((TLS1.3)" % addr["pin"]),
            "A: colo-graph logged the TLS session (TLS 1.3, QEMU's default priority NORMAL)")

    single, stream = frames()
    for f in single:
        feed.send(f)
        got = released.expect(1)
        c.equal(got, [f], "A: %d-byte frame compared by QEMU and released byte-identical, through TLS both ways"
                % len(f))
    feed.send_raw(b"".join(H.record(f) for f in stream))
    got = released.expect(len(stream), timeout=10)
    c.check(got == stream, "A: %d TCP segments in one burst come back in order, byte-identical" % len(stream),
            "got %d of %d" % (len(got), len(stream)))

    H.section("A: a QEMU client whose certificate comes from another CA is refused")
    stranger = H.Qemu(wd, "a-stranger", [
        "-object", "tls-creds-x509,id=tls1,dir=%s,endpoint=client,verify-peer=off" % creds["other-ca"],
        "-chardev", H.chardev_client("probe", addr["probe"], reconnect=1) + ",tls-creds=tls1"]).start()
    c.check(graph.wait_log("probe: %s: TLS handshake with 127.0.0.1:" % addr["probe"]) and
            graph.wait_log("failed: the peer's certificate is not signed by our ca-cert.pem (another CA?); "
                           "connection closed"),
            "A: colo-graph logged the refusal with the endpoint, QEMU's address and the reason")
    stranger.terminate()
    # The compare path still works meanwhile.
    late = H.udp(b"after the stranger", sport=5009)
    feed.send(late)
    c.equal(released.expect(1), [late], "A: the other endpoints kept serving")

    feed.close()
    released.close()
    graph.stop()
    qemu.terminate()
    n = len(single) + len(stream) + 1
    c.check(graph.counter("pin", "frames_out") == n and graph.counter("sin", "frames_out") == n and
            graph.counter("out", "frames_in") == n,
            "A: colo-graph's counters agree: %d frames to each of QEMU's inputs over TLS, %d back" % (n, n),
            str(graph.stats))
    c.check(graph.counter("probe", "tls_refused") >= 1 and graph.counter("probe", "connections") == 0,
            "A: the refusal is counted (probe.tls_refused %d), and it never counted as a peer"
            % graph.counter("probe", "tls_refused"), str(graph.stats.get("probe")))
    c.check(sum(graph.counter(n, "tls_refused") for n in ("pin", "sin", "out")) == 0,
            "A: no refusal on the compare channels")


def connecting(binary, wd, c, creds):
    H.section("B: QEMU's filter chardevs are TLS servers, colo-graph the TLS client")
    client, guest = H.Udp(), H.Udp()          # A (behind hn0) and B (the guest's NIC)
    qa, qb = H.free_port(socket.SOCK_DGRAM), H.free_port(socket.SOCK_DGRAM)
    mirror0, indev, plain = tcp(), tcp(), tcp()
    qemu = H.Qemu(wd, "b-qemu", [
        "-object", tls_object("tls0", creds["good"], "server"),
        "-netdev", "socket,id=hn0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % (client.port, qa),
        "-netdev", "socket,id=nic,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % (guest.port, qb),
        "-netdev", "hubport,id=hp0,hubid=0,netdev=hn0",
        "-netdev", "hubport,id=hp1,hubid=0,netdev=nic",
        "-chardev", H.chardev_server("mirror0", mirror0) + ",tls-creds=tls0",
        "-chardev", H.chardev_server("indev0", indev) + ",tls-creds=tls0",
        "-chardev", H.chardev_server("plain0", plain),
        "-object", "filter-mirror,id=m0,netdev=hn0,queue=tx,outdev=mirror0",
        "-object", "filter-redirector,id=r0,netdev=hn0,queue=rx,indev=indev0",
        "-object", "filter-redirector,id=r1,netdev=nic,queue=rx,indev=plain0"]).start()
    addr = dict(mirror0=mirror0, indev=indev, plain=plain, got=H.unix(wd, "b-got"), feed=H.unix(wd, "b-feed"))
    graph = H.ColoGraph(binary, wd, "b-graph", CONNECTING, dict(addr, creds=creds["good"])).start(listening=2)
    got = H.Peer.connect(addr["got"])
    feed = H.Peer.connect(addr["feed"])
    ok = all(graph.wait_connected(n) for n in ("mirror0", "inject", "got", "feed"))
    ok = qemu.chardevs_connected(["mirror0", "indev0"]) and ok
    c.check(ok, "B: colo-graph's TLS clients connected to QEMU's TLS server chardevs (QEMU verified our "
            "client certificate, we checked QEMU's against 127.0.0.1)")
    qemu.sync()

    requests = [H.tcp(b"GET /%d HTTP/1.1\r\n\r\n" % i, seq=1 + 100 * i, ack=5001, sport=40000, dport=80,
                      src=H.IP_CLIENT, dst=H.IP_GUEST, src_mac=H.MAC_CLIENT, dst_mac=H.MAC_GUEST)
                for i in range(20)] + [H.udp(b"M" * 9000, sport=6000, src=H.IP_CLIENT, dst=H.IP_GUEST)]
    for f in requests:
        client.send(f, qa)
    c.equal(got.expect(len(requests)), requests,
            "B: filter-mirror's copies of %d client frames arrive through TLS, in order, byte-identical"
            % len(requests))
    c.equal(guest.expect(len(requests)), requests, "B: ... and the guest still received them")

    injected = [H.udp(b"injected %d" % i, sport=7000 + i) for i in range(10)] + [H.udp(b"J" * 60000, sport=7100)]
    for f in injected:
        feed.send(f)
    c.equal(client.expect(len(injected)), injected,
            "B: %d frames written by colo-graph through TLS into filter-redirector's indev leave hn0, "
            "byte-identical" % len(injected))

    H.section("B: a QEMU server chardev without TLS")
    # QEMU reads our ClientHello as a record of some 369 MB, stops reading
    # (net/filter-mirror.c redirector_chr_read()) and never answers: the
    # handshake times out.
    c.check(graph.wait_log("plain: %s: TLS handshake with the server failed: no handshake within 5000 ms, "
                           "retrying" % plain, timeout=8),
            "B: colo-graph's TLS client refuses a plaintext server, logged with the endpoint")
    feed.close()
    got.close()
    graph.stop()
    qemu.terminate()
    client.close()
    guest.close()
    c.check(graph.counter("plain", "tls_refused") >= 1 and graph.counter("plain", "connections") == 0,
            "B: ... counted (plain.tls_refused %d), never connected"
            % graph.counter("plain", "tls_refused"), str(graph.stats.get("plain")))
    c.check(graph.counter("mirror0", "tls_refused") + graph.counter("inject", "tls_refused") == 0,
            "B: no refusal on the filter channels")


def body(binary, src, wd, c):
    script = os.path.join(src, "tests", "io", "make_tls_creds.sh")
    root = os.path.join(wd, "creds")
    subprocess.run([script, root], check=True)
    creds = {k: os.path.join(root, k) for k in ("good", "other-ca", "expired", "wrong-name")}
    serving(binary, wd, c, creds)
    connecting(binary, wd, c, creds)


if __name__ == "__main__":
    if not shutil.which("certtool"):
        print("SKIP: certtool not installed (gnutls-bin; tools/setup-debian.sh installs it)")
        sys.exit(H.SKIP)
    sys.exit(H.run_test(body))
