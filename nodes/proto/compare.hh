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

#include <cstdint>
#include <deque>
#include <optional>
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

    void primary(Packet pkt, uint64_t now_ns, CompareOutput& out)
    {
        ingress(CompareSide::primary, std::move(pkt), now_ns, out);
    }
    void secondary(Packet pkt, uint64_t now_ns, CompareOutput& out)
    {
        ingress(CompareSide::secondary, std::move(pkt), now_ns, out);
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
    // secondary. QEMU ignores failover in colo-compare and keeps comparing
    // against a secondary that no longer sends, so each primary would wait
    // for a timeout; passing through is the useful choice for a survivor.
    void failover(CompareOutput& out);

    // Stop: flush queued primaries (QEMU's object-del discards them) and pass
    // later packets through as after failover(), so none is ever lost.
    void shutdown(CompareOutput& out);

    const CompareCounters& counters() const { return counters_; }
    const CompareConfig& config() const { return config_; }
    bool checkpoint_pending() const { return pending_; }
    bool passing_through() const { return passthrough_; }

    // Active connections plus the last `report_history` expired or evicted
    // ones, in first-seen order.
    std::vector<ConnectionReport> report() const;

private:
    enum class Removal { expired, evicted };

    void ingress(CompareSide side, Packet pkt, uint64_t now_ns, CompareOutput& out);
    bool supported(const ParsedFrame& f) const;
    void pass_or_drop(CompareSide side, Packet&& pkt, CompareOutput& out, uint64_t& released, uint64_t& dropped);
    uint32_t connection_for(const FlowKey& key, CompareKind kind, uint64_t now_ns, CompareOutput& out);
    void enqueue(uint32_t id, CompareSide side, const ParsedFrame& f, Packet&& pkt, uint64_t now_ns,
                 CompareOutput& out);
    void compare(CompareConnection& conn, uint64_t now_ns, CompareOutput& out);
    void request(CheckpointReason reason, CompareSide side, const FlowKey& key, uint64_t now_ns,
                 const std::optional<Divergence>& divergence, CompareOutput& out);

    void scan(uint64_t now_ns, CompareOutput& out);
    void flush_all(CompareOutput& out);
    void flush(CompareConnection& conn, CompareOutput& out, uint64_t& released, uint64_t& dropped);
    void make_room(CompareOutput& out);
    void remove(uint32_t id, Removal why);
    ConnectionReport report_of(const CompareConnection& conn, bool active) const;
    std::vector<HeldPrimary> held_primaries(const CompareConnection& conn) const;

    CompareConfig config_;
    CompareCounters counters_;
    ConnectionTable table_;
    uint32_t last_id_ = ConnectionTable::npos; // the last connection looked up: runs of one flow are common
    std::deque<ConnectionReport> history_;     // removed connections, oldest first
    uint64_t next_serial_ = 0;
    uint64_t next_scan_ns_ = 0;
    uint64_t last_scan_ns_ = 0;
    bool settle_all_ = true; // the next scan looks at every idle connection (see scan())
    bool pending_ = false;   // a checkpoint request is outstanding
    uint64_t pending_since_ns_ = 0;
    bool passthrough_ = false; // after failover() or shutdown()
};

} // namespace colo
