"""Drives graphs/colo-compare.yaml while its outdev reader stalls for a while:
sends PAIRS identical UDP pairs (sequence number in the payload), reads
nothing for STALL seconds, then drains. Prints received count and order
inversions. Usage: outdev_stall.py BIN SRC WORKDIR PAIRS STALL"""
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from pcapfile import udp_frame  # noqa: E402


def connect(path):
    for _ in range(100):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return s
        except OSError:
            time.sleep(0.05)
    raise SystemExit("cannot connect " + path)


def main():
    binary, src, work, pairs, stall = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    paths = {k: os.path.join(work, k + ".sock") for k in ("pin", "sin", "out", "notify")}
    stats = open(os.path.join(work, "stats.txt"), "w")
    err = open(os.path.join(work, "stderr.txt"), "w")
    proc = subprocess.Popen([binary, "run", os.path.join(src, "graphs/colo-compare.yaml"),
                             "--set", "primary_in=unix:" + paths["pin"], "--set", "secondary_in=unix:" + paths["sin"],
                             "--set", "outdev=unix:" + paths["out"], "--set", "notify_dev=unix:" + paths["notify"],
                             "--set", "events=/dev/null", "--stats"], stdout=stats, stderr=err)
    out = connect(paths["out"])
    out.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    pin, sin = connect(paths["pin"]), connect(paths["sin"])
    time.sleep(0.2)
    t_end = time.time() + stall
    for i in range(pairs):
        rec = udp_frame(4000 + i % 64, 53, struct.pack("!I", i) + b"x" * 60)
        framed = struct.pack("!I", len(rec)) + rec
        pin.sendall(framed)
        sin.sendall(framed)
    sent_at = time.time()
    time.sleep(max(0.0, t_end - time.time()))
    out.settimeout(2.0)
    buf, seqs = b"", []
    while True:
        try:
            data = out.recv(1 << 20)
        except socket.timeout:
            break
        if not data:
            break
        buf += data
        while len(buf) >= 4:
            (n,) = struct.unpack("!I", buf[:4])
            if len(buf) < 4 + n:
                break
            frame = buf[4:4 + n]
            seqs.append(struct.unpack("!I", frame[42:46])[0])
            buf = buf[4 + n:]
    proc.terminate()
    proc.wait(10)
    inversions = sum(1 for a, b in zip(seqs, seqs[1:]) if b < a)
    print("sent %d pairs in %.2fs, stalled %.1fs, received %d, inversions %d" %
          (pairs, sent_at - (t_end - stall), stall, len(seqs), inversions))


if __name__ == "__main__":
    main()
