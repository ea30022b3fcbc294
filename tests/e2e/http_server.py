"""A static file server whose responses depend only on the files served:
fixed Date and Server headers, so two guests serving the same files send the
same bytes (python's http.server would put the wall clock in every reply)."""
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    server_version = "colo-e2e"
    sys_version = ""

    def date_time_string(self, timestamp=None):
        return "Thu, 01 Jan 2026 00:00:00 GMT"

    def log_message(self, *args):
        pass


def main():
    root, port = sys.argv[1], int(sys.argv[2])
    os.chdir(root)
    http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
