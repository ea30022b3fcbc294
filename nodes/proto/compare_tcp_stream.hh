// TcpStreamCompare: QEMU's sequence-based TCP comparison (net/colo-compare.c,
// colo_compare_tcp() and colo_mark_tcp_pkt()) for one connection, done in
// sequence space so that real TCP stacks do not cause false checkpoints.
//
// Only payload bytes are compared, by sequence number, so the two guests may
// segment, retransmit and reorder the stream differently; headers (options,
// window, IP id, TTL) are ignored. Both queues are kept in ascending sequence
// order and consumed from the front. compare_seq (the cursor) is the first
// sequence number not yet verified: bytes before it were compared equal (or
// released by a checkpoint) and are never compared again. Per pass:
//   * a primary whose data ends at or before the cursor (a retransmission of
//     verified data) is released at once; a primary without payload is
//     released once some secondary packet of the connection is queued (QEMU
//     holds pure ACKs); such secondaries are freed; with no secondary queued
//     it is also released when it says nothing the secondary has not said:
//     the secondary sent as far (its FIN included) and acknowledged as much
//     (a primary's resent FIN, a duplicate ACK, an ACK the secondary folded
//     into its FIN would otherwise wait for a packet that never comes);
//   * a front packet that starts before the cursor is compared from the
//     cursor on (a retransmission that straddles the verified point);
//   * if a front does not start at the cursor, that side has a gap: both wait
//     for the missing bytes (reordering, a lost segment), but bytes both
//     fronts hold at the same sequence number are still compared, so a
//     divergence is not held back by a gap; if both fronts start at the same
//     point past the cursor, both sides skipped the same bytes and the
//     cursor moves there (QEMU compares the fronts whatever their sequence);
//   * otherwise the fronts are compared from the cursor over the bytes both
//     hold:
//     A same range and equal bytes: release p, free s;
//     B p ends within s: equal bytes release p (cursor to p's end), but only if
//       p's ACK is covered by the smaller of the two sides' highest ACKs
//       (the ACK gate: the secondary must have acknowledged as much as the
//       primary, else the SVM could miss data the client then stops sending);
//     C p extends beyond s: equal bytes free s (cursor to s's end);
//     different bytes are a mismatch: both stay queued.
// After the pass, the verified start of a TSO frame (a virtio-net GSO
// segment of up to 64 KiB) at the front is cut off and released
// (nodes/proto/tso_cut.hh, subject to the ACK gate): the secondary may need
// the client's ACK for it before its congestion window lets it send the rest.
// The first cursor is the primary's ISN + 1 when its SYN was seen, else the
// lower of the two fronts. After a checkpoint the cursor moves past every
// flushed primary (flushed()): the secondary now continues from the
// primary's state. docs/comparator.md lists every difference from QEMU 7.2.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/packet.hh"
#include "nodes/proto/divergence.hh"
#include "nodes/proto/packet_queue.hh"

namespace colo {

class TcpStreamCompare {
public:
    // Record a queued packet's acknowledgement number (ACK flag set only).
    void note_primary_ack(uint32_t ack) { note_ack(primary_max_ack_, primary_ack_set_, ack); }
    void note_secondary_ack(uint32_t ack) { note_ack(secondary_max_ack_, secondary_ack_set_, ack); }
    // Record how far the secondary has sent: sequence number, payload length
    // and flags of a queued secondary (its SYN/ACK is in the SVM's own
    // sequence space and an RST ends nothing: neither counts).
    void note_secondary_sent(uint32_t seq, uint32_t payload_len, uint8_t tcp_flags);
    // Record a SYN's sequence number. A SYN starts a new incarnation of the
    // tuple (the state is reset) when its side sent a SYN with another ISN
    // before, or when neither side has sent one yet; the other side's twin
    // SYN, however late, and a retransmitted SYN keep what was learned. (The
    // secondary's SYN is in the SVM's own sequence space: the rewriter learns
    // its offset from it. The two sides' ISNs are never compared.)
    void note_primary_syn(uint32_t seq) { note_syn(primary_isn_, primary_syn_seen_, secondary_syn_seen_, seq); }
    void note_secondary_syn(uint32_t seq) { note_syn(secondary_isn_, secondary_syn_seen_, primary_syn_seen_, seq); }

    // Compares the queues as far as possible. Released primaries are appended
    // to `released`, in sequence order; freed secondaries are destroyed.
    CompareProgress run(PacketQueue& primary, PacketQueue& secondary, std::vector<Packet>& released);

    // True when run() would do nothing: one queue is empty and the other's
    // front is a pure ACK or data not yet verified (every first packet of a
    // pair; checked first because it is the common case).
    bool nothing_to_do(const PacketQueue& primary, const PacketQueue& secondary) const
    {
        if (!primary.empty() && !secondary.empty()) return false;
        const PacketQueue& q = primary.empty() ? secondary : primary;
        if (q.empty()) return true;
        if (q[0].region_len != 0) return !verified(q[0]);
        return &q == &secondary || !secondary_said(q[0]);
    }

    // A checkpoint released every primary of `primary` (about to be emptied):
    // nothing up to the end of the last one is compared again, and no
    // divergence is pending any more.
    void flushed(const PacketQueue& primary);

    // Why each queued primary is still queued, in queue order.
    std::vector<HoldReason> hold_reasons(const PacketQueue& primary, const PacketQueue& secondary) const;

private:
    enum class Decision { both, primary_only, secondary_only, ack_hold, gap, mismatch };

    static void note_ack(uint32_t& max_ack, bool& set, uint32_t ack);
    void note_syn(uint32_t& isn, bool& seen, bool other_seen, uint32_t seq);
    Decision decide(QueuedPacket& p, QueuedPacket& s, CompareProgress& progress);
    void release_verified_front(PacketQueue& primary, std::vector<Packet>& released, CompareProgress& progress);
    bool verified(const QueuedPacket& q) const;
    bool ack_gate_open(const QueuedPacket& p) const;
    bool secondary_said(const QueuedPacket& pure_primary) const;
    uint32_t start_of(const QueuedPacket& q) const; // first sequence number still to compare
    void set_cursor(uint32_t seq);
    void skip_to(uint32_t seq);
    void advance(uint32_t new_cursor);
    uint64_t stream_offset(uint32_t seq) const;
    Divergence mismatch_at(const QueuedPacket& p, const QueuedPacket& s, uint32_t seq) const;

    uint64_t bytes_verified_ = 0;
    uint64_t cursor_offset_ = 0; // stream offset of the cursor (from ISN + 1, or the first compared byte)
    uint32_t cursor_ = 0;
    uint32_t primary_isn_ = 0, secondary_isn_ = 0;
    uint32_t primary_max_ack_ = 0, secondary_max_ack_ = 0;
    uint32_t secondary_sent_end_ = 0; // past the secondary's highest byte (or FIN) sent
    bool cursor_set_ = false;
    bool primary_syn_seen_ = false, secondary_syn_seen_ = false;
    bool primary_ack_set_ = false, secondary_ack_set_ = false;
    bool secondary_sent_set_ = false;
    bool diverged_ = false; // the last pass stopped at a mismatch
};

} // namespace colo
