"""Plays the COLO frame on a colo-graph notify socket (the Xen notify_dev
protocol): answers every DO_CHECKPOINT with COLO_CHECKPOINT after a short
pause, reconnecting if the socket goes away. Counts requests in a file."""
import socket
import struct
import sys
import time


def frames(sock):
    buf = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return
        buf += data
        while len(buf) >= 4:
            (n,) = struct.unpack(">I", buf[:4])
            if len(buf) < 4 + n:
                break
            yield buf[4:4 + n]
            buf = buf[4 + n:]


def main():
    host, port, count_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    requests = 0
    deadline = time.time() + 600
    while time.time() < deadline:
        try:
            s = socket.create_connection((host, port), timeout=None)
        except OSError:
            time.sleep(0.2)
            continue
        msg = b"COLO_USERSPACE_PROXY_INIT"
        s.sendall(struct.pack(">I", len(msg)) + msg)
        for f in frames(s):
            if f == b"DO_CHECKPOINT":
                requests += 1
                with open(count_file, "w") as out:
                    out.write(str(requests))
                time.sleep(0.02)   # the checkpoint itself
                reply = b"COLO_CHECKPOINT"
                s.sendall(struct.pack(">I", len(reply)) + reply)
        s.close()


if __name__ == "__main__":
    main()
