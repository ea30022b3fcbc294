#include "nodes/proto/compare_counters.hh"

#include <array>

namespace colo {

namespace {
using C = CompareCounters;
constexpr std::array kCounters{
    CounterInfo{"primary_packets_in", "primary packets received", &C::primary_packets_in, false},
    CounterInfo{"secondary_packets_in", "secondary packets received", &C::secondary_packets_in, false},
    CounterInfo{"released_matched", "primaries released because the secondary matched (incl. pure ACKs and verified retransmits)", &C::released_matched, false},
    CounterInfo{"released_retransmit", "of released_matched: TCP data already verified (retransmissions)", &C::released_retransmit, false},
    CounterInfo{"released_unsupported", "primaries released uncompared: non-IP, unparsable, or IPv6/VLAN when disabled", &C::released_unsupported, false},
    CounterInfo{"released_bypass", "primaries released uncompared by a bypass rule", &C::released_bypass, false},
    CounterInfo{"released_flush", "queued primaries released by a checkpoint, failover or shutdown flush", &C::released_flush, false},
    CounterInfo{"released_passthrough", "primaries passed straight through after failover or shutdown", &C::released_passthrough, false},
    CounterInfo{"evict_flushed", "queued primaries released uncompared to evict their connection", &C::evict_flushed, false},
    CounterInfo{"primary_lost_queue_full", "primaries dropped (lost for good) because their queue was full", &C::primary_lost_queue_full, false},
    CounterInfo{"secondary_matched", "secondaries freed after matching (or carrying nothing left to compare)", &C::secondary_matched, false},
    CounterInfo{"secondary_dropped_unsupported", "secondaries dropped: non-IP, unparsable, or IPv6/VLAN when disabled", &C::secondary_dropped_unsupported, false},
    CounterInfo{"secondary_dropped_bypass", "secondaries dropped by a bypass rule", &C::secondary_dropped_bypass, false},
    CounterInfo{"secondary_dropped_queue_full", "secondaries dropped because their queue was full", &C::secondary_dropped_queue_full, false},
    CounterInfo{"secondary_dropped_flush", "queued secondaries dropped by a flush", &C::secondary_dropped_flush, false},
    CounterInfo{"secondary_dropped_evicted", "queued secondaries dropped to evict their connection", &C::secondary_dropped_evicted, false},
    CounterInfo{"secondary_dropped_expired", "secondaries without payload still queued when their connection expired (nothing to compare)",
                &C::secondary_dropped_expired, false},
    CounterInfo{"secondary_dropped_passthrough", "secondaries dropped after failover or shutdown", &C::secondary_dropped_passthrough, false},
    CounterInfo{"bytes_matched", "compared bytes found equal", &C::bytes_matched, false},
    CounterInfo{"mismatches", "compare passes that found different data", &C::mismatches, false},
    CounterInfo{"ack_gate_holds", "TCP data matched but held until the secondary acknowledges as much as the primary", &C::ack_gate_holds, false},
    CounterInfo{"timeouts", "scans that found a packet queued longer than compare_timeout", &C::timeouts, false},
    CounterInfo{"checkpoint_requests", "checkpoint requests emitted", &C::checkpoint_requests, false},
    CounterInfo{"requests_suppressed", "checkpoint requests not emitted because one was pending", &C::requests_suppressed, false},
    CounterInfo{"requests_repeated", "pending requests emitted again after compare_timeout without a checkpoint", &C::requests_repeated, false},
    CounterInfo{"checkpoints_done", "checkpoint completions (flushes) received", &C::checkpoints_done, false},
    CounterInfo{"connections_created", "connections tracked since start", &C::connections_created, false},
    CounterInfo{"connections_expired", "connections removed after idle_timeout or after FIN/RST", &C::connections_expired, false},
    CounterInfo{"connections_evicted", "connections removed to stay within max_connections", &C::connections_evicted, false},
    CounterInfo{"connections_active", "connections currently tracked", &C::connections_active, true},
    CounterInfo{"queued_primary", "primary packets currently queued", &C::queued_primary, true},
    CounterInfo{"queued_secondary", "secondary packets currently queued", &C::queued_secondary, true},
};
static_assert(sizeof(CompareCounters) == kCounters.size() * sizeof(uint64_t), "every counter needs a table entry");
} // namespace

std::span<const CounterInfo> compare_counter_info() { return kCounters; }

} // namespace colo
