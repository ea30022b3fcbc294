"""The HTTP server of the e2e benchmark (tools/bench/e2e.sh): the e2e tests'
server (tests/e2e/http_server.py: replies that depend only on the files, so
two guests send the same bytes) made fast enough not to be what is measured.

- HTTP/1.1 keep-alive: the latency case sends its 1,000 requests on one
  connection (http.server speaks HTTP/1.0 and closes after each reply);
- the head and a small body leave in one write, with Nagle off, so a small
  reply is one segment that never waits for a delayed ACK;
- bodies go out with sendfile(2): no copy through Python, well over 1 GB/s
  on a veth link (a read/write loop tops out below that);
- a listen backlog of 128: with socketserver's default of 5, most of the 20
  parallel downloads' SYNs overflowed the queue and were sent again a second
  later, so that case measured the SYN retry, not the link.

Usage: e2e_http_server.py ROOT PORT"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
import http_server  # noqa: E402


class Handler(http_server.Handler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024        # the head waits in the buffer for the body
    small_body = 16 * 1024      # bodies up to this go through the buffer too

    def copyfile(self, source, outputfile):
        size = os.fstat(source.fileno()).st_size
        if size <= self.small_body:
            outputfile.write(source.read())
            return
        outputfile.flush()
        self.connection.sendfile(source)


class Server(http_server.http.server.ThreadingHTTPServer):
    request_queue_size = 128


def main():
    root, port = sys.argv[1], int(sys.argv[2])
    os.chdir(root)
    Server(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
