"""Drives graphs/colo-compare.yaml while its outdev reader stalls for a while:
sends PAIRS identical UDP pairs (sequence number in the payload) from a
thread of its own, reads nothing for STALL seconds, then drains. While the
reader stalls, colo-graph holds back (back-pressure), so the sender blocks
too until reading resumes. Prints received count and order inversions.
Usage: outdev_stall.py BIN SRC WORKDIR PAIRS STALL"""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from colo_compare import connect, start, take_sequence_numbers  # noqa: E402
from pcapfile import udp_frame  # noqa: E402


def main():
    binary, src, work, pairs, stall = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    proc, paths = start(binary, src, work)
    out = connect(paths["out"])
    out.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    pin, sin = connect(paths["pin"]), connect(paths["sin"])
    time.sleep(0.2)
    t_start = time.time()
    t_end = t_start + stall
    sent_at = []

    def send():
        for i in range(pairs):
            rec = udp_frame(4000 + i % 64, 53, struct.pack("!I", i) + b"x" * 60)
            framed = struct.pack("!I", len(rec)) + rec
            pin.sendall(framed)
            sin.sendall(framed)
        sent_at.append(time.time())

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    time.sleep(max(0.0, t_end - time.time()))
    out.settimeout(10.0)
    buf, seqs = b"", []
    while len(seqs) < pairs:
        try:
            data = out.recv(1 << 20)
        except socket.timeout:
            break
        if not data:
            break
        buf = take_sequence_numbers(buf + data, seqs)
    sender.join(10)
    proc.terminate()
    proc.wait(10)
    inversions = sum(1 for a, b in zip(seqs, seqs[1:]) if b < a)
    print("sent %d pairs in %.2fs, stalled %.1fs, received %d, inversions %d" %
          (pairs, (sent_at or [time.time()])[0] - t_start, stall, len(seqs), inversions))


if __name__ == "__main__":
    main()
