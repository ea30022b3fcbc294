#include "nodes/proto/tcp_stream_compare.hh"

#include <algorithm>
#include <cstring>

#include "nodes/proto/frame_parse.hh"

namespace colo {

namespace {

void release_front(PacketQueue& q, std::vector<Packet>& released, CompareProgress& progress)
{
    released.push_back(q.pop_front());
    ++progress.released;
}

void free_front(PacketQueue& q, CompareProgress& progress)
{
    q.pop_front();
    ++progress.secondaries_consumed;
}

} // namespace

void TcpStreamCompare::note_ack(uint32_t& max_ack, bool& set, uint32_t ack)
{
    if (!set || seq_after(ack, max_ack)) max_ack = ack;
    set = true;
}

bool TcpStreamCompare::verified(const QueuedPacket& q) const
{
    return compare_seq_set_ && !seq_after(q.seq_end(), compare_seq_);
}

bool TcpStreamCompare::ack_gate_open(const QueuedPacket& p) const
{
    if (!(p.tcp_flags & tcpflag::ACK)) return true;
    if (!primary_ack_set_ || !secondary_ack_set_) return false;
    const uint32_t min_ack = seq_after(primary_max_ack_, secondary_max_ack_) ? secondary_max_ack_ : primary_max_ack_;
    return !seq_after(p.ack, min_ack);
}

void TcpStreamCompare::advance(uint32_t new_compare_seq)
{
    const uint32_t from = compare_seq_set_ ? compare_seq_ : stream_base_;
    if (seq_after(new_compare_seq, from)) bytes_verified_ += uint32_t(new_compare_seq - from);
    compare_seq_ = new_compare_seq;
    compare_seq_set_ = true;
}

uint64_t TcpStreamCompare::stream_offset(uint32_t seq) const
{
    const uint32_t from = compare_seq_set_ ? compare_seq_ : stream_base_;
    const int64_t off = int64_t(bytes_verified_) + int32_t(seq - from);
    return off < 0 ? 0 : uint64_t(off);
}

Divergence TcpStreamCompare::mismatch_at(const QueuedPacket& p, const QueuedPacket& s, uint32_t index) const
{
    Divergence d = divergence_context(p.region(), p.region_len, p.matched + index,
                                      s.region(), s.region_len, s.matched + index);
    d.tcp = true;
    d.seq = p.seq + p.matched + index;
    d.offset = stream_offset(d.seq);
    return d;
}

TcpStreamCompare::Decision TcpStreamCompare::decide(QueuedPacket& p, QueuedPacket& s, CompareProgress& progress)
{
    if (!stream_base_set_) {
        stream_base_ = p.seq + p.matched;
        stream_base_set_ = true;
    }
    if (p.seq == s.seq && p.seq_end() == s.seq_end() &&
        std::memcmp(p.region(), s.region(), p.region_len) == 0)
        return Decision::both;

    const uint32_t p_left = p.region_len - p.matched, s_left = s.region_len - s.matched;
    const bool p_ends_within_s = !seq_after(p.seq_end(), s.seq_end());
    const uint32_t want = p_ends_within_s ? p_left : s_left;
    const uint32_t have = std::min({want, p_left, s_left});
    const uint32_t diff = uint32_t(first_difference(p.region() + p.matched, s.region() + s.matched, have));
    if (diff < want) {
        progress.mismatch = mismatch_at(p, s, diff);
        return Decision::mismatch;
    }
    if (!p_ends_within_s) {
        p.matched += want;
        return Decision::secondary_only;
    }
    if (!ack_gate_open(p)) return Decision::ack_hold;
    s.matched += want;
    return Decision::primary_only;
}

CompareProgress TcpStreamCompare::run(PacketQueue& primary, PacketQueue& secondary, std::vector<Packet>& released)
{
    CompareProgress progress;
    const uint64_t verified_before = bytes_verified_;
    while (!primary.empty() && !secondary.empty()) {
        const QueuedPacket& p = primary.front();
        const bool p_spent = p.region_len == 0 || verified(p);
        if (p_spent) {
            if (p.region_len) ++progress.retransmits;
            release_front(primary, released, progress);
        }
        const QueuedPacket& s = secondary.front();
        if (s.region_len == 0 || verified(s)) {
            free_front(secondary, progress);
            continue;
        }
        if (p_spent) continue;

        QueuedPacket& pf = primary.front();
        QueuedPacket& sf = secondary.front();
        switch (decide(pf, sf, progress)) {
        case Decision::both:
            advance(pf.seq_end());
            release_front(primary, released, progress);
            free_front(secondary, progress);
            break;
        case Decision::primary_only:
            advance(pf.seq_end());
            release_front(primary, released, progress);
            if (verified(secondary.front())) free_front(secondary, progress);
            break;
        case Decision::secondary_only:
            advance(sf.seq_end());
            free_front(secondary, progress);
            break;
        case Decision::ack_hold:
            progress.ack_gate_hold = true;
            progress.bytes_matched = bytes_verified_ - verified_before;
            return progress;
        case Decision::mismatch:
            progress.bytes_matched = bytes_verified_ - verified_before;
            return progress;
        }
    }
    progress.bytes_matched = bytes_verified_ - verified_before;
    return progress;
}

} // namespace colo
