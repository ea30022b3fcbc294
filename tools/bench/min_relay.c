/* min-relay: the socket ceiling for colo-bench's throughput cases.
 *
 * Listens on three unix sockets like QEMU's server=on chardevs, accepts one
 * connection on each, copies primary_in's bytes to outdev with 1 MiB reads
 * and discards secondary_in's. No framing, no parsing, no comparison: the
 * least any proxy on these sockets must do, so colo-graph's pairs/s are
 * quoted as a fraction of it (docs/performance.md).
 *
 *   min-relay PRIMARY_IN SECONDARY_IN OUTDEV
 */
#define _GNU_SOURCE /* accept4 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { kReadSize = 1 << 20 };

static int listen_on(const char* path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "min-relay: path too long: %s\n", path);
        exit(64);
    }
    strcpy(addr.sun_path, path);
    unlink(path);
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(fd, 4) != 0) {
        perror(path);
        exit(71);
    }
    return fd;
}

static int write_all(int fd, const char* p, size_t n)
{
    while (n > 0) {
        const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char** argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: min-relay PRIMARY_IN SECONDARY_IN OUTDEV\n");
        return 64;
    }
    /* All three listen before any accept: the driver connects outdev first. */
    const int listeners[3] = {listen_on(argv[1]), listen_on(argv[2]), listen_on(argv[3])};
    int fds[3];
    for (int i = 0; i < 3; ++i) {
        fds[i] = accept4(listeners[i], NULL, NULL, SOCK_CLOEXEC);
        if (fds[i] < 0) {
            perror("accept");
            return 71;
        }
    }
    char* buf = malloc(kReadSize);
    struct pollfd in[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
    for (;;) {
        if (poll(in, 2, -1) < 0) continue; /* EINTR */
        for (int i = 0; i < 2; ++i) {
            if (!in[i].revents) continue;
            const ssize_t n = read(in[i].fd, buf, kReadSize);
            if (n <= 0) return 0; /* a side closed: the run is over */
            if (i == 0 && write_all(fds[2], buf, (size_t)n) != 0) return 0;
        }
    }
}
