"""Reads a download from standard input (curl's output) and times it: every
read is stamped (epoch seconds, one a line in TIMES_FILE), so the intervals
without bytes show how long the client waited while the service moved to the
secondary. Writes the byte count to PROGRESS_FILE as it goes (at most 10
times a second), and at the end one JSON object on standard output: bytes,
sha256 and the time from the first byte to the last.

Usage: failover_meter.py PROGRESS_FILE TIMES_FILE"""
import hashlib
import json
import os
import sys
import time


def main():
    progress, times = sys.argv[1], open(sys.argv[2], "w")
    digest = hashlib.sha256()
    total = 0
    first = last = None
    reported = 0.0
    while True:
        data = os.read(0, 1 << 16)
        now = time.monotonic()
        if not data:
            break
        times.write("%.6f\n" % time.time())
        digest.update(data)
        total += len(data)
        if first is None:
            first = now
        last = now
        if now - reported >= 0.1:
            with open(progress + ".tmp", "w") as f:
                f.write("%d\n" % total)
            os.replace(progress + ".tmp", progress)
            reported = now
    with open(progress, "w") as f:
        f.write("%d\n" % total)
    times.close()
    json.dump({"bytes": total, "sha256": digest.hexdigest(), "seconds": (last - first) if first is not None else 0.0},
              sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
