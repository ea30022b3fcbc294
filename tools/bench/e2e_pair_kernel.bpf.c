/* pair-kernel's tc programs (tools/bench/e2e_round.sh): the COLO pair's
 * release rule with nothing compared, copied or held.
 *
 * In the COLO pair the comparator releases a segment to the client once both
 * guests have sent it, so the client never acknowledges bytes one guest has
 * not sent, and a reply reaches the client when the later guest sends it.
 * With the kernel forwarding the PVM's frames to the client and mirroring the
 * client's to both guests, the client's ACKs would follow the PVM alone: once
 * the SVM lags by more than its window, every ACK it gets is for data it has
 * not sent, Linux discards those (RFC 5961), and the SVM stops for good (seen:
 * 0.1 of 31 MB sent); and the SVM, never waited for, falls behind (seen: 400
 * replies behind after 1,000 requests). Both guests have the same sequence
 * numbers (SYN cookies, see e2e_round.sh) and send the same bytes, so instead:
 *
 * - pvm_out and svm_out (ingress of the host's ends of the guests' veths)
 *   record per connection (key: the client's port) how far each guest has
 *   sent, its latest ACK and timestamp (TSval), and send a data or FIN frame on
 *   to the client only when it starts before the other guest's end: the later
 *   copy of a range goes, the earlier is dropped (a TSO frame that overlaps
 *   goes whole: the guests cut their frames differently); a frame sent on
 *   carries the lower of the two guests' ACKs and TSvals (a request is
 *   acknowledged once both have it; the client's PAWS check sees no TSval go
 *   back). The PVM's SYN-ACK, resets and pure ACKs go on (with that ACK), the
 *   SVM's are dropped, in the host's stack (they are not for its MAC). Once
 *   the SVM resets a connection (with the servers' listen backlog of 5, it
 *   sometimes never accepts one of 20 at once), the PVM's frames go alone;
 * - client_in_pvm and client_in_svm (egress towards each guest) lower the ACK
 *   in a guest's copy of a client frame to what that guest has sent, for the
 *   bytes of an overlapping frame the other guest sent first.
 *
 * Built by e2e_round.sh: clang -O2 -g -target bpf -c (no libbpf headers needed).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value,
                                   __u64 flags) = (void *)BPF_FUNC_map_update_elem;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_delete_elem;
static long (*bpf_skb_load_bytes)(const void *skb, __u32 offset, void *to, __u32 len) =
    (void *)BPF_FUNC_skb_load_bytes;
static long (*bpf_skb_store_bytes)(void *skb, __u32 offset, const void *from, __u32 len,
                                   __u64 flags) = (void *)BPF_FUNC_skb_store_bytes;
static long (*bpf_l4_csum_replace)(void *skb, __u32 offset, __u64 from, __u64 to,
                                   __u64 flags) = (void *)BPF_FUNC_l4_csum_replace;

struct sent {
    __u32 end;   /* sequence number just past the guest's last byte (SYN, FIN count) */
    __u32 tsval; /* the guest's latest timestamp, host order; 0: none seen */
    __u32 ack;   /* the guest's latest acknowledgement number, host order */
    __u32 gone;  /* the SVM reset the connection (e.g. it never accepted it) */
};
/* client port -> struct sent */
#define SENT_MAP(name)                                                                             \
    struct {                                                                                       \
        __uint(type, BPF_MAP_TYPE_HASH);                                                           \
        __uint(max_entries, 4096);                                                                 \
        __type(key, __u32);                                                                        \
        __type(value, struct sent);                                                                \
        __uint(pinning, 1); /* LIBBPF_PIN_BY_NAME: the programs share them */                      \
    } name SEC(".maps")
SENT_MAP(pvm_sent);
SENT_MAP(svm_sent);

#define TCPOPT_NOP 1 /* the kernel's names; no uapi header has them */
#define TCPOPT_TIMESTAMP 8
#define TCPOLEN_TIMESTAMP 10
#define AFTER(a, b) ((__s32)((a) - (b)) > 0)
#define MATCH -1   /* the filter's actions run (the redirect) */
#define NO_MATCH 0 /* on it goes: to the host's stack, or out of the device */

struct headers {
    __u32 tcp; /* offset of the TCP header */
    __u32 key;
    __u32 end;   /* of the sender's sequence numbers */
    __u32 tsval; /* host order; 0: no timestamp in Linux's layout (NOP, NOP, TS) */
    struct tcphdr th;
};

/* Ethernet, IPv4, TCP: 0 when the frame is one (the skb starts at its
 * Ethernet header); key is the port at the client's end. */
