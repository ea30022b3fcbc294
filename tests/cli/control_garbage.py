"""100 hostile clients against the operator endpoints while traffic flows:
graphs/colo-compare.yaml run with --control and --metrics, N identical UDP
pairs (sequence number in the payload) sent at a steady pace on
primary_in/secondary_in, and meanwhile 80 clients on the control socket and
20 on /metrics, each running one misbehaviour after another until the pairs
are all sent: random bytes, half a line and gone, a 1 MiB line, JSON of the
wrong shape, a request and gone before the reply, silence (idle, or in the
middle of a request), replies never read, HTTP garbage and slowloris heads.
Checked: every pair released, in order, none lost; `ctl stats` and /metrics
still right; the process alive, its RSS bounded; the clients answered or
dropped as docs/operations.md (Limits) says: errors naming what is wrong,
drops past 64 KiB (8 KiB for a head) and past 4 MiB of unread replies, a
started request dropped after its timeout and not before, an idle client kept.
A client told `too many connections` is counted, not failed (see client()).
Usage: control_garbage.py BIN SRC WORKDIR"""
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from colo_compare import connect, take_sequence_numbers  # noqa: E402
from pcapfile import udp_frame  # noqa: E402

BIN, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
CTL = os.path.join(WORK, "ctl.sock")
N = 20000                 # UDP pairs
PAIRS_PER_SECOND = 500    # so the garbage runs for N / 500 = 40 s
CONTROL_CLIENTS, HTTP_CLIENTS = 80, 20
REQUEST_TIMEOUT = 10.0    # PollServer::Limits: a started control request must complete within
METRICS_TIMEOUT = 5.0     # the same for a /metrics request head
# Peak RSS (VmHWM) allowed, in KiB. Measured: 9.5 MiB before the garbage,
# 50-63 MiB peak, 23-35 MiB most of the run; the peaks are replies never read
# (up to 4 MiB a connection until the drop). The drops themselves are checked
# in the log; the bound catches buffers outliving their connection, which
# would grow with the hundreds of drops of a run.
RSS_BOUND_KIB = 160 * 1024
SAFETY = 120.0            # deadlines only against a hang, never a measure of speed


class Failure(Exception):
    pass


class Refused(Exception):
    """The server was at max_connections (PollServer::Limits): it answered this and closed."""


