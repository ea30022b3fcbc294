"""Shared by tests/interop/test_*.py: frames, QEMU's chardev record framing,
and the processes under test (qemu-system-x86_64 and colo-graph), each owned
by one test, killed when it ends and never outliving it.

Only the standard library and loopback transports (unix sockets, 127.0.0.1)
are used. A test script is run as `test_NAME.py COLO_GRAPH SOURCE_DIR` and
hands its body to run_test().
"""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77
QEMU = shutil.which("qemu-system-x86_64")
MAX_RECORD = 69632          # NET_BUFSIZE: the largest record payload QEMU accepts


# --------------------------------------------------------------------------
# reporting
# --------------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print("PASS: " + what, flush=True)
        else:
            self.failed.append(what)
            print("FAIL: " + what + (" -- " + detail if detail else ""), flush=True)
        return ok

    def equal(self, got, want, what):
        """Checks got == want; on failure shows both (hex for bytes)."""
        return self.check(got == want, what, "got %s, want %s" % (show(got), show(want)))

    def summary(self):
        print("%d passed, %d failed" % (self.passed, len(self.failed)), flush=True)
        return 0 if not self.failed else 1


def show(value, limit=48):
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value[:limit]).hex()
        return "%d bytes %s%s" % (len(value), text, "..." if len(value) > limit else "")
    if isinstance(value, list):
        return "[" + ", ".join(show(v, 24) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(show(v, 24) for v in value) + ")"
    return repr(value)


def section(title):
    print("--- " + title, flush=True)


def run_test(body, needs_qemu=True, budget_s=240):
    """Runs body(bin, src, workdir, checks) with a wall-clock budget and a
    scratch folder; returns the process exit code (0, 1, or 77 = skip)."""
    if len(sys.argv) != 3:
        print("usage: %s COLO_GRAPH SOURCE_DIR" % sys.argv[0])
        return 64
    if needs_qemu and not QEMU:
        print("SKIP: qemu-system-x86_64 not installed (tools/setup-debian.sh installs it)")
        return SKIP

    def out_of_time(signum, frame):
        raise TimeoutError("test exceeded its %d s budget" % budget_s)
    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(budget_s)
    checks = Checks()
    workdir = tempfile.mkdtemp(prefix="colo-interop-")
    try:
        body(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), workdir, checks)
    except Exception as e:      # a crashed scenario is a failure, named with where it stopped
        where = " <- ".join("%s:%d %s" % (os.path.basename(f.filename), f.lineno, f.name)
                            for f in reversed(traceback.extract_tb(e.__traceback__)))
        checks.check(False, "test ran to the end", "%s: %s (at %s)" % (type(e).__name__, e, where))
    finally:
        signal.alarm(0)
        Process.stop_all()
        if checks.failed:
            Process.dump_all_logs()
        shutil.rmtree(workdir, ignore_errors=True)
    return checks.summary()


# --------------------------------------------------------------------------
# frames (Ethernet II, IPv4/IPv6, TCP/UDP/ICMP, ARP), built by hand
# --------------------------------------------------------------------------

MAC_GUEST = bytes.fromhex("525400123456")
MAC_CLIENT = bytes.fromhex("525400654321")
IP_GUEST, IP_CLIENT = "10.0.0.1", "10.0.0.2"
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(payload, ethertype=0x0800, dst_mac=MAC_CLIENT, src_mac=MAC_GUEST, vlan=None, pad=True):
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    frame = dst_mac + src_mac + tag + struct.pack("!H", ethertype) + payload
    return frame + b"\0" * (60 - len(frame)) if pad and len(frame) < 60 else frame


def ipv4(proto, l4, src, dst, ident=0, ttl=64, options=b""):
    ihl = 5 + len(options) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(l4), ident, 0x4000, ttl, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst)) + options
    header = header[:10] + struct.pack("!H", inet_checksum(header)) + header[12:]
    return header + l4


def _pseudo_v4(src, dst, proto, length):
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto, length)


def udp(payload, sport=5000, dport=6000, src=IP_GUEST, dst=IP_CLIENT, ident=0, ttl=64, **eth):
    l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    l4 = l4[:6] + struct.pack("!H", inet_checksum(_pseudo_v4(src, dst, 17, len(l4)) + l4) or 0xFFFF) + l4[8:]
    return ethernet(ipv4(17, l4, src, dst, ident, ttl), **eth)


