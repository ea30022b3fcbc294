#include "nodes/proto/tcp_rewriter.hh"

#include "nodes/proto/checksum.hh"
#include "nodes/proto/tcp_options.hh"

#include <algorithm>
#include <iterator>

namespace colo {

namespace {

// virtio_net_hdr.flags bit: the checksum field holds only the pseudo-header
// sum and the receiver completes it, so edits must leave it alone.
constexpr uint8_t kVnetNeedsCsum = 0x01;

// a is at or after b in sequence space (RFC 1982 serial arithmetic).
bool seq_at_or_after(uint32_t a, uint32_t b)
{
    return int32_t(a - b) >= 0;
}

bool in_close_states(TcpState s)
{
    return s != TcpState::closed && s != TcpState::syn_sent && s != TcpState::syn_received;
}

enum class Field : uint8_t { seq, ack, sack_edge, tsval, tsecr };

} // namespace

const char* to_string(TcpState s)
{
    switch (s) {
    case TcpState::closed: return "closed";
    case TcpState::syn_sent: return "syn_sent";
    case TcpState::syn_received: return "syn_received";
    case TcpState::established: return "established";
    case TcpState::fin_wait_1: return "fin_wait_1";
    case TcpState::fin_wait_2: return "fin_wait_2";
    case TcpState::closing: return "closing";
    case TcpState::time_wait: return "time_wait";
    case TcpState::close_wait: return "close_wait";
    case TcpState::last_ack: return "last_ack";
    }
    return "?";
}

// The fields of one TCP segment the rewriter reads.
struct TcpRewriter::Segment {
    const uint8_t* data;
    const ParsedFrame& frame;
    TcpOptionScan options;
    std::optional<uint32_t> tsval, tsecr;

