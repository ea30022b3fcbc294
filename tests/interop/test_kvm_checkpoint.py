#!/usr/bin/python3
"""KVM checkpoint signalling (docs/deployment.md, "KVM checkpoint signalling"):
the `qmp` nodes of graphs/primary.yaml and graphs/secondary.yaml against QEMU
7.2's QMP.

KVM COLO has no chardev for checkpoints. On the primary, the qmp node turns
the comparator's checkpoint requests into `migrate-set-parameters
x-checkpoint-delay` (in COLO state this checkpoints at once; with no guest the
test reads the parameter back over its own monitor) and every RESUME event
(the end of a checkpoint; here `stop` + `cont`) into a flush. On the
secondary, RESUME (the VM resumes after loading a checkpoint) resets the
rewriter's offsets.

The shipped graphs run with their TAP nodes swapped for socket servers at the
same variables, so their own wiring is what is tested. The test plays the
guests, the client and the other host.
"""
import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H   # noqa: E402

QEMU_DEFAULT_DELAY_MS = 20000       # x-checkpoint-delay at start; also what the qmp node writes
PRESET_DELAY_MS = 4321              # set by the test first, so that the node's write shows
COMPARE_TIMEOUT_MS = 1000
TO_GUEST = dict(src=H.IP_CLIENT, dst=H.IP_GUEST, src_mac=H.MAC_CLIENT, dst_mac=H.MAC_GUEST)
CLIENT_PORT, GUEST_PORT = 40000, 80
CLIENT_ISN, PVM_ISN, SVM_ISN = 7000, 1000, 50000


def shipped_graph(src, name, extra_node=""):
    """graphs/NAME.yaml with every `tap` node replaced by a socket server at
    the address in the tap's device variable (and `extra_node` added). The
    test's peers speak records without VNET_LEN (a QEMU peer configured
    without vnet_hdr_support), so the graphs run with vnet_hdr_support off."""
    with open(os.path.join(src, "graphs", name + ".yaml")) as f:
        text = f.read()
    text, taps = re.subn(r'\{ type: tap, device: "\$\{(\w+)\}".*\}', r'{ type: socket, address: "${\1}" }', text)
    if not taps:
        raise RuntimeError("graphs/%s.yaml: no tap node to replace" % name)
    if extra_node:
        text = text.replace("\nnodes:\n", "\nnodes:\n  %s\n" % extra_node, 1)
    return text, taps


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def lines_with(path, text):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line for line in f if text in line]


def checkpoint_delay(qemu):
    return qemu.qmp.cmd("query-migrate-parameters").get("x-checkpoint-delay")


def primary(binary, src, wd, c):
    H.section("primary: graphs/primary.yaml, its kvm node on QEMU's extra QMP monitor")
    kvm_qmp = os.path.join(wd, "pvm-qmp-colo.sock")
    # -S: the VM starts paused, so the test sees the RESUME of the first start.
    qemu = H.Qemu(wd, "pvm-qemu", ["-S", "-qmp", "unix:%s,server=on,wait=off" % kvm_qmp]).start()
    qemu.qmp.cmd("migrate-set-parameters", **{"x-checkpoint-delay": PRESET_DELAY_MS})
    addr = {k: H.unix(wd, "pvm-" + k) for k in ("client_dev", "guest_dev", "mirror_addr", "compare_addr", "notify_addr")}
    events = os.path.join(wd, "pvm-events.jsonl")
    text, taps = shipped_graph(src, "primary")
    c.equal(taps, 2, "primary.yaml: the client and guest TAPs became sockets")
    graph = H.ColoGraph(binary, wd, "pvm-graph", text, dict(
        addr, qmp_path=kvm_qmp, events=events, compare_timeout=COMPARE_TIMEOUT_MS, expired_scan_cycle=100,
        vnet_hdr_support="off")).start(listening=5)
    client, guest = H.Peer.connect(addr["client_dev"]), H.Peer.connect(addr["guest_dev"])
    c.check(graph.wait_log("qmp %s: connected" % kvm_qmp), "the kvm node connected to QEMU's QMP")

    H.section("primary: the first start's RESUME flushes an empty comparator")
    qemu.qmp.cmd("cont")
    c.check(wait_for(lambda: lines_with(events, '"checkpoint_done"')), "RESUME at first start -> checkpoint_done")
    c.check(all('"released":0' in line for line in lines_with(events, '"checkpoint_done"')), "  ... releasing nothing",
            str(lines_with(events, '"checkpoint_done"')))
    c.equal(client.quiet(0.2), [], "nothing reached the client")

    H.section("primary: held without a twin -> timeout request -> x-checkpoint-delay")
    held = H.udp(b"the primary guest's answer", sport=9000)
    guest.send(held)
    c.check(wait_for(lambda: checkpoint_delay(qemu) == QEMU_DEFAULT_DELAY_MS, COMPARE_TIMEOUT_MS / 1000 + 5),
            "the request set x-checkpoint-delay=%d (in COLO state: a checkpoint now)" % QEMU_DEFAULT_DELAY_MS,
            "x-checkpoint-delay is %s" % checkpoint_delay(qemu))
    c.check(all('"reason":"timeout"' in line for line in lines_with(events, '"checkpoint_request"')),
            "the request was the comparator's timeout", str(lines_with(events, '"checkpoint_request"')))
    c.equal(client.quiet(0.2), [], "the primary stays held until the checkpoint is done")

    H.section("primary: STOP/RESUME brackets the checkpoint -> flush")
    qemu.qmp.cmd("stop")
    c.equal(client.quiet(0.2), [], "nothing released at STOP")
    qemu.qmp.cmd("cont")
    c.equal(client.expect(1), [held], "RESUME released the held primary, byte-identical")

    client.close()
    guest.close()
    graph.stop()
    requests = graph.counter("compare", "checkpoint_requests")
    c.check(requests >= 1 and graph.counter("kvm", "requests_sent") == requests
            and graph.counter("kvm", "requests_failed") == 0 and graph.counter("kvm", "qmp_errors") == 0,
            "every checkpoint request went out as migrate-set-parameters, without error",
            str({k: graph.stats.get(k) for k in ("compare", "kvm")}))
    c.check(graph.counter("kvm", "resumes") == 2 and graph.counter("compare", "checkpoints_done") == 2,
            "two RESUMEs (first start, checkpoint), two flushes", str({k: graph.stats.get(k) for k in ("compare", "kvm")}))
    qemu.terminate()


