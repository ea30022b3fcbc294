#!/usr/bin/python3
"""What TLS costs on the compare channel between the hosts (issue #18).

Two colo-graph processes, as on the two hosts of a pair: the "secondary"
side takes framed pairs from a feeder on a unix socket and sends each frame
twice, over two TCP sockets (mirror.out and mirror.mirror), to the "primary"
side's primary_in and secondary_in, where a comparator matches them and
releases the primaries to a null sink. The same run alternates rounds with
plain TCP and with TLS on those two sockets (tls_creds_dir, credentials from
tests/io/make_tls_creds.sh): pairs/s is released pairs over the time from the
first byte fed to the last pair released (the primary's null-sink count,
polled over its control socket); CPU per pair is both processes'
utime+stime over the same span, divided by the pairs. Medians of the rounds,
TLS over plain as ratios.

    tools/bench/tls_overhead.py COLO_GRAPH [--pairs N] [--rounds R] [--sizes 64,1400]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "interop"))
import harness as H   # noqa: E402

PRIMARY = """\
variables: { pin: "", sin: "", creds: "" }
nodes:
  pin:     { type: socket, address: "${pin}", tls_creds_dir: "${creds}", queue_packets: 65536 }
  sin:     { type: socket, address: "${sin}", tls_creds_dir: "${creds}", queue_packets: 65536 }
  compare: { type: comparator, max_queue_size: 65536 }
  sink:    { type: null-sink }
links:
  - pin.out -> compare.primary
  - sin.out -> compare.secondary
  - compare.out -> sink.in
"""

SECONDARY = """\
variables: { feed: "", pin: "", sin: "", creds: "" }
nodes:
  feed:   { type: socket, address: "${feed}" }
  mirror: { type: mirror }
  pin:    { type: socket, mode: client, reconnect_ms: 20, address: "${pin}", tls_creds_dir: "${creds}", queue_packets: 65536 }
  sin:    { type: socket, mode: client, reconnect_ms: 20, address: "${sin}", tls_creds_dir: "${creds}", queue_packets: 65536 }
links:
  - feed.out -> mirror.in
  - mirror.out -> pin.in
  - mirror.mirror -> sin.in
"""


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def released(binary, control):
    out = subprocess.run([binary, "ctl", control, "stats"], capture_output=True, text=True).stdout
    try:
        stats = json.loads(out)
    except ValueError:
        return 0
    sink = next(n for n in stats["nodes"] if n["name"] == "sink")
    return sink["counters"].get("packets", 0)


def feed_bytes(pairs, size):
    """Distinct UDP frames over 256 flows (a sequence number in each), framed."""
    out = bytearray()
    for i in range(pairs):
        payload = struct.pack("!Q", i) + bytes(size - 42 - 8)
        out += H.record(H.udp(payload, sport=10000 + i % 256, dport=20000, pad=False))
    return bytes(out)


def start(binary, wd, name, graph, sets, control=None):
    path = os.path.join(wd, name + ".yaml")
    with open(path, "w") as f:
        f.write(graph)
    argv = [binary, "run", path]
    if control:
        argv += ["--control", control]
    for k, v in sets.items():
        argv += ["--set", "%s=%s" % (k, v)]
    err = open(os.path.join(wd, name + ".err"), "w")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err), os.path.join(wd, name + ".err")


def wait_log(path, text, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as f:
            if f.read().count(text) >= count:
                return True
        time.sleep(0.02)
    return False


def one_round(binary, wd, creds, data, pairs, tag):
    pin, sin = "tcp:127.0.0.1:%d" % H.free_port(), "tcp:127.0.0.1:%d" % H.free_port()
    control = os.path.join(wd, tag + "-control.sock")
    feed = "unix:" + os.path.join(wd, tag + "-feed.sock")
    primary, perr = start(binary, wd, tag + "-primary", PRIMARY, dict(pin=pin, sin=sin, creds=creds), control)
    secondary = None
    try:
        if not wait_log(perr, ": listening", 2):
            raise RuntimeError("primary did not start: " + open(perr).read())
        secondary, serr = start(binary, wd, tag + "-secondary", SECONDARY,
                                dict(feed=feed, pin=pin, sin=sin, creds=creds))
        if not wait_log(serr, ": peer connected", 2) or not wait_log(perr, ": peer connected", 2):
            raise RuntimeError("not connected: " + open(serr).read())
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(feed.partition(":")[2])
        cpu0 = cpu_seconds(primary.pid) + cpu_seconds(secondary.pid)
        t0 = time.monotonic()
        s.sendall(data)
        while released(binary, control) < pairs:
            if time.monotonic() - t0 > 120:
                raise RuntimeError("%s: released %d of %d" % (tag, released(binary, control), pairs))
            time.sleep(0.01)
        seconds = time.monotonic() - t0
        cpu = cpu_seconds(primary.pid) + cpu_seconds(secondary.pid) - cpu0
        s.close()
        return pairs / seconds, cpu * 1e6 / pairs
    finally:
        for p in (secondary, primary):
            if p:
                p.terminate()
                p.wait(10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--pairs", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sizes", default="64,1400")
    a = ap.parse_args()
    wd = tempfile.mkdtemp(prefix="colo-tls-bench-")
    try:
        subprocess.run([os.path.join(SRC, "tests", "io", "make_tls_creds.sh"), os.path.join(wd, "creds")],
                       check=True)
        creds = os.path.join(wd, "creds", "good")
        print("TLS on the compare channel: %d pairs a round, %d rounds each, alternated; medians" % (a.pairs, a.rounds))
        print("%-6s %-6s %12s %14s" % ("size", "mode", "pairs/s", "CPU us/pair"))
        for size in (int(x) for x in a.sizes.split(",")):
            data = feed_bytes(a.pairs, size)
            res = {"plain": [], "tls": []}
            for r in range(a.rounds):
                for mode in (("plain", "tls") if r % 2 == 0 else ("tls", "plain")):
                    res[mode].append(one_round(a.binary, wd, creds if mode == "tls" else "", data, a.pairs,
                                               "%d-%s-%d" % (size, mode, r)))
            med = {}
            for mode in ("plain", "tls"):
                rate = statistics.median(x[0] for x in res[mode])
                cpu = statistics.median(x[1] for x in res[mode])
                med[mode] = (rate, cpu)
                print("%-6d %-6s %12.0f %14.2f   (rounds: %s)" % (size, mode, rate, cpu, ", ".join(
                    "%.0f/%.2f" % x for x in res[mode])))
            print("%-6d tls/plain: pairs/s x%.2f, CPU per pair x%.2f" % (
                size, med["tls"][0] / med["plain"][0], med["tls"][1] / med["plain"][1]))
    finally:
        shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
