"""End to end through the operator endpoints: graphs/colo-compare.yaml run
with --control and --metrics, UDP pairs on primary_in/secondary_in, and every
`colo-graph ctl` command checked against what the graph did: stats, graph,
trace (pcapng read back by tcpdump and tshark), bypass add/list/del, set,
checkpoint, failover, resume, help; the metric names; and the hold-time
histogram counting exactly the released packets.
Usage: operations.py BIN SRC WORKDIR"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from colo_compare import connect, take_sequence_numbers  # noqa: E402
from pcapfile import udp_frame  # noqa: E402

BIN, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
CTL = os.path.join(WORK, "ctl.sock")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ctl(*args, rc=0):
    """colo-graph ctl CTL ARGS: (stdout, stderr); fails unless it exits `rc`."""
    p = subprocess.run([BIN, "ctl", CTL] + list(args), capture_output=True, text=True, timeout=60)
    if p.returncode != rc:
        fail("ctl %s exited %d, expected %d: %s%s" % (" ".join(args), p.returncode, rc, p.stdout, p.stderr))
    return p.stdout, p.stderr


def ctl_json(*args):
    return json.loads(ctl(*args)[0])


def record(frame):
    return len(frame).to_bytes(4, "big") + frame


class Pair:
    """The primary and secondary inputs and the released output of colo-compare.yaml."""

    def __init__(self, paths):
        self.out = connect(paths["out"])
        self.pin, self.sin, self.notify = connect(paths["pin"]), connect(paths["sin"]), connect(paths["notify"])
        self.released, self.buf = [], b""

    def send(self, seq, port=7000, primary=True, secondary=True, secondary_payload=None):
        payload = seq.to_bytes(4, "big") + b"operations"
        if primary:
            self.pin.sendall(record(udp_frame(port, 53, payload)))
        if secondary:
            self.sin.sendall(record(udp_frame(port, 53, secondary_payload or payload)))

    def expect(self, n, within=10.0):
        """Reads released records until `n` in all; their sequence numbers in order."""
        deadline = time.time() + within
        self.out.settimeout(0.1)
        while len(self.released) < n and time.time() < deadline:
            try:
                self.buf += self.out.recv(65536)
            except socket.timeout:
                continue
            self.buf = take_sequence_numbers(self.buf, self.released)
        if len(self.released) != n:
            fail("released %d, expected %d" % (len(self.released), n))

    def quiet(self, seconds):
        """Nothing more is released for `seconds`."""
        n = len(self.released)
        self.out.settimeout(seconds)
        try:
            self.buf += self.out.recv(65536)
        except socket.timeout:
            pass
        self.buf = take_sequence_numbers(self.buf, self.released)
        if len(self.released) != n:
            fail("released %d more while nothing was due" % (len(self.released) - n))


def node(stats, name):
    return next(n for n in stats["nodes"] if n["name"] == name)


def scrape(address):
    with urllib.request.urlopen("http://%s/metrics" % address, timeout=10) as r:
        if r.headers.get("Content-Type") != "text/plain; version=0.0.4":
            fail("metrics content type " + str(r.headers.get("Content-Type")))
        return r.read().decode()


def metric(text, name, labels):
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    if not m:
        fail("no metric %s{%s}" % (name, labels))
    return float(m.group(1))


def main():
    paths = {k: os.path.join(WORK, k + ".sock") for k in ("pin", "sin", "out", "notify")}
    events = os.path.join(WORK, "events.jsonl")
    stderr = open(os.path.join(WORK, "stderr.txt"), "w")
    proc = subprocess.Popen([BIN, "run", os.path.join(SRC, "graphs/colo-compare.yaml"),
                             "--set", "primary_in=unix:" + paths["pin"], "--set", "secondary_in=unix:" + paths["sin"],
                             "--set", "outdev=unix:" + paths["out"], "--set", "notify_dev=unix:" + paths["notify"],
                             "--set", "events=" + events, "--set", "compare_timeout=600000",
                             "--control", CTL, "--metrics", "127.0.0.1:0"], stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        pair = Pair(paths)
        address = None
        for _ in range(100):
            with open(os.path.join(WORK, "stderr.txt")) as log:  # not colo-graph's handle: its offset stays
                m = re.search(r"metrics at http://(\S+)/metrics", log.read())
            if m:
                address = m.group(1)
                break
            time.sleep(0.05)
        if not address:
            fail("no metrics address logged")
        if oct(os.stat(CTL).st_mode & 0o777) != "0o600":
            fail("control socket mode %o" % (os.stat(CTL).st_mode & 0o777))

        # Identical pairs are released, in order.
        for i in range(20):
            pair.send(i)
        pair.expect(20)
        if pair.released != list(range(20)):
            fail("released out of order: %s" % pair.released)

        stats = ctl_json("stats")
        cmp = node(stats, "compare")
        if stats["version"] != 1 or stats["mode"] != "live":
            fail("stats header %s" % {k: stats[k] for k in ("version", "mode")})
        if cmp["counters"]["released_matched"] != 20 or cmp["out"]["out"]["packets"] != 20:
            fail("stats: released_matched %d, out %d" % (cmp["counters"]["released_matched"],
                                                          cmp["out"]["out"]["packets"]))
        if cmp["histograms"]["hold_seconds"]["count"] != 20:
            fail("hold_seconds count %d for 20 released" % cmp["histograms"]["hold_seconds"]["count"])
        print("stats: released_matched 20, hold_seconds count 20, queued_batches %d" % cmp["queued_batches"])

        dot, _ = ctl("graph")
        if not dot.startswith("digraph") or "compare" not in dot:
            fail("graph is not DOT: " + dot[:80])

        # trace: the next 5 packets released, in a pcapng file.
        trace_file = os.path.join(WORK, "released.pcapng")
        tracer = subprocess.Popen([BIN, "ctl", CTL, "trace", "compare.out", "--filter", "udp port 7000",
                                   "--count", "5", "--out", trace_file], stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # the trace is attached before the packets come (ctl waits for them)
        for i in range(20, 30):
            pair.send(i)
        pair.expect(30)
        out, _ = tracer.communicate(timeout=30)
        if tracer.returncode != 0 or json.loads(out)["packets"] != 5:
            fail("trace: exit %d, %s" % (tracer.returncode, out))
        dump = subprocess.run(["tcpdump", "-nn", "-r", trace_file], capture_output=True, text=True)
        if dump.returncode != 0 or len(dump.stdout.splitlines()) != 5 or ".7000 > " not in dump.stdout:
            fail("tcpdump -r: %s %s" % (dump.stdout, dump.stderr))
        if shutil.which("tshark"):
            comments = subprocess.run(["tshark", "-r", trace_file, "-T", "fields", "-e", "frame.comment"],
                                      capture_output=True, text=True).stdout.split("\n")[:5]
            if not all(re.fullmatch(r"node=compare port=out verdict=released hold=\d+\.\d{6}s", c) for c in comments):
                fail("trace comments: %s" % comments)
            print("trace: 5 packets, comments like: " + comments[0])
        else:
            print("trace: 5 packets (tshark not installed: comments not checked)")

        # bypass: a primary on a bypassed port leaves at once, with no twin.
        if ctl_json("bypass", "add", "udp port 7100") != {"compare": ["udp port 7100"]}:
            fail("bypass add")
        if ctl_json("bypass", "add", "udp  port 7100") != {"compare": ["udp port 7100"]}:
            fail("an equal rule added twice")
        if ctl_json("bypass", "list") != {"compare": ["udp port 7100"]}:
            fail("bypass list after add")
        pair.send(1000, port=7100, secondary=False)
        pair.expect(31)
        if ctl_json("bypass", "del", "udp port 7100") != {"compare": []}:
            fail("bypass list after del")
        ctl("bypass", "del", "udp port 7100", rc=65)
        pair.send(1001, port=7100, secondary=False)
        pair.quiet(0.5)  # compared again: waits for its twin
        pair.send(1001, port=7100, primary=False)
        pair.expect(32)

        # set: changeable properties only.
        ctl("set", "compare.max_queue_size", "2048")
        _, err = ctl("set", "compare.ipv6", "false", rc=65)
        if "cannot be changed" not in err:
            fail("set ipv6: " + err)
        ctl("set", "compare.compare_timeout", "-5", rc=65)
        ctl("set", "nosuch.compare_timeout", "5", rc=65)

        # A mismatch: one checkpoint request; `checkpoint` answers it.
        pair.send(2000, secondary_payload=b"different")
        time.sleep(0.3)
        flushed = ctl_json("checkpoint")
        if flushed != {"compare": {"released": 1, "secondary_dropped": 1}}:
            fail("checkpoint: %s" % flushed)
        pair.expect(33)

        # failover: primaries pass through alone; resume: compared again.
        if ctl_json("failover", "--node", "compare") != {"compare": {"comparing": False}}:
            fail("failover")
        pair.send(3000, secondary=False)
        pair.expect(34)
        if ctl_json("resume", "--node", "compare") != {"compare": {"comparing": True}}:
            fail("resume")
        if ctl_json("resume") != {"compare": "already comparing"}:
            fail("a second resume")
        pair.send(3001, secondary=False)
        pair.quiet(0.5)
        pair.send(3001, primary=False)
        pair.expect(35)

        helped = ctl_json("help")
        if {c["command"] for c in helped["commands"]} != {"stats", "graph", "checkpoint", "failover", "resume",
                                                          "bypass", "set", "trace", "help"}:
            fail("help: %s" % helped["commands"])
        ctl("reboot", rc=64)
        ctl("checkpoint", "--node", "outdev", rc=65)

        # Metrics: the names, and the histograms against what was released.
        text = scrape(address)
        labels = 'node="compare"'
        released = metric(text, "colo_graph_port_packets_total", labels + ',port="out",direction="out"')
        held = metric(text, "colo_graph_comparator_hold_seconds_count", labels)
        if released != 35 or held != released:
            fail("metrics: %d released, hold_seconds_count %d" % (released, held))
        if metric(text, "colo_graph_comparator_hold_seconds_bucket", labels + ',le="+Inf"') != held:
            fail("+Inf bucket differs from the count")
        if metric(text, "colo_graph_comparator_checkpoint_requests_total", labels + ',reason="mismatch"') != 1:
            fail("checkpoint_requests_total{reason=mismatch}")
        if metric(text, "colo_graph_comparator_checkpoint_seconds_count", labels) != 1:
            fail("checkpoint_seconds_count")
        metric(text, "colo_graph_comparator_connections_active", labels)  # a gauge: no _total
        metric(text, "colo_graph_socket_frames_in_total", 'node="primary_in"')
        if re.search(r"^colo_graph_comparator_checkpoint_requests_total\{node=\"compare\"\}", text, re.M):
            fail("the family's total is exported beside the family")
        for line in text.splitlines():
            if not line.startswith("#") and not re.fullmatch(r"[a-z_]+\{[^}]*\} \S+", line):
                fail("not an exposition line: " + line)
        print("metrics: %d lines, hold_seconds_count = released = %d" % (len(text.splitlines()), released))

        with urllib.request.urlopen("http://%s/metrics" % address, timeout=10) as r:
            pass
        try:
            urllib.request.urlopen("http://%s/other" % address, timeout=10)
            fail("GET /other answered")
        except urllib.error.HTTPError as e:
            if e.code != 404:
                fail("GET /other: %d" % e.code)

        # A client that shuts down its sending side still gets every reply.
        s = socket.socket(socket.AF_UNIX)
        s.connect(CTL)
        s.sendall(b'{"command":"help"}\n' * 300)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(30)
        got = b""
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            got += chunk
        s.close()
        if got.count(b"\n") != 300:
            fail("half-closed client: %d replies of 300" % got.count(b"\n"))
        # Clients that come and go at once never lock an operator out.
        for _ in range(400):
            c = socket.socket(socket.AF_UNIX)
            c.connect(CTL)
            c.sendall(b'{"command":"stats"}\n')
            c.close()
        ctl("stats")

        with open(events) as f:
            kinds = [json.loads(line)["event"] for line in f]
        for k in ("checkpoint_request", "checkpoint_done", "failover", "resume"):
            if k not in kinds:
                fail("no %s event in %s" % (k, kinds))
        if pair.released[:30] != list(range(30)):
            fail("order")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if os.path.exists(CTL):
        fail("control socket left behind")
    print("ok")


main()
