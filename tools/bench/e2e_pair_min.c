/* pair-min: the least a COLO pair in user space does, as the e2e bench's
 * ceiling for any proxy on TAPs and a TCP socket between two hosts
 * (tools/bench/e2e_round.sh, docs/performance.md).
 *
 * The same I/O as colo-graph's pair: the primary reads the client's TAP and
 * writes each frame to the PVM's TAP and, framed, to the secondary over TCP;
 * the secondary writes those to the SVM's TAP and sends the SVM's frames back;
 * the primary reads the PVM's TAP and the secondary's frames and writes the
 * PVM's to the client's TAP. Virtio-net headers and TAP offloads, as
 * colo-graph with vnet_hdr_len 12. Of the comparator it keeps the release
 * rule and nothing else: a PVM frame is held until the SVM has sent as far
 * (by TCP sequence number, per connection), then it goes, in order; the SVM's
 * frames are read and dropped. No byte is compared, no frame copied in user
 * space. Both guests need tcp_syncookies=2, the same ISN per connection
 * (colo-graph's rewriter translates instead). One thread per host, poll(),
 * blocking writes; nothing is ever released by a timeout. Fit for the bench's
 * downloads only: with both sockets full in both directions (a large upload
 * during a download) each host would block writing to the other.
 *
 *   e2e-pair-min primary CLIENT_TAP PVM_TAP MIRROR_PORT COMPARE_PORT
 *   e2e-pair-min secondary SVM_TAP MIRROR_PORT COMPARE_PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum { kVnet = 12, kMaxFrame = 65536 + 256, kSockBuf = 1 << 20 };
#define AFTER(a, b) ((int32_t)((a) - (b)) > 0)

static void die(const char* what)
{
    perror(what);
    exit(1);
}

static int open_tap(const char* name)
{
    const int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
    int len = kVnet;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &len) ||
        ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN))
        die(name);
    /* as colo-graph's tap node: a guest's burst of 64 KiB frames must not
     * overflow the queue the kernel keeps for us (1,000 frames by default) */
    const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq q = {.ifr_qlen = 10000};
    snprintf(q.ifr_name, IFNAMSIZ, "%s", name);
    if (s < 0 || ioctl(s, SIOCSIFTXQLEN, &q)) die("SIOCSIFTXQLEN");
    close(s);
    return fd;
}

static int tcp_socket(int port, int listening)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0) die("socket");
    if (listening) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (bind(fd, (struct sockaddr*)&a, sizeof a) || listen(fd, 1)) die("listen");
        const int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) die("accept");
        close(fd);
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        return c;
    }
    while (connect(fd, (struct sockaddr*)&a, sizeof a)) usleep(50000);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return fd;
}

static void write_all(int fd, const uint8_t* p, size_t n)
{
    while (n > 0) {
        const ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) die("write");
        p += w, n -= (size_t)w;
    }
}

static void send_record(int fd, const uint8_t* frame, uint32_t len)
{
    const uint32_t be = htonl(len);
    uint8_t head[4];
    memcpy(head, &be, 4);
    struct iovec iov[2] = {{head, 4}, {(void*)frame, len}};
    ssize_t w = writev(fd, iov, 2);
    if (w < 0) die("writev");
    if ((size_t)w < 4) write_all(fd, head + w, 4 - (size_t)w), w = 4;
    write_all(fd, frame + (w - 4), len - (size_t)(w - 4));
}

static void tap_write(int fd, const uint8_t* f, uint32_t len)
{
    if (write(fd, f, len) < 0 && errno != EAGAIN) die("tap write");
}

/* --- the release rule --------------------------------------------------- */

static uint32_t get32(const uint8_t* p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* An IPv4 TCP frame's connection (the port at the client's end) and the
 * sequence number just past it (SYN and FIN count); 0 for any other frame. */
static int tcp_of(const uint8_t* f, uint32_t len, int from_client, uint16_t* key, uint32_t* end, uint8_t* flags)
{
    if (len < kVnet + 14 + 20 || f[kVnet + 12] != 0x08 || f[kVnet + 13] != 0x00) return 0;
    const uint8_t* ip = f + kVnet + 14;
    const uint32_t ihl = (ip[0] & 15u) * 4;
    if (ip[9] != IPPROTO_TCP || len < kVnet + 14 + ihl + 20) return 0;
    const uint8_t* th = ip + ihl;
    *flags = th[13];
    *key = (uint16_t)(from_client ? th[0] << 8 | th[1] : th[2] << 8 | th[3]);
    const uint32_t payload = len - kVnet - 14 - ihl - (th[12] >> 4) * 4u; /* a GSO frame: up to 64 KiB */
    *end = get32(th + 4) + payload + !!(*flags & 2) + (*flags & 1);
    return 1;
}

struct held {
    struct held* next;
    uint32_t end, len;
    uint8_t frame[];
};
enum { kWaitSynAck, kFollowing, kPvmAlone };
static struct conn {
    uint32_t svm_end; /* how far the SVM has sent */
    uint8_t svm;      /* kWaitSynAck, kFollowing it, kPvmAlone once it reset the connection */
    struct held *head, *tail;
} conns[65536]; /* by the client's port */
static int client_tap;

static int may_go(const struct conn* c, uint32_t end)
{
    return c->svm == kPvmAlone || (c->svm == kFollowing && !AFTER(end, c->svm_end));
}

static void release(struct conn* c)
{
    while (c->head && may_go(c, c->head->end)) {
        struct held* h = c->head;
        tap_write(client_tap, h->frame, h->len);
        c->head = h->next;
        free(h);
    }
    if (!c->head) c->tail = NULL;
}

