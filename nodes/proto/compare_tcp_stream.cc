#include "nodes/proto/compare_tcp_stream.hh"

#include "nodes/proto/frame_parse.hh"
#include "nodes/proto/tso_cut.hh"

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

uint32_t later(uint32_t a, uint32_t b)
{
    return seq_after(a, b) ? a : b;
}
uint32_t earlier(uint32_t a, uint32_t b)
{
    return seq_after(a, b) ? b : a;
}

} // namespace

void TcpStreamCompare::note_ack(uint32_t& max_ack, bool& set, uint32_t ack)
{
    if (!set || seq_after(ack, max_ack)) max_ack = ack;
    set = true;
}

void TcpStreamCompare::note_secondary_sent(uint32_t seq, uint32_t payload_len, uint8_t tcp_flags)
{
    if (tcp_flags & (tcpflag::SYN | tcpflag::RST)) return;
    const uint32_t end = seq + payload_len + ((tcp_flags & tcpflag::FIN) ? 1 : 0);
    secondary_sent_end_ = secondary_sent_set_ ? later(secondary_sent_end_, end) : end;
    secondary_sent_set_ = true;
}

void TcpStreamCompare::note_syn(uint32_t& isn, bool& seen, bool other_seen, uint32_t seq)
{
    if (seen ? isn != seq : !other_seen) *this = TcpStreamCompare{}; // a new incarnation of the tuple
    isn = seq;
    seen = true;
}

bool TcpStreamCompare::verified(const QueuedPacket& q) const
{
    return cursor_set_ && !seq_after(q.seq_end(), cursor_);
}

uint32_t TcpStreamCompare::start_of(const QueuedPacket& q) const
{
    const uint32_t from = q.seq + q.matched;
    return cursor_set_ ? later(from, cursor_) : from;
}

bool TcpStreamCompare::ack_gate_open(const QueuedPacket& p) const
{
    if (!(p.tcp_flags & tcpflag::ACK)) return true;
    if (!primary_ack_set_ || !secondary_ack_set_) return false;
    return !seq_after(p.ack, earlier(primary_max_ack_, secondary_max_ack_));
}

bool TcpStreamCompare::secondary_said(const QueuedPacket& p) const
{
    if (!secondary_sent_set_ || (p.tcp_flags & (tcpflag::SYN | tcpflag::RST))) return false;
    const uint32_t end = p.seq + ((p.tcp_flags & tcpflag::FIN) ? 1 : 0);
    return !seq_after(end, secondary_sent_end_) && ack_gate_open(p);
}

void TcpStreamCompare::set_cursor(uint32_t seq)
{
    cursor_ = seq;
    cursor_set_ = true;
    cursor_offset_ = primary_syn_seen_ ? uint32_t(seq - (primary_isn_ + 1)) : 0;
}

void TcpStreamCompare::advance(uint32_t new_cursor)
{
    if (seq_after(new_cursor, cursor_)) bytes_verified_ += uint32_t(new_cursor - cursor_);
    skip_to(new_cursor);
}

void TcpStreamCompare::skip_to(uint32_t seq)
{
    if (!cursor_set_) {
        set_cursor(seq);
    } else if (seq_after(seq, cursor_)) {
        cursor_offset_ += uint32_t(seq - cursor_);
        cursor_ = seq;
    }
}

void TcpStreamCompare::flushed(const PacketQueue& primary)
{
    for (uint32_t i = 0; i < primary.size(); ++i)
        if (primary[i].region_len != 0) skip_to(primary[i].seq_end());
    diverged_ = false;
}

uint64_t TcpStreamCompare::stream_offset(uint32_t seq) const
{
    const int64_t off = int64_t(cursor_offset_) + int32_t(seq - cursor_);
    return off < 0 ? 0 : uint64_t(off);
}

Divergence TcpStreamCompare::mismatch_at(const QueuedPacket& p, const QueuedPacket& s, uint32_t seq) const
{
    Divergence d = divergence_context(p.region(), p.region_len, uint32_t(seq - p.seq), s.region(), s.region_len,
                                      uint32_t(seq - s.seq));
    d.tcp = true;
    d.seq = seq;
    d.offset = stream_offset(seq);
    return d;
}

TcpStreamCompare::Decision TcpStreamCompare::decide(QueuedPacket& p, QueuedPacket& s, CompareProgress& progress)
{
    // Bytes before the cursor were verified: compare only from there.
    const uint32_t p_start = start_of(p), s_start = start_of(s);
    p.matched = p_start - p.seq;
    s.matched = s_start - s.seq;

    // The bytes both hold at the same sequence numbers, even across a gap:
    // a byte that differs there is a divergence whatever arrives later.
    const uint32_t from = later(p_start, s_start), to = earlier(p.seq_end(), s.seq_end());
    if (seq_after(to, from)) {
        const uint32_t n = to - from;
        const std::size_t diff = first_difference(p.region() + (from - p.seq), s.region() + (from - s.seq), n);
        if (diff < n) {
            progress.mismatch = mismatch_at(p, s, from + uint32_t(diff));
            return Decision::mismatch;
        }
    }
    if (p_start != cursor_ || s_start != cursor_) {
        if (p_start != s_start) return Decision::gap;
        // Both sides skipped the same bytes: compare what both have, as QEMU
        // does. Should the skipped bytes come later, they count as verified.
        skip_to(p_start);
    }

    if (p.seq == s.seq && p.seq_end() == s.seq_end()) return Decision::both;
    if (!seq_after(p.seq_end(), s.seq_end())) {
        if (!ack_gate_open(p)) return Decision::ack_hold;
        s.matched = p.seq_end() - s.seq;
        return Decision::primary_only;
    }
    p.matched = s.seq_end() - p.seq;
    return Decision::secondary_only;
}

