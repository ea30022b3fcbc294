// TcpStreamCompare: QEMU's sequence-based TCP comparison (reference §6.4) for
// one connection, with the §12 fixes.
//
// Only payload bytes are compared, by stream position, so the two guests may
// segment the stream differently; headers (options, window, IP id, TTL) are
// ignored. Both queues are kept in ascending sequence order and consumed from
// the front. Per pass:
//   * a primary without payload, or whose data ends at or before compare_seq
//     (already verified: a retransmission), is released, but only once some
//     secondary packet of the connection is queued (QEMU holds pure ACKs);
//   * such secondaries are freed;
//   * otherwise the fronts are compared from their `matched` offsets:
//     A same range and equal bytes: release p, free s;
//     B p ends within s: equal bytes release p and advance s.matched, but only
//       if p's ACK is covered by the smaller of the two sides' highest ACKs
//       (the ACK gate: the secondary must have acknowledged as much as the
//       primary, else the SVM could miss data the client then stops sending);
//     C p extends beyond s: equal bytes free s and advance p.matched;
//     anything else is a mismatch: both stay queued.
// Deliberate differences from QEMU 7.2:
//   * payload extents come from the IP total length (padding is not payload);
//   * highest ACKs are tracked wrap-aware and only from packets with the ACK
//     flag; min_ack is the wrap-aware smaller one;
//   * "compare_seq unset" is a flag, not the value 0;
//   * an ACK-gate hold is not a mismatch: the pair stays queued without a
//     checkpoint request and resolves when a later secondary ACK arrives (the
//     compare timeout still catches a hold that never resolves);
//   * after branch B a secondary that became fully verified is freed at once,
//     so a differently segmented stream leaves nothing queued to time out;
//   * comparisons are bounded by both packets' remaining bytes, so misaligned
//     streams give a mismatch instead of reading past a payload;
//   * a SYN starts a new incarnation of the connection (reset()).
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

    // Compares the queues as far as possible. Released primaries are appended
    // to `released`, in sequence order; freed secondaries are destroyed.
    CompareProgress run(PacketQueue& primary, PacketQueue& secondary, std::vector<Packet>& released);

    // Forget everything (a new connection reuses the tuple).
    void reset() { *this = TcpStreamCompare{}; }

    bool has_compare_seq() const { return compare_seq_set_; }
    uint32_t compare_seq() const { return compare_seq_; }
    // Payload bytes verified equal since the first compared byte.
    uint64_t bytes_verified() const { return bytes_verified_; }

private:
    enum class Decision { both, primary_only, secondary_only, ack_hold, mismatch };

    static void note_ack(uint32_t& max_ack, bool& set, uint32_t ack);
    Decision decide(QueuedPacket& p, QueuedPacket& s, CompareProgress& progress);
    bool verified(const QueuedPacket& q) const;
    bool ack_gate_open(const QueuedPacket& p) const;
    void advance(uint32_t new_compare_seq);
    uint64_t stream_offset(uint32_t seq) const;
    Divergence mismatch_at(const QueuedPacket& p, const QueuedPacket& s, uint32_t index) const;

    uint64_t bytes_verified_ = 0;
    uint32_t compare_seq_ = 0;       // end sequence of the last compared data
    uint32_t stream_base_ = 0;       // sequence of the first compared byte
    uint32_t primary_max_ack_ = 0, secondary_max_ack_ = 0;
    bool compare_seq_set_ = false, stream_base_set_ = false;
    bool primary_ack_set_ = false, secondary_ack_set_ = false;
};

} // namespace colo
