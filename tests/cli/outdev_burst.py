"""A checkpoint flush releases PRIMARIES queued primaries in one burst into an
outdev whose reader is slow. Drives graphs/colo-compare.yaml: PRIMARIES UDP
primaries of one connection (sequence number in the payload) on primary_in,
no secondaries; once colo-graph has read them all, COLO_CHECKPOINT on
notify_dev makes the comparator release every one of them at once. The outdev
reader takes READ bytes at a time and sleeps PAUSE seconds between reads.
Prints what arrived; colo-graph's --stats go to WORKDIR/stats.txt.
With PAUSE < 0 the reader never reads: one second after the flush colo-graph
is sent SIGTERM, and the time it takes to exit is printed.
Usage: outdev_burst.py BIN SRC WORKDIR PRIMARIES READ PAUSE"""
import fcntl
import os
import socket
import struct
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(__file__))
from colo_compare import connect, start, take_sequence_numbers  # noqa: E402
from pcapfile import udp_frame  # noqa: E402


def unsent(sock):
    """Bytes written to a unix socket that its peer has not read yet."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]


def main():
    binary, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
    primaries, chunk, pause = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    proc, paths = start(binary, src, work, "max_queue_size=%d" % primaries, "compare_timeout=600000")
    try:
        out = connect(paths["out"])
        out.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        pin, notify = connect(paths["pin"]), connect(paths["notify"])
        time.sleep(0.2)   # every peer accepted (a server serves one at a time; these are all first)

        t0 = time.time()
        wire = bytearray()
        for i in range(primaries):
            rec = udp_frame(4000, 53, struct.pack("!I", i) + b"x" * 60)
            wire += struct.pack("!I", len(rec)) + rec
        pin.sendall(wire)
        # colo-graph reads a socket and runs what it read through the graph
        # before it reads anything else, so once primary_in's bytes are all
        # taken, every primary is queued before the checkpoint is read.
        deadline = time.time() + 30
        while unsent(pin) and time.time() < deadline:
            time.sleep(0.01)
        checkpoint = b"COLO_CHECKPOINT"
        notify.sendall(struct.pack("!I", len(checkpoint)) + checkpoint)
        t_flush = time.time()
        if pause < 0:
            time.sleep(1.0)
            t_term = time.time()
            proc.terminate()
            proc.wait(30)
            print("queued %d primaries, read none; exited %.2fs after SIGTERM" % (primaries, time.time() - t_term))
            return

        out.settimeout(5.0)
        buf, seqs = b"", []
        while len(seqs) < primaries:
            try:
                data = out.recv(chunk)
            except socket.timeout:
                break
            if not data:
                break
            buf = take_sequence_numbers(buf + data, seqs)
            time.sleep(pause)
        t_end = time.time()
    finally:
        proc.terminate()
        proc.wait(30)
    in_order = sum(1 for i, s in enumerate(seqs) if s == i)
    print("queued %d primaries in %.2fs, received %d in %.2fs after the flush, in order %d" %
          (primaries, t_flush - t0, len(seqs), t_end - t_flush, in_order))


if __name__ == "__main__":
    main()
