/* pair-kernel's tc programs (tools/bench/e2e_round.sh): what little the
 * guests' TCP needs once no proxy stands between them and the client.
 *
 * In the COLO pair the client sees one stream, and the comparator releases a
 * PVM segment only once the SVM has sent the same, so the client never
 * acknowledges bytes the SVM has not sent. With the kernel forwarding the
 * PVM's frames to the client and mirroring the client's to both guests, the
 * client's ACKs follow the PVM alone: once the SVM lags by more than its
 * window, every ACK it gets is for data it has not sent, Linux discards those
 * (RFC 5961), and the SVM stops for good (seen: 0.1 of 31 MB sent). Lowering
 * those ACKs to what the SVM has sent is not enough: behind at the end of a
 * reply, the SVM waits for ACKs that never come (seen: 28 of 42 MB). So:
 *
 * - pvm_out and svm_out (ingress of the host's ends of the guests' veths)
 *   record per connection (key: the client's port) the sequence number just
 *   past what each guest has sent; pvm_out's filter then redirects the frame
 *   to the client; svm_out's does so only for a frame the PVM has sent in full
 *   already (the client drops it as a duplicate, and acknowledges it at once),
 *   and never a reset (the SVM resets the connections it failed to accept,
 *   see e2e_round.sh), a SYN or a frame without data: every other SVM frame
 *   goes to the host's stack, which drops it. A frame let through carries at
 *   most the PVM's latest acknowledgement and timestamp (TSval): the SVM's
 *   ACK of a request the PVM has not accepted would stop the client from
 *   sending it again (seen: downloads that never started), and the client
 *   would take the SVM's TSval, later by the SVM's lag, for its PAWS check;
 * - client_in (egress towards the SVM) lowers the ACK in the SVM's copy of a
 *   client frame to what the SVM has sent.
 *
 * The client's stream is the PVM's, and the PVM is never held back for the
 * SVM, so the client's figures are those of the PVM's path with the SVM's work
 * beside it, an upper bound for the pair; the SVM gets every request and sends
 * every byte (e2e_round.sh counts them). Nothing is copied, compared or held.
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

SEC("pvm_out") int note_pvm_sent(struct __sk_buff *skb) {
    struct headers h;
    if (!parse(skb, &h, 0))
        note_sent(&pvm_sent, &h);
    return MATCH;
}

SEC("svm_out") int note_svm_sent(struct __sk_buff *skb) {
    struct headers h;
    if (parse(skb, &h, 0))
        return NO_MATCH;
    note_sent(&svm_sent, &h);
    struct sent *pvm = bpf_map_lookup_elem(&pvm_sent, &h.key);
    __u32 seq = __builtin_bswap32(h.th.seq), ack = __builtin_bswap32(h.th.ack_seq);
    if (h.th.rst || h.th.syn || h.end == seq || !pvm || AFTER(h.end, pvm->end))
        return NO_MATCH;
    if (AFTER(ack, pvm->ack))
        rewrite(skb, &h, h.tcp + 8, ack, pvm->ack);
    if (h.tsval && pvm->tsval && AFTER(h.tsval, pvm->tsval))
        rewrite(skb, &h, h.tcp + 24, h.tsval, pvm->tsval);
    return MATCH;
}

SEC("client_in") int clamp_client_ack(struct __sk_buff *skb) {
    struct headers h;
    if (parse(skb, &h, 1))
        return NO_MATCH;
    if (h.th.syn && !h.th.ack) { /* a new connection: forget an old one on this port */
        bpf_map_delete_elem(&pvm_sent, &h.key);
        bpf_map_delete_elem(&svm_sent, &h.key);
        return NO_MATCH;
    }
    struct sent *sent = bpf_map_lookup_elem(&svm_sent, &h.key);
    if (!h.th.ack || !sent)
        return NO_MATCH;
    __u32 ack = __builtin_bswap32(h.th.ack_seq);
    if (AFTER(ack, sent->end))
        rewrite(skb, &h, h.tcp + 8, ack, sent->end);
    return NO_MATCH;
}

char _license[] SEC("license") = "GPL";