/* A PVM frame, read into h->frame: goes now, or waits for the SVM. Returns 1
 * when it waits (h is kept), 0 when h may be read into again. */
static int from_pvm(struct held* h)
{
    uint16_t key;
    uint8_t flags;
    struct conn* c = tcp_of(h->frame, h->len, 0, &key, &h->end, &flags) ? &conns[key] : NULL;
    if (!c || (!c->head && may_go(c, h->end))) {
        tap_write(client_tap, h->frame, h->len);
        return 0;
    }
    h->next = NULL;
    if (c->tail) c->tail->next = h;
    else c->head = h;
    c->tail = h;
    return 1;
}

/* An SVM frame, as the secondary sent it: how far the SVM has sent. */
static void from_svm(uint8_t* f, uint32_t len)
{
    uint16_t key;
    uint32_t end;
    uint8_t flags;
    if (!tcp_of(f, len, 0, &key, &end, &flags)) return;
    struct conn* c = &conns[key];
    if (flags & 4) {
        c->svm = kPvmAlone; /* as a pair whose SVM has failed */
    } else if (flags & 2) {
        c->svm_end = end, c->svm = kFollowing;
    } else if (c->svm == kFollowing && AFTER(end, c->svm_end)) {
        c->svm_end = end;
    }
    release(c);
}

/* --- the two hosts ------------------------------------------------------ */

struct stream { /* records from a socket: 4-byte length, then the frame */
    int fd;
    uint8_t* buf;
    size_t have;
};

/* reads what is there and calls on_frame for each whole record; 0 at EOF */
static int read_records(struct stream* s, void (*on_frame)(uint8_t*, uint32_t))
{
    const ssize_t n = read(s->fd, s->buf + s->have, kSockBuf - s->have);
    if (n == 0) return 0;
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    s->have += (size_t)n;
    size_t at = 0;
    while (s->have - at >= 4) {
        const uint32_t len = get32(s->buf + at);
        if (len > kMaxFrame) {
            fprintf(stderr, "e2e-pair-min: record of %u bytes\n", len);
            exit(1);
        }
        if (s->have - at < 4 + len) break;
        on_frame(s->buf + at + 4, len);
        at += 4 + len;
    }
    memmove(s->buf, s->buf + at, s->have - at);
    s->have -= at;
    return 1;
}

static int svm_tap;
static void to_svm(uint8_t* f, uint32_t len)
{
    tap_write(svm_tap, f, len);
}

static void run_primary(int pvm_tap, int mirror_fd, int compare_fd)
{
    struct stream compare = {compare_fd, malloc(kSockBuf), 0};
    struct pollfd fds[3] = {{client_tap, POLLIN, 0}, {pvm_tap, POLLIN, 0}, {compare_fd, POLLIN, 0}};
    static uint8_t frame[kMaxFrame];
    struct held* spare = NULL; /* the buffer the next PVM frame is read into */
    for (;;) {
        if (poll(fds, 3, -1) < 0 && errno != EINTR) die("poll");
        ssize_t n;
        while (fds[0].revents && (n = read(client_tap, frame, sizeof frame)) > 0) {
            uint16_t key;
            uint32_t end;
            uint8_t flags;
            if (tcp_of(frame, (uint32_t)n, 1, &key, &end, &flags) && (flags & 2) && !(flags & 16)) {
                conns[key].svm = kPvmAlone; /* a new connection on this port: what the old one held goes */
                release(&conns[key]);
                conns[key].svm = kWaitSynAck;
            }
            send_record(mirror_fd, frame, (uint32_t)n);
            tap_write(pvm_tap, frame, (uint32_t)n);
        }
        while (fds[1].revents) {
            if (!spare && !(spare = malloc(sizeof *spare + kMaxFrame))) die("malloc");
            if ((n = read(pvm_tap, spare->frame, kMaxFrame)) <= 0) break;
            spare->len = (uint32_t)n;
            if (from_pvm(spare)) spare = NULL; /* held: the next frame needs a buffer of its own */
        }
        if (fds[2].revents && !read_records(&compare, from_svm)) return;
    }
}

static void run_secondary(int mirror_fd, int compare_fd)
{
    struct stream mirror = {mirror_fd, malloc(kSockBuf), 0};
    struct pollfd fds[2] = {{svm_tap, POLLIN, 0}, {mirror_fd, POLLIN, 0}};
    static uint8_t frame[kMaxFrame];
    for (;;) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR) die("poll");
        ssize_t n;
        while (fds[0].revents && (n = read(svm_tap, frame, sizeof frame)) > 0)
            send_record(compare_fd, frame, (uint32_t)n);
        if (fds[1].revents && !read_records(&mirror, to_svm)) return;
    }
}

int main(int argc, char** argv)
{
    if (argc == 6 && !strcmp(argv[1], "primary")) {
        client_tap = open_tap(argv[2]);
        const int pvm_tap = open_tap(argv[3]);
        const int mirror_fd = tcp_socket(atoi(argv[4]), 1);
        run_primary(pvm_tap, mirror_fd, tcp_socket(atoi(argv[5]), 1));
    } else if (argc == 5 && !strcmp(argv[1], "secondary")) {
        svm_tap = open_tap(argv[2]);
        const int mirror_fd = tcp_socket(atoi(argv[3]), 0);
        run_secondary(mirror_fd, tcp_socket(atoi(argv[4]), 0));
    } else {
        fprintf(stderr, "usage: e2e-pair-min primary CLIENT_TAP PVM_TAP MIRROR_PORT COMPARE_PORT\n"
                        "       e2e-pair-min secondary SVM_TAP MIRROR_PORT COMPARE_PORT\n");
        return 64;
    }
    return 0;
}