def serve(address):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(H.path_of(address))
    server.listen(1)
    server.settimeout(10.0)
    return server


def accept(server):
    conn, _ = server.accept()
    server.close()
    return H.Peer(conn)


def secondary(binary, src, wd, c):
    H.section("secondary: graphs/secondary.yaml, its kvm node on QEMU's extra QMP monitor")
    kvm_qmp = os.path.join(wd, "svm-qmp-colo.sock")
    qemu = H.Qemu(wd, "svm-qemu", ["-qmp", "unix:%s,server=on,wait=off" % kvm_qmp]).start()
    addr = {k: H.unix(wd, "svm-" + k) for k in ("guest_dev", "client_dev", "mirror_addr", "compare_addr")}
    resumes = os.path.join(wd, "svm-resumes.jsonl")
    # An extra event log on kvm.control tells the test when a RESUME went out.
    text, taps = shipped_graph(src, "secondary", 'resumes: { type: event-log, file: "%s" }' % resumes)
    text += "  - kvm.control -> resumes\n"
    c.equal(taps, 2, "secondary.yaml: the guest and client TAPs became sockets")
    mirror_server, compare_server = serve(addr["mirror_addr"]), serve(addr["compare_addr"])
    graph = H.ColoGraph(binary, wd, "svm-graph", text, dict(addr, qmp_path=kvm_qmp, reconnect_ms=50,
                                                            vnet_hdr_support="off")).start(listening=1)
    primary_host, compare = accept(mirror_server), accept(compare_server)
    guest = H.Peer.connect(addr["guest_dev"])
    c.check(graph.wait_connected("guest") and graph.wait_log("qmp %s: connected" % kvm_qmp),
            "the guest and the kvm node connected")

    H.section("secondary: a handshake teaches the rewriter the offset SVM - PVM")
    syn = H.tcp(seq=CLIENT_ISN, ack=0, flags=H.TCP_SYN, sport=CLIENT_PORT, dport=GUEST_PORT, **TO_GUEST)
    primary_host.send(syn)
    c.equal(guest.expect(1), [syn], "the client's SYN reaches the secondary guest untouched")
    synack = H.tcp(seq=SVM_ISN, ack=CLIENT_ISN + 1, flags=H.TCP_SYN | H.TCP_ACK, sport=GUEST_PORT, dport=CLIENT_PORT)
    guest.send(synack)
    c.equal(compare.expect(1), [synack], "the secondary's SYN/ACK goes to the comparator untouched")
    from_client = dict(seq=CLIENT_ISN + 1, flags=H.TCP_ACK, sport=CLIENT_PORT, dport=GUEST_PORT, **TO_GUEST)
    primary_host.send(H.tcp(ack=PVM_ISN + 1, **from_client))
    c.equal(guest.expect(1), [H.tcp(ack=SVM_ISN + 1, **from_client)], "the client's ACK reaches the guest in SVM space")
    from_guest = dict(ack=CLIENT_ISN + 1, sport=GUEST_PORT, dport=CLIENT_PORT)
    guest.send(H.tcp(b"hello", seq=SVM_ISN + 1, **from_guest))
    c.equal(compare.expect(1), [H.tcp(b"hello", seq=PVM_ISN + 1, **from_guest)], "the guest's data leaves in PVM space")

    H.section("secondary: RESUME (a checkpoint was loaded) -> offsets 0")
    qemu.qmp.cmd("stop")
    qemu.qmp.cmd("cont")
    c.check(wait_for(lambda: lines_with(resumes, '"command":"checkpoint"')), "RESUME -> a checkpoint command")
    time.sleep(0.2)     # the rewriter is another node: let it take the same command
    segment = H.tcp(b"world", seq=SVM_ISN + 6, **from_guest)
    guest.send(segment)
    c.equal(compare.expect(1), [segment], "the next segment from the guest passes untranslated")
    client_ack = H.tcp(ack=SVM_ISN + 11, **from_client)
    primary_host.send(client_ack)
    c.equal(guest.expect(1), [client_ack], "the client's next ACK passes untranslated")

    for p in (primary_host, compare, guest):
        p.close()
    graph.stop()
    c.check(graph.counter("kvm", "resumes") == 1 and graph.counter("rewriter", "checkpoints") == 1
            and graph.counter("rewriter", "offsets_learned") == 1,
            "one offset learned, one RESUME, one rewriter checkpoint",
            str({k: graph.stats.get(k) for k in ("kvm", "rewriter")}))
    qemu.terminate()


def body(binary, src, wd, c):
    primary(binary, src, wd, c)
    secondary(binary, src, wd, c)


if __name__ == "__main__":
    sys.exit(H.run_test(body))
