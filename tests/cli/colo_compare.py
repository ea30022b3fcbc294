"""Shared by the outdev_* drivers: runs graphs/colo-compare.yaml on four unix
sockets in WORKDIR (pin, sin, out, notify), --stats to WORKDIR/stats.txt and
stderr to WORKDIR/stderr.txt, and reads back released records."""
import os
import socket
import struct
import subprocess
import time


def start(binary, src, work, *sets):
    """colo-graph running graphs/colo-compare.yaml; `sets` are extra NAME=VALUE variables."""
    paths = {k: os.path.join(work, k + ".sock") for k in ("pin", "sin", "out", "notify")}
    args = [binary, "run", os.path.join(src, "graphs/colo-compare.yaml"),
            "--set", "primary_in=unix:" + paths["pin"], "--set", "secondary_in=unix:" + paths["sin"],
            "--set", "outdev=unix:" + paths["out"], "--set", "notify_dev=unix:" + paths["notify"],
            "--set", "events=/dev/null", "--stats"]
    for s in sets:
        args += ["--set", s]
    proc = subprocess.Popen(args, stdout=open(os.path.join(work, "stats.txt"), "w"),
                            stderr=open(os.path.join(work, "stderr.txt"), "w"))
    return proc, paths


def connect(path):
    for _ in range(200):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return s
        except OSError:
            time.sleep(0.05)
    raise SystemExit("cannot connect " + path)


def take_sequence_numbers(buf, seqs):
    """Appends the sequence number (the first 4 payload bytes of a UDP frame)
    of every whole record in `buf` to `seqs`; returns the incomplete rest."""
    pos = 0
    while len(buf) - pos >= 4:
        (n,) = struct.unpack_from("!I", buf, pos)
        if len(buf) - pos < 4 + n:
            break
        seqs.append(struct.unpack_from("!I", buf, pos + 4 + 42)[0])
        pos += 4 + n
    return buf[pos:]
