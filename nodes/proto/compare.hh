// Comparator: colo-compare (QEMU net/colo-compare.c; docs/comparator.md) as a
// plain class.
//
// Primary packets (the PVM's output) are held per connection until the
// secondary (the SVM's output) has produced the same data, then released
// byte-identical; secondary packets are never released. Divergence, a packet
// held longer than compare_timeout, or a full queue request a checkpoint; the
// caller answers with checkpoint_done() once the checkpoint has happened.
//
// Ingress, for each packet (as QEMU's packet_enqueue() unless noted):
//  * frames that are not IP, fail to parse, or are IPv6 / VLAN-tagged while
//    config.ipv6 / config.vlan is off: primary released at once, secondary
//    dropped;
//  * traffic matching a bypass rule: the same (colo-graph addition);
//  * otherwise queued on its connection (directional FlowKey) — TCP in
//    sequence order, others in arrival order — and that connection alone is
//    compared (TcpStreamCompare / compare_datagrams).
//
// Time is whatever the caller passes as now_ns (wall clock live, packet
// timestamps in replay); the class never reads a clock.
//
// Checkpoint requests are de-duplicated: after one is emitted, later ones
// only count as requests_suppressed until checkpoint_done(), except that a
// request still pending after compare_timeout is repeated (requests_repeated),
// since the first may have been lost. QEMU emits one per event
// (colo_compare_inconsistency_notify()).
//
// Not thread-safe: one instance is driven by one caller at a time.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/packet.hh"
#include "nodes/proto/compare_config.hh"
#include "nodes/proto/compare_counters.hh"
#include "nodes/proto/compare_events.hh"
#include "nodes/proto/connection_table.hh"
#include "nodes/proto/frame_parse.hh"

namespace colo {

class Comparator {
public:
    // Throws std::invalid_argument when config.validate() fails.
    explicit Comparator(CompareConfig config);

    // Below this many tracked connections the table stays in the caches
    // (8192 entries of 232 bytes: 1.9 MB, an L2 here) and arrive_batch()
    // handles packets one by one: the look-ahead's ring and prefetches cost
    // 3 to 5 ns a packet and buy nothing there (even at 16,384 connections,
    // ahead from 65,536 on).
    static constexpr uint32_t kLookAheadFrom = 8192;

    void primary(Packet pkt, uint64_t now_ns, CompareOutput& out)
    {
        if (meets_waiting_twin(CompareSide::primary, pkt, now_ns, out, [&] { return std::move(pkt); })) return;
        const Arrival a(*this, pkt);
        arrive(CompareSide::primary, std::move(pkt), a, now_ns, out);
    }
    void secondary(Packet pkt, uint64_t now_ns, CompareOutput& out)
    {
        if (meets_waiting_twin(CompareSide::secondary, pkt, now_ns, out, [] { return Packet{}; })) return;
        const Arrival a(*this, pkt);
        arrive(CompareSide::secondary, std::move(pkt), a, now_ns, out);
    }

