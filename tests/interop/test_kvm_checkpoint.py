#!/usr/bin/python3
"""KVM checkpoint signalling (reference §8.4, docs/deployment.md): the
colo-kvm-agent printed in docs/deployment.md, run as printed, between
`graphs/colo-compare.yaml` and QEMU 7.2's QMP.

KVM COLO has no chardev for checkpoints, so the agent bridges colo-graph's
notify socket to QMP: a DO_CHECKPOINT becomes `migrate-set-parameters
x-checkpoint-delay` (in COLO state this checkpoints at once; with no guest
the test sees the parameter change), and a RESUME event (the end of a
checkpoint; here `stop` + `cont`) becomes COLO_CHECKPOINT, which flushes the
comparator. Then the agent's one-shot `request` mode, run by an `exec` node
on the comparator's checkpoint requests.
"""
import os
import re
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H   # noqa: E402

REQUEST_DELAY_MS, EXEC_DELAY_MS = 12345, 23456

EXEC_GRAPH = """\
description: A comparator whose checkpoint requests run colo-kvm-agent's request mode (docs/deployment.md).
variables: { primary_in: "unix:/nonexistent", secondary_in: "unix:/nonexistent", agent: /nonexistent,
             qmp: /nonexistent, delay: "20000", vnet: "off" }
nodes:
  primary_in:   { type: socket, address: "${primary_in}", vnet_hdr_support: "${vnet}" }
  secondary_in: { type: socket, address: "${secondary_in}", vnet_hdr_support: "${vnet}" }
  compare:      { type: comparator, vnet_hdr_support: "${vnet}" }
  request:      { type: exec, command: ["${agent}", request, "${qmp}", "${delay}"] }
links:
  - primary_in.out -> compare.primary
  - secondary_in.out -> compare.secondary
  - compare.events -> request
"""


def agent_from_docs(src, wd):
    """The python block of docs/deployment.md that is the agent."""
    with open(os.path.join(src, "docs", "deployment.md")) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    agents = [b for b in blocks if b.startswith("#!/usr/bin/python3\n\"\"\"colo-kvm-agent")]
    if len(agents) != 1:
        raise RuntimeError("docs/deployment.md: expected one colo-kvm-agent block, found %d" % len(agents))
    path = os.path.join(wd, "colo-kvm-agent")
    with open(path, "w") as f:
        f.write(agents[0])
    os.chmod(path, 0o755)
    return path


def checkpoint_delay(qemu):
    return qemu.qmp.cmd("query-migrate-parameters").get("x-checkpoint-delay")


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def run(binary, src, wd, c, agent, vnet):
    tag = "vnet" if vnet else "plain"
    addr = {k: H.unix(wd, "%s-%s" % (tag, k)) for k in ("primary_in", "secondary_in", "outdev", "notify_dev")}
    agent_qmp = os.path.join(wd, tag + "-qmp-colo.sock")
    request_qmp = os.path.join(wd, tag + "-qmp-request.sock")
    qemu = H.Qemu(wd, tag + "-qemu", ["-qmp", "unix:%s,server=on,wait=off" % agent_qmp,
                                      "-qmp", "unix:%s,server=on,wait=off" % request_qmp]).start()
    events = os.path.join(wd, tag + "-events.jsonl")
    graph = H.ColoGraph(binary, wd, tag + "-graph", os.path.join(src, "graphs", "colo-compare.yaml"),
                        dict(addr, events=events, vnet_hdr_support="on" if vnet else "off", compare_timeout=60000),
                        graph_file=True).start(listening=4)
    bridge = H.Process([sys.executable, agent, H.path_of(addr["notify_dev"]), agent_qmp, str(REQUEST_DELAY_MS)]
                       + (["vnet"] if vnet else []), wd, tag + "-agent").start()
    vl = 0 if vnet else None
    outdev = H.Peer.connect(addr["outdev"], vnet=vnet)
    primary, secondary = H.Peer.connect(addr["primary_in"]), H.Peer.connect(addr["secondary_in"])
    c.check(all(graph.wait_connected(n) for n in addr), "%s: the agent and the test connected to colo-graph" % tag)
    c.check(checkpoint_delay(qemu) == 20000, "%s: x-checkpoint-delay starts at QEMU's 20000 ms" % tag)

    H.section("%s: a mismatch -> DO_CHECKPOINT -> QMP migrate-set-parameters" % tag)
    held = H.udp(b"primary answer", sport=9000)
    primary.send(held, vl)
    secondary.send(H.udp(b"other answer!!", sport=9000), vl)
    c.check(wait_for(lambda: checkpoint_delay(qemu) == REQUEST_DELAY_MS),
            "%s: the agent set x-checkpoint-delay=%d (in COLO state: a checkpoint now)" % (tag, REQUEST_DELAY_MS),
            "x-checkpoint-delay is %s" % checkpoint_delay(qemu))
    c.equal(outdev.quiet(0.2), [], "%s: the primary stays held until the checkpoint is done" % tag)

    H.section("%s: STOP/RESUME brackets the checkpoint -> COLO_CHECKPOINT -> flush" % tag)
    qemu.qmp.cmd("stop")
    c.equal(outdev.quiet(0.2), [], "%s: nothing released at STOP" % tag)
    qemu.qmp.cmd("cont")
    c.equal(outdev.expect(1), [(held, 0) if vnet else held], "%s: RESUME flushed the held primary" % tag)

    for p in (outdev, primary, secondary):
        p.close()
    graph.stop()
    c.check(graph.counter("compare", "checkpoint_requests") == 1 and graph.counter("compare", "checkpoints_done") == 1
            and graph.counter("notify_dev", "requests_sent") == 1 and graph.counter("notify_dev", "checkpoints_received") == 1,
            "%s: one request out, one checkpoint back" % tag, str({k: graph.stats.get(k) for k in ("compare", "notify_dev")}))
    bridge.terminate()

    H.section("%s: an exec node runs the agent's one-shot request mode" % tag)
    addr = {k: H.unix(wd, "%s-exec-%s" % (tag, k)) for k in ("primary_in", "secondary_in")}
    graph = H.ColoGraph(binary, wd, tag + "-exec", EXEC_GRAPH, dict(
        addr, agent=agent, qmp=request_qmp, delay=EXEC_DELAY_MS, vnet="on" if vnet else "off")).start(listening=2)
    primary, secondary = H.Peer.connect(addr["primary_in"]), H.Peer.connect(addr["secondary_in"])
    primary.send(held, vl)
    secondary.send(H.udp(b"other answer!!", sport=9000), vl)
    c.check(wait_for(lambda: checkpoint_delay(qemu) == EXEC_DELAY_MS),
            "%s: `colo-kvm-agent request` from the exec node set x-checkpoint-delay=%d" % (tag, EXEC_DELAY_MS),
            "x-checkpoint-delay is %s" % checkpoint_delay(qemu))
    primary.close()
    secondary.close()
    graph.stop()
    c.check(graph.counter("request", "succeeded") == 1, "%s: the command exited 0" % tag, str(graph.stats.get("request")))
    qemu.terminate()


def body(binary, src, wd, c):
    agent = agent_from_docs(src, wd)
    run(binary, src, wd, c, agent, vnet=False)
    run(binary, src, wd, c, agent, vnet=True)


if __name__ == "__main__":
    sys.exit(H.run_test(body))
