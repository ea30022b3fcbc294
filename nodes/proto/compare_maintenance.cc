// Comparator housekeeping: the timeout/expiry scan, checkpoint flushes,
// failover/shutdown, eviction and reports.
#include "nodes/proto/compare.hh"

#include <algorithm>

namespace colo {

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;

// A packet of `q` queued for longer than limit_ns; with payload_only, only
// packets with something to compare count. `earliest` is lowered to the
// arrival of every packet that counts.
bool older_than(const PacketQueue& q, uint64_t now_ns, uint64_t limit_ns, bool payload_only, uint64_t& earliest)
{
    // TCP queues are in sequence order, not arrival order: look at all.
    for (uint32_t i = 0; i < q.size(); ++i) {
        if (payload_only && q[i].region_len == 0) continue;
        if (now_ns > q[i].enqueued_ns && now_ns - q[i].enqueued_ns > limit_ns) return true;
        earliest = std::min(earliest, q[i].enqueued_ns);
    }
    return false;
}

} // namespace

void Comparator::tick(uint64_t now_ns, CompareOutput& out)
{
    if (now_ns < next_scan_ns_) return;
    next_scan_ns_ = now_ns + config_.expired_scan_cycle_ms * kNsPerMs;
    scan(now_ns, out);
}

void Comparator::scan(uint64_t now_ns, CompareOutput& out)
{
    const uint64_t timeout_ns = config_.compare_timeout_ms * kNsPerMs;
    const uint64_t cycle_ns = config_.expired_scan_cycle_ms * kNsPerMs;
    const uint64_t idle_ns = config_.idle_timeout_ms * kNsPerMs;
    const auto idle_for = [&](const CompareConnection& c) {
        return now_ns > c.last_active_ns ? now_ns - c.last_active_ns : 0;
    };

    // Timeouts: the first connection, in first-seen order, holding an old
    // packet. None can be old before compare_timeout has passed since the
    // earliest arrival still queued (a lower bound: see queued_since_ns_), so
    // the walk over every connection, a cache miss each (a tenth of the CPU
    // with a million connections, walked every cycle), waits until then; a
    // walk that finds none learns the earliest arrival anew.
    if (counters_.queued_primary + counters_.queued_secondary > 0 && now_ns > queued_since_ns_ &&
        now_ns - queued_since_ns_ > timeout_ns) {
        uint64_t earliest = UINT64_MAX;
        bool found = false;
        for (uint32_t id = table_.oldest(); id != ConnectionTable::npos && !found; id = table_.next_by_age(id)) {
            const CompareConnection& conn = table_[id];
            // A secondary without payload (a surplus pure ACK, a resent FIN)
            // has nothing to compare: it waits for a primary to pair with,
            // but is no reason for a checkpoint.
            const bool old_primary = older_than(conn.primary, now_ns, timeout_ns, false, earliest);
            if (old_primary || older_than(conn.secondary, now_ns, timeout_ns, true, earliest)) {
                ++counters_.timeouts;
                request(CheckpointReason::timeout, old_primary ? CompareSide::primary : CompareSide::secondary,
                        conn.key, now_ns, std::nullopt, out);
                found = true;
            }
        }
        if (!found) queued_since_ns_ = earliest;
    }

    // Idle connections with empty queues. The activity list is in order of
    // last packet, so only its two ends need a look, not every connection
    // (replay runs a scan per second of packet time, thousands per second):
    //  * from the least active end, those idle for idle_timeout expire;
    //  * from the most active end, past those active within a cycle, those
    //    that went idle since the last scan give back their queues' storage,
    //    or expire if they were closing. Earlier ones were seen by earlier
    //    scans, unless a flush emptied their queues since (then look at all).
    for (uint32_t id = table_.least_active(); id != ConnectionTable::npos;) {
        const uint32_t next = table_.next_by_activity(id);
        const CompareConnection& conn = table_[id];
        if (idle_for(conn) < idle_ns) break;
        if (conn.settled()) remove(id, Removal::expired);
        id = next;
    }
    const uint64_t settled_idle = settle_all_ ? UINT64_MAX : cycle_ns + (now_ns - std::min(now_ns, last_scan_ns_));
    settle_all_ = false;
    last_scan_ns_ = now_ns;
    for (uint32_t id = table_.most_active(); id != ConnectionTable::npos;) {
        const uint32_t prev = table_.prev_by_activity(id);
        CompareConnection& conn = table_[id];
        const uint64_t idle = idle_for(conn);
        if (idle > settled_idle) break;
        if (idle >= cycle_ns && conn.settled()) {
            if (conn.closing) {
                remove(id, Removal::expired);
            } else if (conn.secondary.empty()) {
                conn.primary.release_storage();
                conn.secondary.release_storage();
            }
        }
        id = prev;
    }
}