    // Many packets of one side (a batch, VPP's vector): the same as primary()
    // or secondary() on each in order, each at its own ts_ns, with done(pkt)
    // called after each. From kLookAheadFrom connections on, a pipeline looks
    // ahead: at step t packet t is parsed, t - 1 has its flow's index slot
    // prefetched, t - 3 the entry the slot names, and t - 5 is handled; in a
    // large table these cache misses then overlap instead of being paid one
    // after another.
    // Packets of a const span are shared (a reference each, as a copy);
    // those of a mutable span are taken (moved out, no reference counted):
    // the caller's batch is its own and is dropped afterwards.
    template <class P, class Done>
    void arrive_batch(CompareSide side, std::span<P> pkts, CompareOutput& out, Done&& done)
    {
        static_assert(std::is_same_v<std::remove_const_t<P>, Packet>);
        auto take = [](P& pkt) -> Packet {
            if constexpr (std::is_const_v<P>) return Packet(pkt);
            else return std::move(pkt); // ts_ns, which done() reads, stays
        };
        BufRef::Releaser released;
        // A packet that met its waiting twin: a primary is released, a secondary dropped.
        auto met_twin = [&](P& pkt) {
            if (!meets_waiting_twin(side, pkt, pkt.ts_ns, out, [&] { return take(pkt); })) return false;
            if constexpr (!std::is_const_v<P>)
                if (side == CompareSide::secondary) released.drop(std::move(pkt.buf));
            return true;
        };
        if (table_.size() < kLookAheadFrom) {
            for (P& pkt : pkts) {
                if (met_twin(pkt)) {
                    done(pkt);
                    continue;
                }
                const Arrival a(*this, pkt);
                arrive(side, take(pkt), a, pkt.ts_ns, out);
                done(pkt);
            }
            return;
        }
        constexpr std::size_t kSlot = 1, kEntry = 3, kHandle = 5; // steps behind the parse
        std::array<std::optional<Arrival>, 8> ring;               // packet i at i % 8
        static_assert(kSlot < kEntry && kEntry < kHandle && kHandle < ring.size());
        const std::size_t n = pkts.size();
        for (std::size_t t = 0; t < n + kHandle; ++t) {
            const auto behind = [&](std::size_t d) {
                return t >= d && t - d < n ? &*ring[(t - d) % ring.size()] : nullptr;
            };
            if (t < n) ring[t % ring.size()].emplace(*this, pkts[t]);
            if (Arrival* a = behind(kSlot)) {
                a->hash = uint32_t(a->key.hash());
                table_.prefetch_slot(a->hash);
            }
            if (Arrival* a = behind(kEntry)) table_.prefetch_entry(a->hash);
            if (Arrival* a = behind(kHandle)) {
                P& pkt = pkts[t - kHandle];
                if (!met_twin(pkt)) arrive(side, take(pkt), *a, pkt.ts_ns, out);
                done(pkt);
            }
        }
    }

    // Runs the scan at most once per expired_scan_cycle: the first connection
    // (in first-seen order) holding a primary or secondary packet older than
    // compare_timeout raises one timeout request; connections with empty
    // queues expire after idle_timeout, or one scan cycle after their last
    // packet once a FIN or RST was seen. Timed-out packets stay queued.
    void tick(uint64_t now_ns, CompareOutput& out);

    // The checkpoint happened: per connection in first-seen order, release
    // every queued primary (TCP in sequence order, others in arrival order)
    // and drop every queued secondary. TCP compare state survives. Clears the
    // pending request.
    void checkpoint_done(CompareOutput& out);

    // The secondary is gone: flush as checkpoint_done() does, then pass every
    // later primary straight through uncompared and drop (count) every later
    // secondary, until resume(). QEMU ignores failover in colo-compare and keeps comparing
    // against a secondary that no longer sends, so each primary would wait
    // for a timeout; passing through is the useful choice for a survivor.
    void failover(CompareOutput& out);

    // Stop: flush queued primaries (QEMU's object-del discards them) and pass
    // later packets through as after failover(), so none is ever lost.
    void shutdown(CompareOutput& out);

    // Operator control (`colo-graph ctl`), called between the calls above,
    // from the same caller. Each takes a CompareOutput like the calls above,
    // although only add_bypass() releases anything today.
    //
    // Bypass rules at run time: config().bypass is the list, the one the
    // `bypass` property fills (QEMU: the colo-passthrough-add/del QMP
    // commands of the 2021 series, never merged).
    //
    // add_bypass() appends the rule. Every tracked connection it matches is
    // flushed at once — its queued primaries released in queue order (TCP in
    // sequence order) and counted in released_bypass, its queued secondaries
    // dropped and counted in secondary_dropped_bypass — and its compare state
    // is forgotten; its later packets bypass like any other. Returns false,
    // changing nothing, when an equal rule (BypassRule::operator==) is
    // already in the list.
    bool add_bypass(BypassRule rule, CompareOutput& out);
    // Removes the rule equal to `rule`; false, changing nothing, when there is
    // none. The flows it covered (and no other rule does) are compared again
    // from their next packets, from a clean state: the comparator saw none of
    // their bytes while they bypassed, so each connection starts like one
    // first seen mid-stream. (Nothing is queued on them: add_bypass() flushed
    // them and no packet of theirs was queued since.)
    bool remove_bypass(const BypassRule& rule, CompareOutput& out);
    // The same by the rule's text, parsed first: throws std::invalid_argument
    // (BypassRule::parse()) when it is not a rule.
    bool remove_bypass(std::string_view text, CompareOutput& out);
    // The rules' texts as given, in list order.
    std::vector<std::string> bypass_rules() const;