static __attribute__((always_inline)) int parse(struct __sk_buff *skb, struct headers *h, int from_client) {
    struct iphdr ip;
    if (skb->protocol != __builtin_bswap16(ETH_P_IP) || bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof ip) ||
        ip.protocol != IPPROTO_TCP)
        return -1;
    h->tcp = ETH_HLEN + ip.ihl * 4;
    if (bpf_skb_load_bytes(skb, h->tcp, &h->th, sizeof h->th))
        return -1;
    h->key = __builtin_bswap16(from_client ? h->th.source : h->th.dest);
    /* all of the payload: a GSO frame carries up to 64 KiB */
    h->end = __builtin_bswap32(h->th.seq) + (skb->len - h->tcp - h->th.doff * 4) + h->th.syn + h->th.fin;
    __u8 opt[8];
    h->tsval = 0;
    if (h->th.doff >= 8 && !bpf_skb_load_bytes(skb, h->tcp + 20, opt, sizeof opt) && opt[0] == TCPOPT_NOP &&
        opt[1] == TCPOPT_NOP && opt[2] == TCPOPT_TIMESTAMP && opt[3] == TCPOLEN_TIMESTAMP)
        h->tsval = (__u32)opt[4] << 24 | (__u32)opt[5] << 16 | (__u32)opt[6] << 8 | opt[7];
    return 0;
}

static __attribute__((always_inline)) void note_sent(void *map, struct headers *h) {
    struct sent *sent = bpf_map_lookup_elem(map, &h->key);
    __u32 ack = __builtin_bswap32(h->th.ack_seq);
    if (h->th.syn || !sent) {
        struct sent fresh = {h->end, h->tsval, ack};
        bpf_map_update_elem(map, &h->key, &fresh, BPF_ANY);
        return;
    }
    if (AFTER(h->end, sent->end))
        sent->end = h->end;
    if (h->tsval && AFTER(h->tsval, sent->tsval))
        sent->tsval = h->tsval;
    if (h->th.ack && AFTER(ack, sent->ack))
        sent->ack = ack;
}

/* replace the 4 bytes at offset (network order) from -> to, with the checksum */
static __attribute__((always_inline)) void rewrite(struct __sk_buff *skb, struct headers *h, __u32 offset,
                                                   __u32 from, __u32 to) {
    from = __builtin_bswap32(from);
    to = __builtin_bswap32(to);
    bpf_l4_csum_replace(skb, h->tcp + 16, from, to, sizeof to);
    bpf_skb_store_bytes(skb, offset, &to, sizeof to, 0);
}

/* a guest's frame: MATCH sends it on to the client (the filter's redirect) */
static __attribute__((always_inline)) int guest_out(struct __sk_buff *skb, void *self, void *other, int primary) {
    struct headers h;
    if (parse(skb, &h, 0))
        return primary ? MATCH : NO_MATCH;
    if (h.th.rst) { /* its sequence number may be anything: not recorded */
        struct sent *me = bpf_map_lookup_elem(self, &h.key);
        if (!primary && me)
            me->gone = 1;
        return primary ? MATCH : NO_MATCH;
    }
    note_sent(self, &h);
    __u32 seq = __builtin_bswap32(h.th.seq), ack = __builtin_bswap32(h.th.ack_seq);
    struct sent *o = bpf_map_lookup_elem(other, &h.key);
    if (o && o->gone)
        o = 0; /* the PVM alone, as a pair whose SVM has failed */
    if (h.th.syn || h.end == seq) { /* SYN-ACK, pure ACK: the PVM's */
        if (!primary)
            return NO_MATCH;
    } else if (o ? !AFTER(o->end, seq) : !primary) {
        return NO_MATCH; /* the first copy of this range: the other guest's goes */
    }
    if (o && h.th.ack && AFTER(ack, o->ack))
        rewrite(skb, &h, h.tcp + 8, ack, o->ack);
    if (o && h.tsval && o->tsval && AFTER(h.tsval, o->tsval))
        rewrite(skb, &h, h.tcp + 24, h.tsval, o->tsval);
    return MATCH;
}

SEC("pvm_out") int from_pvm(struct __sk_buff *skb) { return guest_out(skb, &pvm_sent, &svm_sent, 1); }
SEC("svm_out") int from_svm(struct __sk_buff *skb) { return guest_out(skb, &svm_sent, &pvm_sent, 0); }

/* a guest's copy of a client frame: its ACK lowered to what the guest has sent */
static __attribute__((always_inline)) int client_in(struct __sk_buff *skb, void *self) {
    struct headers h;
    if (parse(skb, &h, 1))
        return NO_MATCH;
    if (h.th.syn && !h.th.ack) { /* a new connection: forget an old one on this port */
        bpf_map_delete_elem(self, &h.key);
        return NO_MATCH;
    }
    struct sent *sent = bpf_map_lookup_elem(self, &h.key);
    __u32 ack = __builtin_bswap32(h.th.ack_seq);
    if (h.th.ack && sent && AFTER(ack, sent->end))
        rewrite(skb, &h, h.tcp + 8, ack, sent->end);
    return NO_MATCH; /* no verdict: on to the guest */
}

SEC("client_in_pvm") int to_pvm(struct __sk_buff *skb) { return client_in(skb, &pvm_sent); }
SEC("client_in_svm") int to_svm(struct __sk_buff *skb) { return client_in(skb, &svm_sent); }

char _license[] SEC("license") = "GPL";
