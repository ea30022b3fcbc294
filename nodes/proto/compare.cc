// Comparator ingress and per-connection comparison. Scans, flushes and
// eviction are in compare_maintenance.cc.
#include "nodes/proto/compare.hh"

#include <cstring>
#include <stdexcept>

#include "nodes/proto/compare_datagram.hh"

namespace colo {

namespace {

constexpr uint8_t kProtoIcmp = 1, kProtoUdp = 17, kProtoIcmp6 = 58;

CompareKind kind_of(const ParsedFrame& f)
{
    if (f.is_tcp()) return CompareKind::tcp;
    if (f.l4_proto == kProtoUdp || f.l4_proto == kProtoIcmp || f.l4_proto == kProtoIcmp6) return CompareKind::l4;
    // Other protocols, and TCP fragments or truncated TCP headers.
    return CompareKind::frame;
}

// The bytes compared for a packet of the given kind; all end at the IP
// datagram's end, so Ethernet padding is never compared (docs/comparator.md,
// differences from QEMU, rows 1 and 2).
void set_region(QueuedPacket& q, const ParsedFrame& f, CompareKind kind)
{
    uint32_t begin = f.vnet_len;
    if (kind == CompareKind::tcp) begin = f.payload_off;
    else if (kind == CompareKind::l4) begin = f.l4_off;
    q.region_off = begin;
    q.region_len = f.l3_end > begin ? f.l3_end - begin : 0;
}

} // namespace

Comparator::Comparator(CompareConfig config) : config_(std::move(config))
{
    if (auto err = config_.validate(); !err.empty()) throw std::invalid_argument("comparator: " + err);
}

bool Comparator::supported(const ParsedFrame& f) const
{
    return f.ok() && (f.ip_version == 4 || config_.ipv6) && (f.vlan_tags == 0 || config_.vlan);
}

void Comparator::pass_or_drop(CompareSide side, Packet&& pkt, CompareOutput& out, uint64_t& released, uint64_t& dropped)
{
    if (side == CompareSide::primary) {
        out.released.push_back(std::move(pkt));
        ++released;
    } else {
        ++dropped;
    }
}

// The members are initialised in place and the hash is left for later:
// reading a frame or a key back right after writing it, before the stores
// have left the store buffer, costs as much again as the parse (store
// forwarding fails on the mixed sizes).
Comparator::Arrival::Arrival(const Comparator& c, const Packet& pkt)
    : frame(c.passthrough_ || !pkt.buf ? ParsedFrame{} : parse_frame(pkt.data(), pkt.len, pkt.vnet_len)),
      key(c.supported(frame) ? FlowKey::from_frame(frame) : FlowKey{})
{}

void Comparator::ingress(CompareSide side, Packet pkt, const Arrival& a, uint64_t now_ns, CompareOutput& out)
{
    ++(side == CompareSide::primary ? counters_.primary_packets_in : counters_.secondary_packets_in);
    if (passthrough_) {
        pass_or_drop(side, std::move(pkt), out, counters_.released_passthrough,
                     counters_.secondary_dropped_passthrough);
        return;
    }
    const ParsedFrame& f = a.frame;
    if (!supported(f)) {
        pass_or_drop(side, std::move(pkt), out, counters_.released_unsupported,
                     counters_.secondary_dropped_unsupported);
        return;
    }
    if (bypassed(config_.bypass, a.key)) {
        pass_or_drop(side, std::move(pkt), out, counters_.released_bypass, counters_.secondary_dropped_bypass);
        return;
    }
    const CompareKind kind = kind_of(f);
    const uint32_t id = connection_for(a.key, kind, now_ns, out);
    if (table_[id].kind != kind) {
        // Only a malformed TCP packet whose key collides with a port-0 stream.
        pass_or_drop(side, std::move(pkt), out, counters_.released_unsupported,
                     counters_.secondary_dropped_unsupported);
        return;
    }
    enqueue(id, side, f, std::move(pkt), now_ns, out);
}

uint32_t Comparator::connection_for(const FlowKey& key, CompareKind kind, uint64_t now_ns, CompareOutput& out)
{
    if (last_id_ != ConnectionTable::npos && table_[last_id_].key == key) return last_id_;
    if (uint32_t id = table_.find(key); id != ConnectionTable::npos) return last_id_ = id;
    if (table_.size() >= config_.max_connections) make_room(out);
    const uint32_t id = last_id_ = table_.insert(key);
    CompareConnection& conn = table_[id];
    conn.kind = kind;
    conn.first_seen = next_serial_++;
    conn.last_active_ns = now_ns;
    ++counters_.connections_created;
    counters_.connections_active = table_.size();
    return id;
}

void Comparator::enqueue(uint32_t id, CompareSide side, const ParsedFrame& f, Packet&& pkt, uint64_t now_ns,
                         CompareOutput& out)
{
    CompareConnection& conn = note_arrival(id, side, pkt.frame_len(), now_ns);
    const bool is_primary = side == CompareSide::primary;

    if (conn.kind == CompareKind::tcp) {
        // A SYN with a new ISN starts a new incarnation of the tuple (a stale
        // compare_seq would make the new stream's data look verified); the
        // other side's twin SYN, however late, keeps what was learned.
        if (f.tcp_flags & tcpflag::SYN) {
            if (is_primary) conn.tcp.note_primary_syn(f.seq);
            else conn.tcp.note_secondary_syn(f.seq);
            conn.closing = false;
        }
        if (f.tcp_flags & (tcpflag::FIN | tcpflag::RST)) conn.closing = true;
    }

    PacketQueue& queue = is_primary ? conn.primary : conn.secondary;
    if (queue.size() >= config_.max_queue_size) {
        ++(is_primary ? counters_.primary_lost_queue_full : counters_.secondary_dropped_queue_full);
        request(CheckpointReason::queue_full, side, conn.key, now_ns, std::nullopt, out);
        return;
    }

    QueuedPacket q;
    q.enqueued_ns = now_ns;
    set_region(q, f, conn.kind);
    q.packet = std::move(pkt);
    ++(is_primary ? counters_.queued_primary : counters_.queued_secondary);
    if (conn.kind == CompareKind::tcp) {
        q.seq = f.seq;
        q.ack = f.ack;
        q.tcp_flags = f.tcp_flags;
        if (f.tcp_flags & tcpflag::ACK) {
            if (is_primary) conn.tcp.note_primary_ack(f.ack);
            else conn.tcp.note_secondary_ack(f.ack);
        }
        if (!is_primary) conn.tcp.note_secondary_sent(q.seq, q.region_len, q.tcp_flags);
        queue.insert_by_seq(std::move(q));
    } else if (!is_primary) {
        // Usually meets its primary waiting: compared without a trip through its queue.
        const uint8_t* const data = q.packet.data();
        account(conn, compare_arriving_secondary(conn.primary, conn.secondary, std::move(q), out.released), now_ns,
                out);
        if (!queue.empty() && queue.back().packet.data() == data) waiting_[std::size_t(side)].record(id, data);
        return;
    } else {
        waiting_[std::size_t(side)].record(id, q.packet.data());
        queue.push_back(std::move(q));
    }
    compare(conn, now_ns, out);
}

CompareConnection& Comparator::note_arrival(uint32_t id, CompareSide side, uint32_t frame_len, uint64_t now_ns)
{
    CompareConnection& conn = table_[id];
    table_.touch(id);
    conn.last_active_ns = now_ns;
    const bool is_primary = side == CompareSide::primary;
    ++(is_primary ? conn.primary_packets : conn.secondary_packets);
    (is_primary ? conn.primary_bytes : conn.secondary_bytes) += frame_len;
    return conn;
}

void Comparator::count_matched(CompareConnection& conn, uint64_t released, uint64_t secondaries, uint64_t bytes)
{
    counters_.released_matched += released;
    counters_.secondary_matched += secondaries;
    counters_.bytes_matched += bytes;
    counters_.queued_primary -= released;
    counters_.queued_secondary -= secondaries;
    conn.matched_packets += released;
    conn.matched_bytes += bytes;
}

uint32_t Comparator::waiting_twin(CompareSide side, const Packet& pkt)
{
    const bool primary = side == CompareSide::primary;
    WaitingRing& ring = waiting_[std::size_t(primary ? CompareSide::secondary : CompareSide::primary)];
    while (!ring.empty()) {
        const WaitingRing::Entry w = ring.oldest();
        CompareConnection& conn = table_[w.id];
        const PacketQueue& waiting = primary ? conn.secondary : conn.primary;
        if (waiting.empty() || waiting.front().packet.data() != w.data) {
            ring.pop(); // its packet left the queue by another way
            continue;
        }
        // The checks the full path makes (a packet of `side` already queued
        // goes first), and the whole frame: identical bytes, identical parse.
        const Packet& twin = waiting.front().packet;
        if (passthrough_ || conn.kind == CompareKind::tcp || !(primary ? conn.primary : conn.secondary).empty() ||
            twin.len != pkt.len || twin.vnet_len != pkt.vnet_len || std::memcmp(twin.data(), pkt.data(), pkt.len) != 0)
            return ConnectionTable::npos;
        ring.pop();
        return w.id;
    }
    return ConnectionTable::npos;
}

void Comparator::match_twin(CompareSide side, uint32_t id, uint32_t frame_len, uint64_t now_ns, CompareOutput& out)
{
    const bool primary = side == CompareSide::primary;
    // As ingress() and enqueue() count the arriving packet (queued, and
    // consumed at once), and account() the match.
    ++(primary ? counters_.primary_packets_in : counters_.secondary_packets_in);
    ++(primary ? counters_.queued_primary : counters_.queued_secondary);
    last_id_ = id;
    CompareConnection& conn = note_arrival(id, side, frame_len, now_ns);
    PacketQueue& waiting = primary ? conn.secondary : conn.primary;
    count_matched(conn, 1, 1, waiting.front().region_len);
    Packet twin = waiting.pop_front(); // a secondary is dropped here
    if (!primary) out.released.push_back(std::move(twin));
    forget_queued_since_when_empty();
}

void Comparator::compare(CompareConnection& conn, uint64_t now_ns, CompareOutput& out)
{
    // A datagram comparison pairs a primary with a secondary: with one side
    // empty it does nothing, and skipping it is the common case (every first
    // packet of a pair). TCP may also release or free a retransmission of
    // verified data on its own.
    const bool tcp = conn.kind == CompareKind::tcp;
    if (tcp ? conn.tcp.nothing_to_do(conn.primary, conn.secondary) : conn.primary.empty() || conn.secondary.empty())
        return;
    account(conn,
            tcp ? conn.tcp.run(conn.primary, conn.secondary, out.released)
                : compare_datagrams(conn.primary, conn.secondary, out.released),
            now_ns, out);
}

void Comparator::account(CompareConnection& conn, const CompareProgress& progress, uint64_t now_ns, CompareOutput& out)
{
    counters_.released_retransmit += progress.retransmits;
    counters_.released_tso_fronts += progress.cuts;
    count_matched(conn, progress.released, progress.secondaries_consumed, progress.bytes_matched);
    if (progress.ack_gate_hold) ++counters_.ack_gate_holds;
    if (progress.mismatch) {
        ++counters_.mismatches;
        if (!conn.first_divergence) conn.first_divergence = std::make_unique<Divergence>(*progress.mismatch);
        request(CheckpointReason::mismatch, CompareSide::primary, conn.key, now_ns, progress.mismatch, out);
    }
}

void Comparator::request(CheckpointReason reason, CompareSide side, const FlowKey& key, uint64_t now_ns,
                         const std::optional<Divergence>& divergence, CompareOutput& out)
{
    // One request per checkpoint; but a request can be lost (no COLO frame
    // listening yet, a reconnecting notify channel), so a still-pending one
    // is repeated once per compare_timeout rather than never.
    const uint64_t retry_ns = uint64_t(config_.compare_timeout_ms) * 1'000'000;
    if (pending_ && now_ns < pending_since_ns_ + retry_ns) {
        ++counters_.requests_suppressed;
        return;
    }
    if (pending_) ++counters_.requests_repeated;
    pending_ = true;
    pending_since_ns_ = now_ns;
    ++counters_.checkpoint_requests;
    out.events.push_back(CheckpointRequest{reason, side, key, now_ns, divergence});
}

} // namespace colo