    // Leaves pass-through (after failover() or shutdown()) and compares again
    // from a clean state: nothing is queued (pass-through queues nothing), no
    // request is pending, and every tracked connection's compare state is
    // forgotten, since the packets that passed were never looked at: each is
    // compared from its next packets like a connection first seen mid-stream.
    // Returns false, changing nothing, when already comparing.
    bool resume(CompareOutput& out);

    // Changes a numeric setting (kCompareSettings; the node property's name)
    // while running. Throws std::invalid_argument naming the setting, and
    // changes nothing, when the name is unknown or the value outside the
    // property's range (as the property parser words it). Every numeric
    // setting may change; each is read afresh where it is used:
    //  * compare_timeout: the next scan measures every queued packet against
    //    the new value (lowered: a packet already older times out at the next
    //    scan), and a pending request repeats after the new value;
    //  * expired_scan_cycle: the next scan is due one new cycle after the last
    //    one (at once if that is past);
    //  * max_queue_size: lowered below what a queue holds, nothing queued is
    //    dropped; that queue refuses new packets (queue_full) until it has
    //    drained below the new limit;
    //  * idle_timeout: applies from the next scan;
    //  * max_connections: lowered below the tracked count, nothing is evicted
    //    at once (that would release queued primaries uncompared); each new
    //    connection still evicts one, and expiry shrinks the table.
    // The rest of CompareConfig is fixed: ipv6 and vlan decide which frames
    // are compared at all (changing them would start comparing flows
    // mid-stream or strand queued packets; bypass rules do that per flow,
    // cleanly), bypass has add_bypass()/remove_bypass(), and report_history
    // is not a node property.
    void set_setting(std::string_view name, int64_t value, CompareOutput& out);

    const CompareCounters& counters() const { return counters_; }
    const CompareConfig& config() const { return config_; }
    bool checkpoint_pending() const { return pending_; }
    bool passing_through() const { return passthrough_; }

    // Active connections plus the last `report_history` expired or evicted
    // ones, in first-seen order.
    std::vector<ConnectionReport> report() const;

private:
    enum class Removal { expired, evicted };

    // A packet parsed, perhaps before its turn. The parse depends on the
    // packet's bytes, the fixed configuration and passthrough_ (no parse
    // then), which no packet's arrival changes: it holds however the table
    // changes meanwhile.
    struct Arrival {
        Arrival(const Comparator& c, const Packet& pkt);
        ParsedFrame frame;
        FlowKey key;       // when frame is supported()
        uint32_t hash = 0; // uint32_t(key.hash()), for arrive_batch()'s prefetches
    };
    void ingress(CompareSide side, Packet pkt, const Arrival& a, uint64_t now_ns, CompareOutput& out);
    void arrive(CompareSide side, Packet&& pkt, const Arrival& a, uint64_t now_ns, CompareOutput& out)
    {
        queued_since_ns_ = std::min(queued_since_ns_, now_ns);
        ingress(side, std::move(pkt), a, now_ns, out);
        forget_queued_since_when_empty();
    }
    void forget_queued_since_when_empty()
    {
        if (counters_.queued_primary + counters_.queued_secondary == 0) queued_since_ns_ = UINT64_MAX;
    }
    // A packet of `side` reached connection `id`: its activity and traffic.
    CompareConnection& note_arrival(uint32_t id, CompareSide side, uint32_t frame_len, uint64_t now_ns);
    // Primaries released and secondaries consumed by a match, and the bytes found equal.
    void count_matched(CompareConnection& conn, uint64_t released, uint64_t secondaries, uint64_t bytes);
    // A packet identical, byte for byte, to the oldest queued datagram of
    // the other side still waiting for its twin is matched with it at once:
    // the same bytes parse to the same flow and compared region, so the
    // outcome is ingress()'s, without the parse and the lookup (guests in
    // step send the same frame, and either may come first). The primary of
    // the two is released (`take()` hands over an arriving one); the caller
    // drops an arriving secondary. False, changing nothing, otherwise: a
    // packet that differs anywhere, even outside the compared bytes, takes
    // the full path.
    template <class Take>
    bool meets_waiting_twin(CompareSide side, const Packet& pkt, uint64_t now_ns, CompareOutput& out, Take&& take)
    {
        const uint32_t id = waiting_twin(side, pkt);
        if (id == ConnectionTable::npos) return false;
        match_twin(side, id, pkt.frame_len(), now_ns, out);
        if (side == CompareSide::primary) out.released.push_back(take());
        return true;
    }
    // The connection of the oldest packet of the other side still waiting,
    // when that packet is `pkt`'s twin; npos otherwise.
    uint32_t waiting_twin(CompareSide side, const Packet& pkt);
    // A packet of `side` met its twin in connection `id`: counted as ingress()
    // would count it, and the twin leaves its queue (released if a primary).
    void match_twin(CompareSide side, uint32_t id, uint32_t frame_len, uint64_t now_ns, CompareOutput& out);
    bool supported(const ParsedFrame& f) const;
    void pass_or_drop(CompareSide side, Packet&& pkt, CompareOutput& out, uint64_t& released, uint64_t& dropped);
    uint32_t connection_for(const FlowKey& key, CompareKind kind, uint64_t now_ns, CompareOutput& out);
    void enqueue(uint32_t id, CompareSide side, const ParsedFrame& f, Packet&& pkt, uint64_t now_ns,
                 CompareOutput& out);
    void compare(CompareConnection& conn, uint64_t now_ns, CompareOutput& out);
    // What a comparison pass did: the counters, and a request on a mismatch.
    void account(CompareConnection& conn, const CompareProgress& progress, uint64_t now_ns, CompareOutput& out);
    void request(CheckpointReason reason, CompareSide side, const FlowKey& key, uint64_t now_ns,
                 const std::optional<Divergence>& divergence, CompareOutput& out);