CompareProgress TcpStreamCompare::run(PacketQueue& primary, PacketQueue& secondary, std::vector<Packet>& released)
{
    CompareProgress progress;
    const uint64_t verified_before = bytes_verified_;
    diverged_ = false;
    while (!primary.empty()) {
        QueuedPacket& p = primary.front();
        if (p.region_len != 0 && verified(p)) { // its bytes were compared already
            ++progress.retransmits;
            release_front(primary, released, progress);
            continue;
        }
        if (secondary.empty()) {
            if (p.region_len != 0 || !secondary_said(p)) break;
            release_front(primary, released, progress);
            continue;
        }
        const bool pure = p.region_len == 0;
        if (pure) release_front(primary, released, progress);
        QueuedPacket& s = secondary.front();
        if (s.region_len == 0 || verified(s)) {
            free_front(secondary, progress);
            continue;
        }
        if (pure) continue;
        if (!cursor_set_) {
            set_cursor(primary_syn_seen_ ? primary_isn_ + 1 : earlier(p.seq, s.seq));
            continue; // either front may be verified now
        }

        const Decision decision = decide(p, s, progress);
        if (decision == Decision::both) {
            advance(p.seq_end());
            release_front(primary, released, progress);
            free_front(secondary, progress);
        } else if (decision == Decision::primary_only) {
            advance(p.seq_end());
            release_front(primary, released, progress);
            if (verified(secondary.front())) free_front(secondary, progress);
        } else if (decision == Decision::secondary_only) {
            advance(s.seq_end());
            free_front(secondary, progress);
        } else {
            progress.ack_gate_hold = decision == Decision::ack_hold;
            diverged_ = decision == Decision::mismatch;
            break;
        }
    }
    release_verified_front(primary, released, progress);
    // Verified secondary data (a retransmission) has nothing left to compare.
    while (!secondary.empty() && secondary.front().region_len != 0 && verified(secondary.front()))
        free_front(secondary, progress);
    progress.bytes_matched = bytes_verified_ - verified_before;
    return progress;
}

void TcpStreamCompare::release_verified_front(PacketQueue& primary, std::vector<Packet>& released,
                                              CompareProgress& progress)
{
    if (primary.empty() || !cursor_set_) return;
    QueuedPacket& p = primary.front();
    if (p.region_len == 0 || !seq_after(cursor_, p.seq) || !seq_after(p.seq_end(), cursor_) || !ack_gate_open(p))
        return;
    const uint32_t verified_bytes = cursor_ - p.seq;
    std::optional<Packet> front = cut_tso_front(p.packet, verified_bytes);
    if (!front) return;
    released.push_back(std::move(*front));
    ++progress.cuts;
    // The rest's headers now sit just before its payload: same region_off.
    p.seq += verified_bytes;
    p.region_len -= verified_bytes;
    p.matched = 0;
}

std::vector<HoldReason> TcpStreamCompare::hold_reasons(const PacketQueue& primary, const PacketQueue& secondary) const
{
    // Where comparison stands: the cursor, or where the first pass would put it.
    uint32_t base = cursor_;
    if (!cursor_set_) {
        bool found = false;
        for (const PacketQueue* q : {&primary, &secondary})
            for (uint32_t i = 0; i < q->size(); ++i)
                if ((*q)[i].region_len != 0) {
                    base = found ? earlier(base, (*q)[i].seq) : (*q)[i].seq;
                    found = true;
                    break;
                }
        if (primary_syn_seen_) base = primary_isn_ + 1;
    }
    // How far the secondary's bytes reach without a hole, and whether it
    // holds bytes beyond that hole.
    uint32_t secondary_reach = base;
    bool secondary_beyond = false;
    for (uint32_t i = 0; i < secondary.size(); ++i) {
        const QueuedPacket& s = secondary[i];
        if (s.region_len == 0) continue;
        if (seq_after(s.seq, secondary_reach)) {
            secondary_beyond = true;
            break;
        }
        secondary_reach = later(secondary_reach, s.seq_end());
    }

    std::vector<HoldReason> reasons;
    reasons.reserve(primary.size());
    uint32_t primary_reach = base;
    for (uint32_t i = 0; i < primary.size(); ++i) {
        const QueuedPacket& p = primary[i];
        HoldReason why;
        if (p.region_len == 0) {
            why = HoldReason::secondary_packet;
        } else if (diverged_) {
            why = HoldReason::diverged;
        } else if (seq_after(p.seq, primary_reach)) {
            why = HoldReason::primary_gap;
        } else if (!seq_after(p.seq_end(), secondary_reach)) {
            why = HoldReason::ack_gate;
        } else {
            why = secondary_beyond ? HoldReason::secondary_gap : HoldReason::secondary_bytes;
        }
        if (p.region_len != 0 && !seq_after(p.seq, primary_reach)) primary_reach = later(primary_reach, p.seq_end());
        reasons.push_back(why);
    }
    return reasons;
}

} // namespace colo
