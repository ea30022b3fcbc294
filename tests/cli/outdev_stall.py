"""Drivers for outdev_stall.sh: socket outputs whose reader stops reading.

Default mode: drives graphs/colo-compare.yaml while its outdev reader stalls
for a while: sends PAIRS identical UDP pairs (sequence number in the payload)
from a thread of its own, reads nothing for STALL seconds, then drains. While
the outdev's queue is full colo-graph holds back (back-pressure), so the
sender blocks too, until the reader reads again or, once it has read nothing
for the outdev's stall_timeout, colo-graph drops what does not fit and reads
its inputs again. With "diverge", one divergent pair follows the identical
ones, and a reader on notify_dev notes when its DO_CHECKPOINT arrives: a path
of the graph other than the stalled outdev. Prints when the sender finished,
the received count and order inversions.
Usage: outdev_stall.py BIN SRC WORKDIR PAIRS STALL [diverge]

Relay mode: two colo-graph processes whose sockets feed each other, as a
COLO primary (mirror output to the secondary) and secondary (compare output
back to the primary) do. RECORDS 1,000-byte records flood the first
process's `flood` socket; it sends them to the second process, which sends
each back twice (a mirror node: answers outweigh requests, as a guest's
replies do) to the first, which passes them to `back`, read by this driver.
Each process has one I/O thread, blocked injecting while its graph waits on
its output, so unbounded waits deadlock both. STALL_TIMEOUT is the
stall_timeout of both cross sockets in ms ("none": the property is left out).
Once the flood is sent, marker records follow it until the last one sent
has come back twice: then every record has arrived or was dropped (and
counted), and none is in flight when both processes stop. Prints whether the
flood got through and drained within DEADLINE seconds, how many markers it
took, and how many records arrived; --stats go to WORKDIR/p-stats.txt and
WORKDIR/s-stats.txt.
Usage: outdev_stall.py relay BIN WORKDIR RECORDS STALL_TIMEOUT DEADLINE"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from colo_compare import connect, start, take_sequence_numbers  # noqa: E402
from pcapfile import udp_frame  # noqa: E402


def compare_mode(binary, src, work, pairs, stall, diverge):
    proc, paths = start(binary, src, work)
    out = connect(paths["out"])
    out.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    pin, sin, notify = connect(paths["pin"]), connect(paths["sin"]), connect(paths["notify"])
    time.sleep(0.2)
    t_start = time.time()
    t_end = t_start + stall
    sent_at, checkpoint_at = [], []

    def send():
        for i in range(pairs):
            rec = udp_frame(4000 + i % 64, 53, struct.pack("!I", i) + b"x" * 60)
            framed = struct.pack("!I", len(rec)) + rec
            pin.sendall(framed)
            sin.sendall(framed)
        if diverge:
            for side, fill in ((pin, b"p"), (sin, b"s")):
                rec = udp_frame(5000, 53, struct.pack("!I", pairs) + fill * 60)
                side.sendall(struct.pack("!I", len(rec)) + rec)
        sent_at.append(time.time())

    def watch_notify():
        buf = b""
        while not checkpoint_at:
            data = notify.recv(4096)
            if not data:
                return
            buf += data
            if b"DO_CHECKPOINT" in buf:
                checkpoint_at.append(time.time())

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    if diverge:
        threading.Thread(target=watch_notify, daemon=True).start()
    time.sleep(max(0.0, t_end - time.time()))
    # Once reading resumed, 3 s of silence mean the outdev has written all it
    # will (with drops, fewer than PAIRS arrive).
    out.settimeout(10.0 if not diverge else 3.0)
    buf, seqs = b"", []
    while len(seqs) < pairs:
        try:
            data = out.recv(1 << 20)
        except socket.timeout:
            break
        if not data:
            break
        buf = take_sequence_numbers(buf + data, seqs)
        out.settimeout(3.0)
    sender.join(10)
    proc.terminate()
    proc.wait(10)
    inversions = sum(1 for a, b in zip(seqs, seqs[1:]) if b < a)
    line = "sent %d pairs in %.2fs, stalled %.1fs, received %d, inversions %d" % (
        pairs, (sent_at or [time.time()])[0] - t_start, stall, len(seqs), inversions)
    if diverge:
        line = "%s; checkpoint request after %s" % (
            line, "%.2fs" % (checkpoint_at[0] - t_start) if checkpoint_at else "never")
    print(line)


P_GRAPH = """description: relay test, the primary's side
nodes:
  flood:  { type: socket, address: "unix:%(w)s/flood.sock" }
  to_s:   { type: socket, address: "unix:%(w)s/p2s.sock", queue_packets: 16%(st)s }
  from_s: { type: socket, address: "unix:%(w)s/s2p.sock" }
  back:   { type: socket, address: "unix:%(w)s/back.sock" }