BUSY = b'{"ok":false,"error":"too many connections"}\n'


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Tally:
    """What the clients did and saw, from every thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []
        self.waits = {}
        self.ran = {}

    def add(self, what, n=1):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def wait(self, what, seconds):
        with self.lock:
            self.waits.setdefault(what, []).append(seconds)
        self.add(what)

    def done(self, behaviour):
        with self.lock:
            self.ran[behaviour] = self.ran.get(behaviour, 0) + 1

    def failed(self, msg):
        with self.lock:
            self.failures.append(msg)


tally = Tally()
stop = threading.Event()


def record(frame):
    return len(frame).to_bytes(4, "big") + frame


def pair_record(seq):
    return record(udp_frame(7000, 53, seq.to_bytes(4, "big") + b"control_garbage"))


# --- control clients -------------------------------------------------------

def control():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(SAFETY)
    s.connect(CTL)
    return s


def read_replies(s, n):
    """n reply lines, each parsed (UTF-8 JSON, or Failure)."""
    buf = b""
    while buf.count(b"\n") < n:
        chunk = s.recv(65536)
        if not chunk:
            if buf == BUSY:
                raise Refused()
            raise Failure("closed after %d of %d replies" % (buf.count(b"\n"), n))
        buf += chunk
    lines = buf.split(b"\n")
    if len(lines) != n + 1 or lines[-1]:
        raise Failure("%d replies, expected %d" % (len(lines) - 1, n))
    try:
        replies = [json.loads(line) for line in lines[:-1]]
    except ValueError as e:
        raise Failure("a reply is not UTF-8 JSON (%s): %r" % (e, lines[:3]))
    if replies[0] == json.loads(BUSY) and not s.recv(1):
        raise Refused()
    return replies


def expect_dropped(s, started, what):
    """The server closes `s`: EOF or a reset. Returns the seconds since `started`."""
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise Failure(what + ": not dropped within %d s" % SAFETY)
    if data == BUSY:
        raise Refused()
    return time.monotonic() - started


def server_lines(data):
    """The lines a control session answers in `data` (as ControlSession splits them)."""
    lines = data.split(b"\n")[:-1]
    return [line[:-1] if line.endswith(b"\r") else line for line in lines if line not in (b"", b"\r")]


def c_random(rng):
    """Random bytes: one error reply per line."""
    data = rng.randbytes(rng.randint(1, 8192)) + b"\n"
    n = len(server_lines(data))
    with control() as s:
        s.sendall(data)
        for r in read_replies(s, n):
            if r.get("ok") is not False or not isinstance(r.get("error"), str):
                raise Failure("random bytes answered %r" % r)
    tally.add("control random bytes: lines answered with an error", n)


def c_half_line(rng):
    """Half a request, then gone."""
    line = b'{"command":"stats"}'
    with control() as s:
        s.sendall(line[:rng.randint(1, len(line) - 1)])
    tally.add("control half a line, then gone")


def c_huge_line(rng):
    """A 1 MiB line: dropped once past 64 KiB, never buffered whole."""
    started = time.monotonic()
    with control() as s:
        try:
            s.sendall(b"x" * (1 << 20) + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        expect_dropped(s, started, "a 1 MiB line")
    tally.add("control 1 MiB line: dropped")


def c_long_line(rng):
    """A line of 64-80 KiB: refused with an error, or dropped, by where the reads split it."""
    with control() as s:
        try:
            s.sendall(b'{"command":"help","x":"' + b"y" * 70000 + b'"}\n')
            reply = read_replies(s, 1)[0]
            if reply != {"ok": False, "error": "request longer than 64 KiB"}:
                raise Failure("a 70 kB line answered %r" % reply)
            tally.add("control 70 kB line: answered 'request longer than 64 KiB'")
        except (BrokenPipeError, ConnectionResetError):
            tally.add("control 70 kB line: dropped")
        except Failure as e:
            if "closed after 0" not in str(e):
                raise
            tally.add("control 70 kB line: dropped")


# Valid JSON (and not) of the wrong shape, and what the error says.
WRONG = [
    ("not JSON", b"hello", "not JSON"),
    ("unknown command", b'{"command":"reboot"}', "unknown command 'reboot' (try help)"),
    ("unknown command, UTF-8", b'{"command":"st\xc3\xa9ts"}', "unknown command 'st\u00e9ts' (try help)"),
    ("invalid UTF-8", b'{"command":"\xff\xfe"}', "not JSON"),
    ("an array", b"[1,2,3]", "a request is a JSON object"),
    ("30000 nested arrays", b"[" * 30000 + b"]" * 30000, "a request is a JSON object"),
    ("null", b"null", "a request is a JSON object"),
    ("a number for a command", b'{"command":5}', '"command" (a string) is missing'),
    ("no command", b'{"node":"compare"}', '"command" (a string) is missing'),
    ("unknown member", b'{"command":"stats","x":1}', "stats: unknown member 'x'"),
    ("missing member", b'{"command":"set","node":"compare"}', 'set: "property" is missing'),
    ("a number for a string", b'{"command":"set","node":"compare","property":"max_queue_size","value":70000}',
     'set: "value" must be a string'),
    ("count 0", b'{"command":"trace","node":"compare","port":"out","out":"/dev/null","count":0}',
     'trace: "count" must be a count from 1 to 10^9'),
    ("no such node", b'{"command":"checkpoint","node":"nosuch"}', "no node named 'nosuch'"),
    ("a node without the handler", b'{"command":"failover","node":"outdev"}', "node 'outdev' does not take failover"),
    ("bad bypass action", b'{"command":"bypass","action":"explode"}',
     "bypass: action must be add, del or list, not 'explode'"),
    ("bypass add without rule", b'{"command":"bypass","action":"add"}', "bypass add: a rule is missing"),
]


def c_wrong_shape(rng):
    """A few wrong requests in one write: one error each, in order, saying what is wrong."""
    cases = [rng.choice(WRONG) for _ in range(rng.randint(1, 6))]
    with control() as s:
        s.sendall(b"".join(line + rng.choice([b"\n", b"\r\n"]) for _, line, _ in cases))
        for (label, line, error), reply in zip(cases, read_replies(s, len(cases))):
            if reply != {"ok": False, "error": error}:
                raise Failure("%s: %r answered %r, expected error %r" % (label, line[:60], reply, error))
            tally.add("control wrong request, error: " + label)


def c_valid(rng):
    """A good request gets its answer, garbage all around notwithstanding."""
    with control() as s:
        s.sendall(b'{"command":"stats"}\n')
        r = read_replies(s, 1)[0]
        if r.get("ok") is not True or not any(n["name"] == "compare" for n in r["result"]["nodes"]):
            raise Failure("stats answered %r" % str(r)[:200])
    tally.add("control stats answered")


def c_request_and_go(rng):
    """A request, then gone before the reply."""
    with control() as s:
        s.sendall(rng.choice([b'{"command":"stats"}\n', b'{"command":"help"}\n', b'{"command":"graph"}\n',
                              b'{"command":"bypass","action":"list"}\n']))
    tally.add("control request, gone before the reply")


def c_idle(rng):
    """Silent past the request timeout: kept, and served afterwards."""
    with control() as s:
        time.sleep(REQUEST_TIMEOUT + 3)
        s.sendall(b'{"command":"help"}\n')
        r = read_replies(s, 1)[0]
        if r.get("ok") is not True:
            raise Failure("help after an idle wait answered %r" % str(r)[:200])
    tally.add("control idle past the timeout, then served")


def c_stalled_request(rng):
    """Silent in the middle of a request: dropped, after the request timeout and not before."""
    with control() as s:
        started = time.monotonic()
        s.sendall(b'{"command":"stats"')
        tally.wait("control request stalled: dropped", expect_dropped(s, started, "a stalled request"))


def c_never_reads(rng):
    """Requests whose replies are never read: dropped at 4 MiB of them."""
    with control() as s:
        started = time.monotonic()
        try:
            for _ in range(200):  # help replies are 1.4 kB: 280 kB a round
                s.sendall(b'{"command":"help"}\n' * 200)
        except (BrokenPipeError, ConnectionResetError):
            pass
        expect_dropped(s, started, "a client that never reads")
    tally.add("control replies never read: dropped")


CONTROL = [c_random, c_half_line, c_huge_line, c_long_line, c_wrong_shape, c_valid, c_request_and_go, c_idle,
           c_stalled_request, c_never_reads]
# Weights of the random choices after each client's first, which goes by its
# number so that every misbehaviour runs: the slow ones less often.
CONTROL_WEIGHTS = [6, 4, 1, 1, 6, 2, 4, 1, 1, 1]


# --- /metrics clients ------------------------------------------------------

def http(address):
    host, port = address.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=SAFETY)
    return s


def http_response(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            if data == BUSY:
                raise Refused()
            return data
        data += chunk


def h_scrape(rng, address):
    with http(address) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        r = http_response(s)
    if not r.startswith(b"HTTP/1.1 200 OK\r\n") or b"\ncolo_graph_port_packets_total{" not in r:
        raise Failure("GET /metrics answered %r" % r[:200])
    tally.add("metrics scraped")


HTTP_WRONG = [
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"HTTP/1.1 405 Method Not Allowed\r\n"),
    (b"GET /nope HTTP/1.1\r\n\r\n", b"HTTP/1.1 404 Not Found\r\n"),
    (b"BLAH\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n"),
    (b"GET /metrics\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n"),
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n"),
]


def h_wrong(rng, address):
    head, status = rng.choice(HTTP_WRONG)
    with http(address) as s:
        s.sendall(head)
        r = http_response(s)
    if not r.startswith(status):
        raise Failure("%r answered %r" % (head, r[:100]))
    tally.add("metrics wrong request: " + status.decode().split(" ")[1])


def h_random(rng, address):
    """Random bytes (at most 4 kB) and an end of head: an error status."""
    data = rng.randbytes(rng.randint(1, 4096)).replace(b"\r\n\r\n", b"") + b"\r\n\r\n"
    with http(address) as s:
        s.sendall(data)
        r = http_response(s)
    if not re.match(rb"HTTP/1\.1 40[045] ", r):
        raise Failure("random bytes answered %r" % r[:100])
    tally.add("metrics random head: error status")


def h_slowloris(rng, address):
    """A head sent a byte at a time: dropped after the request timeout."""
    with http(address) as s:
        started = time.monotonic()
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        try:
            for c in b"X-Slow: " + b"z" * 1000:
                s.sendall(bytes([c]))
                time.sleep(0.25)
                if time.monotonic() - started > SAFETY:
                    raise Failure("a slowloris head was kept for %d s" % SAFETY)
        except (BrokenPipeError, ConnectionResetError):
            pass
        tally.wait("metrics slowloris: dropped", expect_dropped(s, started, "a slowloris head"))


def h_huge(rng, address):
    """A 1 MiB head: dropped past 8 KiB."""
    with http(address) as s:
        started = time.monotonic()
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * (1 << 20))
        except (BrokenPipeError, ConnectionResetError):
            pass
        expect_dropped(s, started, "a 1 MiB head")
    tally.add("metrics 1 MiB head: dropped")


def h_request_and_go(rng, address):
    with http(address) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
    tally.add("metrics request, gone before the reply")


def h_silent(rng, address):
    with http(address):
        time.sleep(rng.uniform(0.5, 3))
    tally.add("metrics silent, then gone")


HTTP = [h_scrape, h_wrong, h_random, h_slowloris, h_huge, h_request_and_go, h_silent]
HTTP_WEIGHTS = [3, 4, 4, 1, 1, 3, 2]


def read_log():
    """colo-graph's stderr so far (opened apart from the process's own file)."""
    with open(os.path.join(WORK, "stderr.txt"), errors="replace") as f:
        return f.read()


log_lock = threading.Lock()
log_read = {"at": 0, "rest": b"", "control": 0, "metrics": 0}


def refusals(endpoint):
    """How many connections the server refused so far (reading the log on from where it was)."""
    with log_lock:
        with open(os.path.join(WORK, "stderr.txt"), "rb") as f:
            f.seek(log_read["at"])
            data = f.read()
        log_read["at"] += len(data)
        *lines, log_read["rest"] = (log_read["rest"] + data).split(b"\n")
        for line in lines:
            for e in ("control", "metrics"):
                log_read[e] += b": refused %s " % e.encode() in line
        return log_read[endpoint]


def client(number, behaviours, weights, *args):
    """Runs misbehaviours until the pairs are sent. A refusal (too many
    connections) is no failure: the clients that connect, write and go at
    once outrun the server while a request keeps it busy, and the
    connections they left count until it sees them closed. A client that
    was writing when refused sees a reset, not the answer: a refusal logged
    meanwhile (the log line comes after the close) makes it one."""
    rng = random.Random(number)
    endpoint = "metrics" if args else "control"
    behaviour = behaviours[number % len(behaviours)]
    while True:
        refused = refusals(endpoint)
        try:
            behaviour(rng, *args)
            tally.done(behaviour.__name__)
        except Refused:
            tally.add(endpoint + " refused: too many connections")
        except (Failure, OSError) as e:
            deadline = time.monotonic() + 5
            while refusals(endpoint) == refused and time.monotonic() < deadline:
                time.sleep(0.1)
            if refusals(endpoint) > refused and not isinstance(e, socket.timeout):
                tally.add(endpoint + " refused: too many connections")
            else:
                tally.failed("%s (client %d): %s: %s" % (behaviour.__name__, number, type(e).__name__, e))
        except Exception as e:  # noqa: BLE001 - anything unexpected is a finding
            tally.failed("%s (client %d): %s: %s" % (behaviour.__name__, number, type(e).__name__, e))
        if stop.is_set():
            return
        behaviour = rng.choices(behaviours, weights)[0]


# --- traffic, outdev, RSS ----------------------------------------------------

def send_pairs(pin, sin):
    """N pairs at PAIRS_PER_SECOND, in steps of at most 20 pairs, primaries first."""
    start = time.monotonic()
    sent = 0
    while sent < N:
        due = min(N, int((time.monotonic() - start) * PAIRS_PER_SECOND) + 1, sent + 20)
        if due > sent:
            chunk = b"".join(pair_record(i) for i in range(sent, due))
            pin.sendall(chunk)
            sin.sendall(chunk)
            sent = due
        else:
            time.sleep(0.01)


def read_outdev(out, released):
    buf = b""
    out.settimeout(0.5)
    while len(released) < N and not stop_reading.is_set():
        try:
            chunk = out.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            return
        buf = take_sequence_numbers(buf + chunk, released)


stop_reading = threading.Event()


def status_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"^%s:\s+(\d+) kB" % field, f.read(), re.M)
            return int(m.group(1)) if m else 0
    except OSError:
        return 0


def sample_rss(pid, samples):
    while not stop_reading.is_set():
        samples.append(status_kib(pid, "VmRSS"))
        time.sleep(0.2)


def ctl(*args):
    p = subprocess.run([BIN, "ctl", CTL] + list(args), capture_output=True, text=True, timeout=SAFETY)
    if p.returncode != 0:
        fail("ctl %s exited %d: %s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p.stdout


def scrape(address):
    with http(address) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        r = http_response(s)
    head, _, body = r.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 OK\r\n"):
        fail("/metrics answered %r" % head)
    return body.decode()


def main():
    paths = {k: os.path.join(WORK, k + ".sock") for k in ("pin", "sin", "out", "notify")}
    log_path = os.path.join(WORK, "stderr.txt")
    # compare_timeout and max_queue_size out of the way: under a loaded CPU a
    # primary may wait long for its twin, which is not what this tests.
    proc = subprocess.Popen([BIN, "run", os.path.join(SRC, "graphs/colo-compare.yaml"),
                             "--set", "primary_in=unix:" + paths["pin"], "--set", "secondary_in=unix:" + paths["sin"],
                             "--set", "outdev=unix:" + paths["out"], "--set", "notify_dev=unix:" + paths["notify"],
                             "--set", "events=/dev/null", "--set", "compare_timeout=600000",
                             "--set", "max_queue_size=100000", "--control", CTL, "--metrics", "127.0.0.1:0"],
                            stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))
    try:
        out, pin, sin = connect(paths["out"]), connect(paths["pin"]), connect(paths["sin"])
        address = None
        deadline = time.monotonic() + SAFETY
        while not address and time.monotonic() < deadline:
            m = re.search(r"metrics at http://(\S+)/metrics", read_log())
            address = m and m.group(1)
            time.sleep(0.05)
        if not address:
            fail("no metrics address logged")
        ctl("stats")
        baseline = status_kib(proc.pid, "VmRSS")

        released, rss = [], []
        started = time.monotonic()
        helpers = [threading.Thread(target=read_outdev, args=(out, released)),
                   threading.Thread(target=sample_rss, args=(proc.pid, rss))]
        clients = [threading.Thread(target=client, args=(i, CONTROL, CONTROL_WEIGHTS), daemon=True)
                   for i in range(CONTROL_CLIENTS)]
        clients += [threading.Thread(target=client, args=(i, HTTP, HTTP_WEIGHTS, address), daemon=True)
                    for i in range(HTTP_CLIENTS)]
        for t in helpers + clients:
            t.start()
        send_pairs(pin, sin)
        sent_in = time.monotonic() - started
        stop.set()
        deadline = time.monotonic() + SAFETY
        for t in clients:
            t.join(max(0, deadline - time.monotonic()))
        if any(t.is_alive() for t in clients):
            fail("clients still running %d s after the pairs were sent" % SAFETY)
        garbage_for = time.monotonic() - started
        helpers[0].join(SAFETY)
        stop_reading.set()
        helpers[1].join()
        peak = status_kib(proc.pid, "VmHWM")

        if proc.poll() is not None:
            fail("colo-graph exited %d during the garbage" % proc.returncode)
        if len(released) != N or released != list(range(N)):
            missing = sorted(set(range(N)) - set(released))
            fail("released %d of %d; missing %s; first out of place at %s" % (
                len(released), N, missing[:10],
                next((i for i, s in enumerate(released) if s != i), None)))
        stats = json.loads(ctl("stats"))
        cmp = next(n for n in stats["nodes"] if n["name"] == "compare")
        if cmp["counters"]["released_matched"] != N or cmp["out"]["out"]["packets"] != N:
            fail("stats: released_matched %d, out %d" % (cmp["counters"]["released_matched"],
                                                          cmp["out"]["out"]["packets"]))
        text = scrape(address)
        m = re.search(r'^colo_graph_port_packets_total\{node="compare",port="out",direction="out"\} (\d+)$', text, re.M)
        if not m or int(m.group(1)) != N:
            fail("/metrics: compare out %s" % (m and m.group(1)))

        print("%d pairs sent in %.1f s, garbage for %.1f s, all %d released in order" % (N, sent_in, garbage_for, N))
        for what in sorted(tally.counts):
            waits = tally.waits.get(what)
            print("  %6d  %s%s" % (tally.counts[what], what,
                                   " after %.1f-%.1f s" % (min(waits), max(waits)) if waits else ""))
        print("RSS every 5 s (KiB): " + " ".join(str(k) for k in rss[::25]))
        print("RSS: %d KiB before, %d KiB at most while sampled, peak (VmHWM) %d KiB; bound %d KiB" % (
            baseline, max(rss), peak, RSS_BOUND_KIB))
        if tally.failures:
            fail("%d client failures, the first: %s" % (len(tally.failures), "\n  ".join(tally.failures[:10])))
        for behaviour in CONTROL + HTTP:
            if not tally.ran.get(behaviour.__name__):
                fail("no client completed " + behaviour.__name__)
        for what in ("control wrong request, error: not JSON", "control wrong request, error: unknown command",
                     "control 1 MiB line: dropped", "control replies never read: dropped",
                     "control idle past the timeout, then served", "metrics 1 MiB head: dropped"):
            if not tally.counts.get(what):
                fail("never seen: " + what)
        for what, least in (("control request stalled: dropped", REQUEST_TIMEOUT),
                            ("metrics slowloris: dropped", METRICS_TIMEOUT)):
            waits = tally.waits.get(what)
            if not waits:
                fail("never seen: " + what)
            if min(waits) < least - 0.5:
                fail("%s after %.1f s, before the %.0f s timeout" % (what, min(waits), least))
        log = read_log()
        for line in ("request longer than 65536 bytes", "request longer than 8192 bytes",
                     "request not completed within 10000 ms", "request not completed within 5000 ms",
                     "bytes of replies unread"):
            if line not in log:
                fail("no drop logged for: " + line)
        if peak > RSS_BOUND_KIB:
            fail("peak RSS %d KiB above %d KiB" % (peak, RSS_BOUND_KIB))
    finally:
        stop.set()
        stop_reading.set()
        proc.terminate()
        proc.wait(timeout=SAFETY)
    if proc.returncode != 0:
        fail("colo-graph exited %d after SIGTERM" % proc.returncode)
    print("ok")


main()