void Comparator::flush(CompareConnection& conn, CompareOutput& out, uint64_t& released, uint64_t& dropped)
{
    // The secondary continues from the primary's state: bytes released here
    // are never compared.
    if (conn.kind == CompareKind::tcp) conn.tcp.flushed(conn.primary);
    for (; !conn.primary.empty(); --counters_.queued_primary, ++released)
        out.released.push_back(conn.primary.pop_front());
    for (; !conn.secondary.empty(); --counters_.queued_secondary, ++dropped) conn.secondary.pop_front();
}

void Comparator::flush_all(CompareOutput& out)
{
    settle_all_ = true; // connections emptied here may have gone idle long ago
    for (uint32_t id = table_.oldest(); id != ConnectionTable::npos; id = table_.next_by_age(id))
        flush(table_[id], out, counters_.released_flush, counters_.secondary_dropped_flush);
}

void Comparator::checkpoint_done(CompareOutput& out)
{
    flush_all(out);
    pending_ = false;
    ++counters_.checkpoints_done;
}

void Comparator::failover(CompareOutput& out)
{
    flush_all(out);
    pending_ = false;
    passthrough_ = true;
}

void Comparator::shutdown(CompareOutput& out)
{
    failover(out);
}

void Comparator::make_room(CompareOutput& out)
{
    for (uint32_t id = table_.least_active(); id != ConnectionTable::npos; id = table_.next_by_activity(id)) {
        if (table_[id].queues_empty()) {
            remove(id, Removal::evicted);
            return;
        }
    }
    // Every connection holds packets: never discard primaries silently.
    const uint32_t id = table_.least_active();
    flush(table_[id], out, counters_.evict_flushed, counters_.secondary_dropped_evicted);
    remove(id, Removal::evicted);
}

void Comparator::remove(uint32_t id, Removal why)
{
    for (PacketQueue& q = table_[id].secondary; !q.empty();
         --counters_.queued_secondary, ++counters_.secondary_dropped_expired)
        q.pop_front();
    if (config_.report_history > 0) {
        if (history_.size() >= config_.report_history) history_.pop_front();
        history_.push_back(report_of(table_[id], false));
    }
    table_.erase(id);
    if (id == last_id_) last_id_ = ConnectionTable::npos;
    ++(why == Removal::expired ? counters_.connections_expired : counters_.connections_evicted);
    counters_.connections_active = table_.size();
}

std::vector<HeldPrimary> Comparator::held_primaries(const CompareConnection& conn) const
{
    std::vector<HeldPrimary> held;
    std::vector<HoldReason> reasons;
    if (conn.kind == CompareKind::tcp) reasons = conn.tcp.hold_reasons(conn.primary, conn.secondary);
    for (uint32_t i = 0; i < conn.primary.size(); ++i) {
        const QueuedPacket& q = conn.primary[i];
        HeldPrimary h{q.seq, q.region_len, q.enqueued_ns, HoldReason::secondary_bytes};
        if (conn.kind == CompareKind::tcp) h.reason = reasons[i];
        else if (!conn.secondary.empty()) h.reason = HoldReason::diverged; // no equal secondary among those queued
        held.push_back(h);
    }
    return held;
}

ConnectionReport Comparator::report_of(const CompareConnection& conn, bool active) const
{
    ConnectionReport r;
    r.key = conn.key;
    r.first_seen = conn.first_seen;
    r.active = active;
    r.primary_packets = conn.primary_packets;
    r.primary_bytes = conn.primary_bytes;
    r.secondary_packets = conn.secondary_packets;
    r.secondary_bytes = conn.secondary_bytes;
    r.matched_packets = conn.matched_packets;
    r.matched_bytes = conn.matched_bytes;
    r.queued_primary = conn.primary.size();
    r.queued_secondary = conn.secondary.size();
    if (conn.first_divergence) r.first_divergence = *conn.first_divergence;
    if (active) r.held = held_primaries(conn);
    return r;
}

std::vector<ConnectionReport> Comparator::report() const
{
    std::vector<ConnectionReport> reports(history_.begin(), history_.end());
    for (uint32_t id = table_.oldest(); id != ConnectionTable::npos; id = table_.next_by_age(id))
        reports.push_back(report_of(table_[id], true));
    std::sort(reports.begin(), reports.end(),
              [](const ConnectionReport& a, const ConnectionReport& b) { return a.first_seen < b.first_seen; });
    return reports;
}

} // namespace colo