links:
  - flood.out -> to_s.in
  - from_s.out -> back.in
"""

S_GRAPH = """description: relay test, the secondary's side
nodes:
  from_p: { type: socket, mode: client, reconnect_ms: 20, address: "unix:%(w)s/p2s.sock" }
  twice:  { type: mirror }
  to_p:   { type: socket, mode: client, reconnect_ms: 20, address: "unix:%(w)s/s2p.sock", queue_packets: 16%(st)s }
links:
  - from_p.out -> twice.in
  - twice.out -> to_p.in
  - twice.mirror -> to_p.in
"""


def relay_mode(binary, work, records, stall_timeout, deadline):
    st = "" if stall_timeout == "none" else ", stall_timeout: %d" % int(stall_timeout)
    procs = []
    for side, graph in (("p", P_GRAPH), ("s", S_GRAPH)):
        path = os.path.join(work, side + ".yaml")
        with open(path, "w") as f:
            f.write(graph % {"w": work, "st": st})
        procs.append(subprocess.Popen([binary, "run", path, "--stats"],
                                      stdout=open(os.path.join(work, side + "-stats.txt"), "w"),
                                      stderr=open(os.path.join(work, side + "-stderr.txt"), "w")))
        if side == "p":
            flood, back = connect(os.path.join(work, "flood.sock")), connect(os.path.join(work, "back.sock"))
    # Both cross sockets connected before the flood (a server accepts one peer at a time).
    t0 = time.time()
    while time.time() - t0 < 10:
        with open(os.path.join(work, "p-stderr.txt")) as f:
            if f.read().count("peer connected") >= 4:
                break
        time.sleep(0.02)

    def framed(i):
        rec = struct.pack("!I", i) + b"r" * 996
        return struct.pack("!I", len(rec)) + rec

    wire = b"".join(framed(i) for i in range(records))
    done = []

    def send():
        flood.sendall(wire)
        done.append(time.time())

    received = [0]
    copies = {}   # record number -> copies arrived, for the markers (numbers from RECORDS on)

    def read():
        buf = b""
        while True:
            data = back.recv(1 << 20)
            if not data:
                return
            buf += data
            pos = 0
            while len(buf) - pos >= 4:
                (n,) = struct.unpack_from("!I", buf, pos)
                if len(buf) - pos < 4 + n:
                    break
                (i,) = struct.unpack_from("!I", buf, pos + 4)
                if i >= records:
                    copies[i] = copies.get(i, 0) + 1
                received[0] += 1
                pos += 4 + n
            buf = buf[pos:]

    t_start = time.time()
    threading.Thread(target=send, daemon=True).start()
    threading.Thread(target=read, daemon=True).start()
    while not done and time.time() - t_start < deadline:
        time.sleep(0.02)
    # Then until the flood has drained: nothing in flight, so that stopping the
    # processes loses nothing. Records keep their order through both processes
    # (an output drops what it cannot queue, it never reorders), and the later
    # of the two copies `twice` sends of a record follows both copies of every
    # record read before it; so once both copies of a record sent after the
    # flood arrived, every
    # earlier record has arrived or was dropped and counted. Such a marker can
    # be dropped too: while the last one sent has not come back twice, another
    # follows every 0.5 s (that only paces them: drained is when the last one
    # sent came back twice, however long that takes). A quiet second proves
    # nothing: under load a process can get no CPU for longer than that.
    markers, drained, sent_at = 0, False, 0.0
    while done and time.time() - t_start < deadline:
        if markers and copies.get(records + markers - 1, 0) >= 2:
            drained = True
            break
        if not markers or time.time() - sent_at >= 0.5:
            flood.sendall(framed(records + markers))
            markers, sent_at = markers + 1, time.time()
        time.sleep(0.02)
    t_stop = time.time()
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(30)
    if drained:
        print("flood of %d records through in %.2fs, drained after %d markers; received %d"
              % (records, done[0] - t_start, markers, received[0]))
    else:
        print("flood of %d records stuck after %.0fs (%s); received %d"
              % (records, t_stop - t_start, "sent, not drained" if done else "not sent", received[0]))


def main():
    if sys.argv[1] == "relay":
        relay_mode(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
    else:
        compare_mode(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
                     len(sys.argv) > 6 and sys.argv[6] == "diverge")


if __name__ == "__main__":
    main()
