// Comparator housekeeping: the timeout/expiry scan, checkpoint flushes,
// failover/shutdown, eviction and reports.
#include "nodes/proto/comparator.hh"

#include <algorithm>

namespace colo {

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;

bool older_than(const PacketQueue& q, uint64_t now_ns, uint64_t limit_ns)
{
    // TCP queues are in sequence order, not arrival order: look at all.
    for (uint32_t i = 0; i < q.size(); ++i)
        if (now_ns > q[i].enqueued_ns && now_ns - q[i].enqueued_ns > limit_ns) return true;
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
    bool timed_out = false;
    for (uint32_t id = table_.oldest(); id != ConnectionTable::npos;) {
        const uint32_t next = table_.next_by_age(id);
        CompareConnection& conn = table_[id];
        if (!timed_out) {
            const bool old_primary = older_than(conn.primary, now_ns, timeout_ns);
            if (old_primary || older_than(conn.secondary, now_ns, timeout_ns)) {
                timed_out = true;
                ++counters_.timeouts;
                request(CheckpointReason::timeout, old_primary ? CompareSide::primary : CompareSide::secondary,
                        conn.key, now_ns, std::nullopt, out);
            }
        }
        if (conn.queues_empty()) {
            const uint64_t idle = now_ns > conn.last_active_ns ? now_ns - conn.last_active_ns : 0;
            if (idle >= idle_ns || (conn.closing && idle >= cycle_ns)) {
                remove(id, Removal::expired);
            } else if (idle >= cycle_ns) {
                conn.primary.release_storage();
                conn.secondary.release_storage();
            }
        }
        id = next;
    }
}

void Comparator::flush(CompareConnection& conn, CompareOutput& out, uint64_t& released, uint64_t& dropped)
{
    for (; !conn.primary.empty(); --counters_.queued_primary, ++released)
        out.released.push_back(conn.primary.pop_front().packet);
    for (; !conn.secondary.empty(); --counters_.queued_secondary, ++dropped)
        conn.secondary.pop_front();
}

void Comparator::flush_all(CompareOutput& out)
{
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

void Comparator::shutdown(CompareOutput& out) { failover(out); }

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
    if (config_.report_history > 0) {
        if (history_.size() >= config_.report_history) history_.pop_front();
        history_.push_back(report_of(table_[id], false));
    }
    table_.erase(id);
    if (id == last_id_) last_id_ = ConnectionTable::npos;
    ++(why == Removal::expired ? counters_.connections_expired : counters_.connections_evicted);
    counters_.connections_active = table_.size();
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