def tcp(payload=b"", seq=1000, ack=1, flags=TCP_ACK | TCP_PSH, sport=80, dport=40000, src=IP_GUEST,
        dst=IP_CLIENT, window=65535, ident=0, ttl=64, options=b"", ip_options=b"", **eth):
    offset = (20 + len(options)) // 4
    l4 = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, offset << 4, flags,
                     window, 0, 0) + options + payload
    l4 = l4[:16] + struct.pack("!H", inet_checksum(_pseudo_v4(src, dst, 6, len(l4)) + l4)) + l4[18:]
    return ethernet(ipv4(6, l4, src, dst, ident, ttl, ip_options), **eth)


def icmp_echo(payload, ident=7, seq=1, request=True, src=IP_GUEST, dst=IP_CLIENT, **eth):
    l4 = struct.pack("!BBHHH", 8 if request else 0, 0, 0, ident, seq) + payload
    l4 = l4[:2] + struct.pack("!H", inet_checksum(l4)) + l4[4:]
    return ethernet(ipv4(1, l4, src, dst), **eth)


def ip_proto(proto, payload, src=IP_GUEST, dst=IP_CLIENT, ident=0, **eth):
    return ethernet(ipv4(proto, payload, src, dst, ident), **eth)


def arp_request(spa=IP_GUEST, tpa=IP_CLIENT):
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_GUEST, socket.inet_aton(spa), b"\0" * 6,
                       socket.inet_aton(tpa))
    return ethernet(body, ethertype=0x0806, dst_mac=b"\xff" * 6)


def ipv6_udp(payload, sport=5000, dport=6000):
    src, dst = socket.inet_pton(socket.AF_INET6, "fd00::1"), socket.inet_pton(socket.AF_INET6, "fd00::2")
    l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = src + dst + struct.pack("!IxxxB", len(l4), 17)
    l4 = l4[:6] + struct.pack("!H", inet_checksum(pseudo + l4) or 0xFFFF) + l4[8:]
    header = struct.pack("!IHBB", 6 << 28, len(l4), 17, 64) + src + dst
    return ethernet(header + l4, ethertype=0x86DD)


def raw_ethernet(size, ethertype=0x88B5, fill=0):
    """A frame of exactly `size` bytes with a local-experimental ethertype:
    no protocol parses it, so every COLO component passes it as is."""
    body = bytes((fill + i) & 0xFF for i in range(size - 14))
    return ethernet(body, ethertype=ethertype, pad=False)


# --------------------------------------------------------------------------
# QEMU's chardev record framing (net/net.c net_fill_rstate(); docs/deployment.md)
# --------------------------------------------------------------------------

def record(payload, vnet_len=None):
    """[u32 BE LEN][u32 BE VNET_LEN, only when vnet_len is not None][payload]."""
    head = struct.pack("!I", len(payload))
    if vnet_len is not None:
        head += struct.pack("!I", vnet_len)
    return head + payload


class RecordReader:
    """Reassembles records from a byte stream. Items are payloads, or
    (payload, vnet_len) pairs when the stream carries VNET_LEN."""

    def __init__(self, vnet=False):
        self.vnet = vnet
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        head = 8 if self.vnet else 4
        out = []
        while len(self.buf) >= head:
            (length,) = struct.unpack_from("!I", self.buf, 0)
            if len(self.buf) < head + length:
                break
            payload = bytes(self.buf[head:head + length])
            out.append((payload, struct.unpack_from("!I", self.buf, 4)[0]) if self.vnet else payload)
            del self.buf[:head + length]
        return out


# --------------------------------------------------------------------------
# sockets
# --------------------------------------------------------------------------

def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect(address, timeout=10.0):
    """address: 'unix:PATH' or 'tcp:127.0.0.1:PORT'; retries until it listens."""
    kind, _, rest = address.partition(":")
    deadline = time.monotonic() + timeout
    while True:
        if kind == "unix":
            s, target = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), rest
        else:
            host, _, port = rest.rpartition(":")
            s, target = socket.socket(socket.AF_INET, socket.SOCK_STREAM), (host, int(port))
        try:
            s.connect(target)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Peer:
    """One stream connection speaking records: what a QEMU chardev peer is."""

    def __init__(self, sock, vnet=False):
        self.sock = sock
        self.reader = RecordReader(vnet)
        self.pending = []
        self.closed = False

    @classmethod
    def connect(cls, address, vnet=False, timeout=10.0):
        return cls(connect(address, timeout), vnet)

    def send(self, payload, vnet_len=None):
        self.sock.sendall(record(payload, vnet_len))

    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self, timeout):
        """Reads once, waiting at most `timeout`; False when nothing came."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return False
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.pending += self.reader.feed(data)
        return True

    def expect(self, count, timeout=5.0):
        """Up to `count` records, waiting at most `timeout` for them."""
        deadline = time.monotonic() + timeout
        while len(self.pending) < count and not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._fill(left)
        got, self.pending = self.pending[:count], self.pending[count:]
        return got

    def quiet(self, window=0.4):
        """Every record that arrives within `window` seconds."""
        deadline = time.monotonic() + window
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._fill(left)
        got, self.pending = self.pending, []
        return got

    def read_exact(self, n, timeout=5.0):
        """The next n raw bytes of the stream (bypassing the record parser)."""
        data = bytearray()
        deadline = time.monotonic() + timeout
        while len(data) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(n - len(data))
            except socket.timeout:
                break
            if not chunk:
                self.closed = True
                break
            data += chunk
        return bytes(data)

    def wait_closed(self, timeout=5.0):
        """True when the other side closes the connection within `timeout`."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._fill(deadline - time.monotonic())
        return self.closed

    def close(self):
        self.sock.close()