    Segment(const uint8_t* d, const ParsedFrame& f) : data(d), frame(f), options(scan_tcp_options(d, f))
    {
        if (options.tsval_off) {
            tsval = load_be32(d + *options.tsval_off);
            tsecr = load_be32(d + *options.tsval_off + 4);
        }
    }
    bool has(uint8_t flag) const { return frame.tcp_flags & flag; }
    uint32_t seq() const { return frame.seq; }
    uint32_t ack() const { return frame.ack; }
    // Sequence number just past this segment's FIN (payload, then the FIN).
    uint32_t fin_end(uint32_t seq) const { return seq + frame.payload_len + 1; }
};

// The 32-bit fields one segment needs changed; unchanged values are dropped.
class TcpRewriter::EditList {
public:
    struct Edit {
        Field field;
        uint32_t off; // offset in the buffer
        uint32_t old_value, new_value;
    };
    void add(Field field, uint32_t off, uint32_t old_value, uint32_t new_value)
    {
        if (old_value != new_value) items_[size_++] = {field, off, old_value, new_value};
    }
    std::span<const Edit> items() const { return {items_.data(), size_}; }

private:
    // seq + ack + TSval + TSecr + 4 SACK blocks of two edges
    std::array<Edit, 4 + 2 * tcpopt::kMaxSackBlocks> items_{};
    std::size_t size_ = 0;
};

TcpRewriter::TcpRewriter(TcpRewriterConfig config) : config_(config)
{
    config_.max_connections = std::max<std::size_t>(1, config_.max_connections);
}

std::span<const TcpRewriterCounterInfo> TcpRewriter::counter_table()
{
    return kTcpRewriterCounterTable;
}

FlowKey TcpRewriter::key_of(const ParsedFrame& f, Direction d)
{
    const FlowKey k = FlowKey::from_frame(f);
    return d == Direction::to_guest ? k.reversed() : k;
}

std::optional<TcpConnectionInfo> TcpRewriter::connection(const FlowKey& key) const
{
    const uint32_t id = table_.find(key);
    if (id == table_.npos) return std::nullopt;
    return table_[id].info;
}

RewriteResult TcpRewriter::process(Packet& p, Direction d, uint64_t now_ns)
{
    ++counters_.packets;
    const ParsedFrame f = parse_frame(p.data(), p.len, p.vnet_len);
    if (!f.is_tcp()) {
        ++counters_.passed_not_tcp;
        return RewriteResult::passed;
    }
    const FlowKey key = key_of(f, d);
    const uint32_t id = find_or_open(key, f.tcp_flags, now_ns);
    if (id == table_.npos) {
        ++counters_.passed_untracked;
        return RewriteResult::passed;
    }
    Connection* c = &table_[id];
    ++counters_.tracked;

    const Segment s(p.data(), f);
    if (s.options.malformed) ++counters_.malformed_options;
    if (d == Direction::to_guest) track_to_guest(*c, s);
    else track_from_guest(*c, s);

    EditList edits;
    plan_edits(*c, s, d, edits);
    const bool changed = apply_edits(p, f, edits);

    if (s.has(tcpflag::RST)) {
        remove(id);
        ++counters_.connections_reset;
    } else {
        track_close(*c, s, d);
        if (c->guest_fin_acked && c->peer_fin_acked) {
            remove(id);
            ++counters_.connections_closed;
        }
    }
    return changed ? RewriteResult::rewritten : RewriteResult::tracked;
}

uint32_t TcpRewriter::find_or_open(const FlowKey& key, uint8_t tcp_flags, uint64_t now_ns)
{
    if (const uint32_t id = table_.find(key); id != table_.npos) {
        table_.touch(id);
        table_[id].info.last_seen_ns = now_ns;
        return id;
    }
    // Only a bare SYN starts something the rewriter can learn offsets from.
    const bool bare_syn = (tcp_flags & (tcpflag::SYN | tcpflag::ACK | tcpflag::RST)) == tcpflag::SYN;
    if (!bare_syn || failover_mode_) return table_.npos;

    if (table_.size() >= config_.max_connections) {
        remove(table_.least_active());
        ++counters_.connections_evicted;
    }
    const uint32_t id = table_.insert(key);
    table_[id].info.last_seen_ns = now_ns;
    ++by_state_[std::size_t(TcpState::closed)];
    ++counters_.connections_opened;
    return id;
}

void TcpRewriter::reopen(Connection& c)
{
    set_state(c, TcpState::closed);
    Connection fresh;
    fresh.info.last_seen_ns = c.info.last_seen_ns;
    fresh.key = c.key;
    fresh.by_age = c.by_age;
    fresh.by_activity = c.by_activity;
    c = fresh;
}

void TcpRewriter::set_state(Connection& c, TcpState s)
{
    --by_state_[std::size_t(c.info.state)];
    ++by_state_[std::size_t(s)];
    c.info.state = s;
}

void TcpRewriter::learn_offsets(Connection& c)
{
    if (!c.info.seq_synced && c.svm_isn && c.pvm_isn) {
        c.info.seq_offset = *c.svm_isn - *c.pvm_isn;
        c.info.seq_synced = true;
        ++counters_.offsets_learned;
    }
    if (!c.info.ts_synced && c.svm_tsval && c.pvm_tsval) {
        c.info.ts_offset = *c.svm_tsval - *c.pvm_tsval;
        c.info.ts_synced = true;
    }
}

// Peer -> guest. The peer acknowledges the PVM's sequence numbers, so its
// handshake ACK reveals PVM_ISN (ack − 1) and its TSecr the PVM's TSval.
void TcpRewriter::track_to_guest(Connection& c, const Segment& s)
{
    const TcpState state = c.info.state;
    if (s.has(tcpflag::SYN) && !s.has(tcpflag::ACK)) {
        // A retransmitted SYN keeps what was learned; any other SYN is a new connection.
        if (state != TcpState::syn_received) {
            reopen(c);
            set_state(c, TcpState::syn_received);
        }
    } else if (s.has(tcpflag::SYN)) {
        // Guest-opened: the server's SYN/ACK acknowledges the PVM's ISN.
        if (state == TcpState::syn_sent) {
            if (!c.info.seq_synced) {
                c.pvm_isn = s.ack() - 1;
                c.pvm_tsval = s.tsecr;
                learn_offsets(c);
            }
            set_state(c, TcpState::established);
        }
    } else if (s.has(tcpflag::ACK) && state == TcpState::syn_received) {
        // Passive open, step 3. The guest's SYN/ACK may still be on its way
        // (e.g. the SVM was paused): remember the PVM side and finish later.
        if (!c.info.seq_synced && !c.pvm_isn) {
            c.pvm_isn = s.ack() - 1;
            c.pvm_tsval = s.tsecr;
            learn_offsets(c);
        }
        if (c.info.seq_synced) set_state(c, TcpState::established);
    }
}

// Guest -> peer. The guest's SYN or SYN/ACK carries SVM_ISN and its TSval.
void TcpRewriter::track_from_guest(Connection& c, const Segment& s)
{
    if (s.has(tcpflag::SYN) && !s.has(tcpflag::ACK)) {
        if (c.info.state != TcpState::syn_sent) {
            reopen(c);
            set_state(c, TcpState::syn_sent);
        }
        if (!c.info.seq_synced) {
            c.svm_isn = s.seq();
            c.svm_tsval = s.tsval;
        }
    } else if (s.has(tcpflag::SYN)) {
        if (c.info.state == TcpState::syn_received && !c.info.seq_synced) {
            c.svm_isn = s.seq();
            c.svm_tsval = s.tsval;
            learn_offsets(c);
            // Completes only if the peer's handshake ACK was already seen.
            if (c.info.seq_synced) set_state(c, TcpState::established);
        }
    }
}

// FIN bookkeeping. Each FIN's end is kept in a space that offsets never
// change: the guest's in PVM space (what the peer acknowledges), the peer's
// in its own (what the guest acknowledges). QEMU compared the guest's FIN in
// PVM space with an ACK already moved to SVM space, so it never matched.
void TcpRewriter::track_close(Connection& c, const Segment& s, Direction d)
{
    if (!in_close_states(c.info.state)) return;
    const TcpState state = c.info.state;
    if (d == Direction::to_guest) {
        if (s.has(tcpflag::ACK) && c.guest_fin_end && !c.guest_fin_acked &&
            seq_at_or_after(s.ack(), *c.guest_fin_end)) {
            c.guest_fin_acked = true;
            if (state == TcpState::fin_wait_1) set_state(c, TcpState::fin_wait_2);
            else if (state == TcpState::closing) set_state(c, TcpState::time_wait);
        }
        if (s.has(tcpflag::FIN) && !c.peer_fin_end) {
            c.peer_fin_end = s.fin_end(s.seq());
            switch (c.info.state) {
            case TcpState::established: set_state(c, TcpState::close_wait); break;
            case TcpState::fin_wait_1: set_state(c, TcpState::closing); break;
            case TcpState::fin_wait_2: set_state(c, TcpState::time_wait); break;
            default: break;
            }
        }
    } else {
        if (s.has(tcpflag::ACK) && c.peer_fin_end && !c.peer_fin_acked && seq_at_or_after(s.ack(), *c.peer_fin_end))
            c.peer_fin_acked = true;
        if (s.has(tcpflag::FIN) && !c.guest_fin_end) {
            c.guest_fin_end = s.fin_end(s.seq() - c.info.seq_offset);
            if (state == TcpState::established) set_state(c, TcpState::fin_wait_1);
            else if (state == TcpState::close_wait) set_state(c, TcpState::last_ack);
        }
    }
}

void TcpRewriter::plan_edits(const Connection& c, const Segment& s, Direction d, EditList& edits) const
{
    const TcpConnectionInfo& i = c.info;
    const uint32_t tcp = s.frame.l4_off;
    if (d == Direction::to_guest) {
        // Segments without ACK carry no meaningful ACK or TSecr (RFC 7323 §3.2).
        if (s.has(tcpflag::ACK) && i.seq_synced) edits.add(Field::ack, tcp + 8, s.ack(), s.ack() + i.seq_offset);
        if (s.has(tcpflag::ACK) && i.ts_synced && s.tsecr)
            edits.add(Field::tsecr, *s.options.tsval_off + 4, *s.tsecr, *s.tsecr + i.ts_offset);
        // SACK blocks acknowledge the guest's data, i.e. PVM-space numbers.
        if (i.seq_synced && s.options.sack_off) {
            for (uint32_t e = 0; e < 2u * s.options.sack_blocks; ++e) {
                const uint32_t off = *s.options.sack_off + 4 * e;
                const uint32_t edge = load_be32(s.data + off);
                edits.add(Field::sack_edge, off, edge, edge + i.seq_offset);
            }
        }
    } else if (!s.has(tcpflag::SYN)) {
        // The guest's SYN and SYN/ACK are the source of SVM_ISN and stay as sent.
        if (i.seq_synced) edits.add(Field::seq, tcp + 4, s.seq(), s.seq() - i.seq_offset);
        if (i.ts_synced && s.tsval) edits.add(Field::tsval, *s.options.tsval_off, *s.tsval, *s.tsval - i.ts_offset);
    }
}

bool TcpRewriter::apply_edits(Packet& p, const ParsedFrame& f, const EditList& edits)
{
    if (edits.items().empty()) return false;
    if (!p.buf.unique()) ++counters_.copied_for_write;
    uint8_t* w = p.mutable_data();
    const uint32_t checksum_off = f.l4_off + l4_checksum_field(6);
    uint16_t checksum = load_be16(w + checksum_off);
    for (const auto& e : edits.items()) {
        store_be32(w + e.off, e.new_value);
        checksum = checksum_update32(checksum, e.old_value, e.new_value, (e.off - f.l4_off) & 1);
        switch (e.field) {
        case Field::seq: ++counters_.seq_rewrites; break;
        case Field::ack: ++counters_.ack_rewrites; break;
        case Field::sack_edge: ++counters_.sack_edge_rewrites; break;
        case Field::tsval: ++counters_.tsval_rewrites; break;
        case Field::tsecr: ++counters_.tsecr_rewrites; break;
        }
    }
    if (f.vnet_len > 0 && (w[0] & kVnetNeedsCsum)) ++counters_.checksum_left_partial;
    else store_be16(w + checksum_off, checksum);
    ++counters_.rewritten;
    return true;
}

void TcpRewriter::remove(uint32_t id)
{
    --by_state_[std::size_t(table_[id].info.state)];
    table_.erase(id);
}

void TcpRewriter::checkpoint()
{
    ++counters_.checkpoints;
    for (uint32_t id = table_.oldest(); id != table_.npos; id = table_.next_by_age(id)) {
        Connection& c = table_[id];
        c.info.seq_offset = 0;
        c.info.ts_offset = 0;
        c.info.seq_synced = true;
        c.info.ts_synced = true;
        c.svm_isn.reset();
        c.pvm_isn.reset();
        c.svm_tsval.reset();
        c.pvm_tsval.reset();
    }
}

void TcpRewriter::failover()
{
    ++counters_.failovers;
    bool translating = false;
    for (uint32_t id = table_.oldest(); id != table_.npos && !translating; id = table_.next_by_age(id))
        translating = table_[id].info.seq_offset != 0 || table_[id].info.ts_offset != 0;
    if (!translating) failover_mode_ = true;
}

std::size_t TcpRewriter::expire(uint64_t now_ns)
{
    if (config_.idle_timeout_ms == 0) return 0;
    const uint64_t timeout_ns = config_.idle_timeout_ms * 1'000'000;
    std::size_t n = 0;
    // The activity list is in last-seen order, so the scan stops at the first live one.
    for (uint32_t id = table_.least_active(); id != table_.npos; id = table_.least_active()) {
        const Connection& c = table_[id];
        if (now_ns < c.info.last_seen_ns || now_ns - c.info.last_seen_ns < timeout_ns) break;
        remove(id);
        ++n;
    }
    counters_.connections_expired += n;
    return n;
}

} // namespace colo