    void scan(uint64_t now_ns, CompareOutput& out);
    void flush_all(CompareOutput& out);
    void flush(CompareConnection& conn, CompareOutput& out, uint64_t& released, uint64_t& dropped);
    static void forget_state(CompareConnection& conn);
    void make_room(CompareOutput& out);
    void remove(uint32_t id, Removal why);
    ConnectionReport report_of(const CompareConnection& conn, bool active) const;
    std::vector<HeldPrimary> held_primaries(const CompareConnection& conn) const;

    CompareConfig config_;
    CompareCounters counters_;
    ConnectionTable table_;
    uint32_t last_id_ = ConnectionTable::npos; // the last connection looked up: runs of one flow are common
    // Queued datagram packets of one side in arrival order, for
    // waiting_twin(): a hint, never a promise. An entry whose packet no
    // longer heads its connection's queue (matched, flushed, the connection
    // gone) is skipped; a packet that arrives while the ring is full is not
    // recorded.
    class WaitingRing {
    public:
        struct Entry {
            uint32_t id;         // its connection
            const uint8_t* data; // its bytes' address: identifies it, never read
        };
        void record(uint32_t id, const uint8_t* data)
        {
            if (tail_ - head_ < kSize) entries_[tail_++ % kSize] = {id, data};
        }
        bool empty() const { return head_ == tail_; }
        const Entry& oldest() const { return entries_[head_ % kSize]; }
        void pop() { ++head_; }

    private:
        static constexpr uint32_t kSize = 1024;
        std::unique_ptr<Entry[]> entries_ = std::make_unique<Entry[]>(kSize);
        uint32_t head_ = 0, tail_ = 0; // free-running; tail - head entries
    };
    std::array<WaitingRing, 2> waiting_;   // by CompareSide
    std::deque<ConnectionReport> history_; // removed connections, oldest first
    uint64_t next_serial_ = 0;
    uint64_t next_scan_ns_ = 0;
    uint64_t last_scan_ns_ = 0;
    // No queued packet arrived before this: until compare_timeout after it,
    // the scan need not walk every connection for old packets. Lowered by
    // every arrival, raised by a walk that found none old.
    uint64_t queued_since_ns_ = UINT64_MAX;
    bool settle_all_ = true; // the next scan looks at every idle connection (see scan())
    bool pending_ = false;   // a checkpoint request is outstanding
    uint64_t pending_since_ns_ = 0;
    bool passthrough_ = false; // after failover() or shutdown(), until resume()
};

} // namespace colo