class Udp:
    """A UDP socket on 127.0.0.1: one Ethernet frame per datagram, as QEMU's
    `-netdev socket,udp=` and `-netdev dgram` backends carry them."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.port = self.sock.getsockname()[1]

    def send(self, frame, port):
        self.sock.sendto(frame, ("127.0.0.1", port))

    def expect(self, count, timeout=5.0):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                got.append(self.sock.recv(1 << 17))
            except socket.timeout:
                break
        return got

    def quiet(self, window=0.4):
        got = []
        deadline = time.monotonic() + window
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            self.sock.settimeout(left)
            try:
                got.append(self.sock.recv(1 << 17))
            except socket.timeout:
                return got

    def close(self):
        self.sock.close()


# --------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------

def _die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


class Process:
    """A child process with its output in files; stop_all() ends every one
    still running (by its own pid) when a test ends, however it ends."""
    running = []
    started = []

    def __init__(self, argv, workdir, name):
        self.argv = argv
        self.name = name
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        self.proc = None

    def start(self):
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         preexec_fn=_die_with_parent)
        Process.running.append(self)
        Process.started.append(self)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stdout(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def terminate(self, timeout=10.0):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in Process.running:
            Process.running.remove(self)
        return self.proc.returncode

    def dump_logs(self):
        for label, path in (("stdout", self.out_path), ("stderr", self.err_path)):
            if os.path.exists(path) and os.path.getsize(path):
                with open(path, errors="replace") as f:
                    text = f.read()
                print("==== %s %s (last 3000 chars) ====\n%s" % (self.name, label, text[-3000:]), flush=True)

    @classmethod
    def dump_all_logs(cls):
        for p in cls.started:
            p.dump_logs()

    @classmethod
    def stop_all(cls):
        for p in list(cls.running):
            p.terminate(5.0)


class ColoGraph(Process):
    """`colo-graph run GRAPH --stats`: `graph` is YAML text written by the
    test, or with graph_file=True the path of a graph file."""

    def __init__(self, binary, workdir, name, graph, sets=None, graph_file=False):
        path = graph
        if not graph_file:
            path = os.path.join(workdir, name + ".yaml")
            with open(path, "w") as f:
                f.write(graph)
        argv = [binary, "run", path, "--stats"]
        for key, value in (sets or {}).items():
            argv += ["--set", "%s=%s" % (key, value)]
        super().__init__(argv, workdir, name)
        self.stats = {}

    def start(self, listening=0, timeout=10.0):
        """Starts and waits until `listening` server sockets are bound."""
        super().start()
        deadline = time.monotonic() + timeout
        while self.stderr().count(": listening") < listening:
            if not self.alive() or time.monotonic() > deadline:
                raise RuntimeError("%s: servers not listening (exit code %s)" % (self.name, self.proc.poll()))
            time.sleep(0.02)
        return self

    def wait_log(self, text, count=1, timeout=5.0):
        """True once `text` appears `count` times in the log."""
        deadline = time.monotonic() + timeout
        while self.stderr().count(text) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def wait_connected(self, node, count=1, timeout=10.0):
        """True once socket node `node` logged `count` peer connections.
        Log lines are matched as 'NODE: ADDRESS: peer connected' anywhere
        in the text: lines written by two threads at once may share a line."""
        pattern = re.compile(re.escape(node) + r": (?:unix|tcp):(?:(?!: )[^\n])*: peer connected")
        deadline = time.monotonic() + timeout
        while True:
            if len(pattern.findall(self.stderr())) >= count:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    def stop(self):
        """SIGTERM (a clean drain), then the --stats table as {node: {counter: n}}."""
        rc = self.terminate()
        self.stats = parse_stats(self.stdout())
        return rc

    def counter(self, node, name):
        return self.stats.get(node, {}).get(name, 0)


def parse_stats(text):
    """`--stats` prints a row per node, then indented 'counter value' lines
    (counters at 0 are left out)."""
    stats, node = {}, None
    for line in text.splitlines():
        if line.startswith("    ") and node is not None:
            name, _, value = line.strip().rpartition(" ")
            if value.isdigit():
                stats[node][name] = int(value)
        elif line and not line.startswith("Node "):
            node = line.split()[0]
            stats[node] = {}
    return stats


class Qmp:
    """A minimal QMP client: commands in, replies out, events kept aside."""

    def __init__(self, path, timeout=10.0):
        self.sock = connect("unix:" + path, timeout)
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile("rwb", buffering=0)
        self.events = []
        self._read()                    # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise EOFError("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **arguments):
        message = {"execute": name}
        if arguments:
            message["arguments"] = arguments
        self.file.write(json.dumps(message).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
            elif "error" in reply:
                raise RuntimeError("QMP %s: %s" % (name, reply["error"]))
            else:
                return reply.get("return")

    def close(self):
        self.sock.close()


class Qemu(Process):
    """qemu-system-x86_64 with no guest (-machine none) and the given
    options; QMP on a unix socket."""

    def __init__(self, workdir, name, options):
        self.qmp_path = os.path.join(workdir, name + "-qmp.sock")
        argv = [QEMU, "-machine", "none", "-nodefaults", "-display", "none", "-monitor", "none",
                "-serial", "none", "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path] + list(options)
        super().__init__(argv, workdir, name)
        self.qmp = None

    def start(self):
        super().start()
        try:
            self.qmp = Qmp(self.qmp_path)
        except (EOFError, OSError) as e:
            # Say whether QEMU itself went away, and how: a closed monitor
            # alone does not tell (its stderr may be empty, e.g. on a signal).
            try:
                status = "exited with status %d" % self.proc.wait(1.0)
            except subprocess.TimeoutExpired:
                status = "still running"
            raise RuntimeError("%s: QMP at start: %s; QEMU %s" % (self.name, e, status)) from e
        return self

    def chardevs_connected(self, ids, timeout=10.0):
        """Waits until every chardev in `ids` has a peer (query-chardev names
        an unconnected socket chardev 'disconnected:...'); False on timeout."""
        return self._wait_chardevs(ids, True, timeout)

    def chardevs_disconnected(self, ids, timeout=10.0):
        """Waits until no chardev in `ids` has a peer any more (QEMU has
        handled the hang-ups); False on timeout."""
        return self._wait_chardevs(ids, False, timeout)

    def _wait_chardevs(self, ids, connected, timeout):
        deadline = time.monotonic() + timeout
        while True:
            state = {c["label"]: c["filename"] for c in self.qmp.cmd("query-chardev")}
            if all(state.get(i, "disconnected:").startswith("disconnected:") != connected for i in ids):
                return True
            if time.monotonic() > deadline:
                print("chardevs: %s" % state)
                return False
            time.sleep(0.02)

    def sync(self):
        """A QMP round trip: QEMU's main loop has handled earlier events."""
        self.qmp.cmd("query-status")

    def terminate(self, timeout=10.0):
        if self.qmp is not None and self.alive():
            try:
                self.qmp.cmd("quit")
                self.proc.wait(timeout)
            except Exception:
                pass
            self.qmp.close()
            self.qmp = None
        return super().terminate(timeout)


def unix(workdir, name):
    return "unix:" + os.path.join(workdir, name + ".sock")


def path_of(address):
    return address.partition(":")[2]


def chardev_server(cid, address):
    """-chardev for a QEMU server socket at a colo-graph style address."""
    kind, _, rest = address.partition(":")
    if kind == "unix":
        return "socket,id=%s,path=%s,server=on,wait=off" % (cid, rest)
    host, _, port = rest.rpartition(":")
    return "socket,id=%s,host=%s,port=%s,server=on,wait=off" % (cid, host, port)


def chardev_client(cid, address, reconnect=0):
    kind, _, rest = address.partition(":")
    if kind == "unix":
        arg = "socket,id=%s,path=%s" % (cid, rest)
    else:
        host, _, port = rest.rpartition(":")
        arg = "socket,id=%s,host=%s,port=%s" % (cid, host, port)
    return arg + (",reconnect=%d" % reconnect if reconnect else "")

