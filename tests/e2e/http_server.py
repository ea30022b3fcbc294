"""A static file server whose responses depend only on the files served:
fixed Date and Server headers, so two guests serving the same files send the
same bytes (python's http.server would put the wall clock in every reply).

Usage: http_server.py ROOT PORT [--rate BYTES_PER_SECOND]
--rate paces every response body (64 KiB writes, sleeping to keep the rate),
so that a large download lasts long enough for something to happen during it
(tests/e2e/failover.sh)."""
import http.server
import os
import sys
import time

CHUNK = 64 * 1024


class Handler(http.server.SimpleHTTPRequestHandler):
    server_version = "colo-e2e"
    sys_version = ""
    rate = 0    # bytes per second and response; 0: as fast as the socket takes them

    def date_time_string(self, timestamp=None):
        return "Thu, 01 Jan 2026 00:00:00 GMT"

    def log_message(self, *args):
        pass

    def copyfile(self, source, outputfile):
        if not self.rate:
            return super().copyfile(source, outputfile)
        start, sent = time.monotonic(), 0
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                return
            outputfile.write(chunk)
            sent += len(chunk)
            ahead = sent / self.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)


def main():
    args = sys.argv[1:]
    if "--rate" in args:
        i = args.index("--rate")
        Handler.rate = int(args[i + 1])
        del args[i:i + 2]
    root, port = args[0], int(args[1])
    os.chdir(root)
    http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
