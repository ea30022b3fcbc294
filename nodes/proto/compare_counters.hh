// Comparator statistics: process-level counters (with a CounterField table so
// a node can publish them generically) and per-connection reports for the
// `colo-graph compare` divergence report.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "nodes/proto/counter_table.hh"
#include "nodes/proto/divergence.hh"
#include "nodes/proto/flow_key.hh"

namespace colo {

struct CompareCounters {
    uint64_t primary_packets_in = 0;
    uint64_t secondary_packets_in = 0;
    uint64_t released_matched = 0;
    uint64_t released_retransmit = 0;
    uint64_t released_tso_fronts = 0;
    uint64_t released_unsupported = 0;
    uint64_t released_bypass = 0;
    uint64_t released_flush = 0;
    uint64_t released_passthrough = 0;
    uint64_t evict_flushed = 0;
    uint64_t primary_lost_queue_full = 0;
    uint64_t secondary_matched = 0;
    uint64_t secondary_dropped_unsupported = 0;
    uint64_t secondary_dropped_bypass = 0;
    uint64_t secondary_dropped_queue_full = 0;
    uint64_t secondary_dropped_flush = 0;
    uint64_t secondary_dropped_evicted = 0;
    uint64_t secondary_dropped_expired = 0;
    uint64_t secondary_dropped_passthrough = 0;
    uint64_t bytes_matched = 0;
    uint64_t mismatches = 0;
    uint64_t ack_gate_holds = 0;
    uint64_t timeouts = 0;
    uint64_t checkpoint_requests = 0;
    uint64_t requests_suppressed = 0;
    uint64_t requests_repeated = 0;
    uint64_t checkpoints_done = 0;
    uint64_t connections_created = 0;
    uint64_t connections_expired = 0;
    uint64_t connections_evicted = 0;
    uint64_t connections_active = 0; // gauge
    uint64_t queued_primary = 0;     // gauge
    uint64_t queued_secondary = 0;   // gauge
};

using CounterInfo = CounterField<CompareCounters>;

// One entry per CompareCounters field, in declaration order.
inline constexpr std::array kCompareCounterTable{
    CounterInfo{"primary_packets_in", "primary packets received", &CompareCounters::primary_packets_in},
    CounterInfo{"secondary_packets_in", "secondary packets received", &CompareCounters::secondary_packets_in},
    CounterInfo{"released_matched",
                "primaries released because the secondary matched (incl. pure ACKs and verified retransmits)",
                &CompareCounters::released_matched},
    CounterInfo{"released_retransmit", "of released_matched: TCP data already verified (retransmissions)",
                &CompareCounters::released_retransmit},
    CounterInfo{"released_tso_fronts",
                "verified fronts cut off queued TSO frames and released ahead of the rest (extra packets out, "
                "not counted in primary_packets_in or released_matched)",
                &CompareCounters::released_tso_fronts},
    CounterInfo{"released_unsupported", "primaries released uncompared: non-IP, unparsable, or IPv6/VLAN when disabled",
                &CompareCounters::released_unsupported},
    CounterInfo{"released_bypass", "primaries released uncompared by a bypass rule", &CompareCounters::released_bypass},
    CounterInfo{"released_flush", "queued primaries released by a checkpoint, failover or shutdown flush",
                &CompareCounters::released_flush},
    CounterInfo{"released_passthrough", "primaries passed straight through after failover or shutdown",
                &CompareCounters::released_passthrough},
    CounterInfo{"evict_flushed", "queued primaries released uncompared to evict their connection",
                &CompareCounters::evict_flushed},
    CounterInfo{"primary_lost_queue_full", "primaries dropped (lost for good) because their queue was full",
                &CompareCounters::primary_lost_queue_full},
    CounterInfo{"secondary_matched", "secondaries freed after matching (or carrying nothing left to compare)",
                &CompareCounters::secondary_matched},
    CounterInfo{"secondary_dropped_unsupported", "secondaries dropped: non-IP, unparsable, or IPv6/VLAN when disabled",
                &CompareCounters::secondary_dropped_unsupported},
    CounterInfo{"secondary_dropped_bypass", "secondaries dropped by a bypass rule",
                &CompareCounters::secondary_dropped_bypass},
    CounterInfo{"secondary_dropped_queue_full", "secondaries dropped because their queue was full",
                &CompareCounters::secondary_dropped_queue_full},
    CounterInfo{"secondary_dropped_flush", "queued secondaries dropped by a flush",
                &CompareCounters::secondary_dropped_flush},
    CounterInfo{"secondary_dropped_evicted", "queued secondaries dropped to evict their connection",
                &CompareCounters::secondary_dropped_evicted},
    CounterInfo{"secondary_dropped_expired",
                "secondaries without payload still queued when their connection expired (nothing to compare)",
                &CompareCounters::secondary_dropped_expired},
    CounterInfo{"secondary_dropped_passthrough", "secondaries dropped after failover or shutdown",
                &CompareCounters::secondary_dropped_passthrough},
    CounterInfo{"bytes_matched", "compared bytes found equal", &CompareCounters::bytes_matched},
    CounterInfo{"mismatches", "compare passes that found different data", &CompareCounters::mismatches},
    CounterInfo{"ack_gate_holds", "TCP data matched but held until the secondary acknowledges as much as the primary",
                &CompareCounters::ack_gate_holds},
    CounterInfo{"timeouts", "scans that found a packet queued longer than compare_timeout", &CompareCounters::timeouts},
    CounterInfo{"checkpoint_requests", "checkpoint requests emitted", &CompareCounters::checkpoint_requests},
    CounterInfo{"requests_suppressed", "checkpoint requests not emitted because one was pending",
                &CompareCounters::requests_suppressed},
    CounterInfo{"requests_repeated", "pending requests emitted again after compare_timeout without a checkpoint",
                &CompareCounters::requests_repeated},
    CounterInfo{"checkpoints_done", "checkpoint completions (flushes) received", &CompareCounters::checkpoints_done},
    CounterInfo{"connections_created", "connections tracked since start", &CompareCounters::connections_created},
    CounterInfo{"connections_expired", "connections removed after idle_timeout or after FIN/RST",
                &CompareCounters::connections_expired},
    CounterInfo{"connections_evicted", "connections removed to stay within max_connections",
                &CompareCounters::connections_evicted},
    CounterInfo{"connections_active", "connections currently tracked", &CompareCounters::connections_active, true},
    CounterInfo{"queued_primary", "primary packets currently queued", &CompareCounters::queued_primary, true},
    CounterInfo{"queued_secondary", "secondary packets currently queued", &CompareCounters::queued_secondary, true},
};
static_assert(covers_every_field(kCompareCounterTable), "every counter needs a table entry");
std::span<const CounterInfo> compare_counter_info();

// A primary still queued when the report was taken.
struct HeldPrimary {
    uint32_t seq = 0;       // TCP: sequence number of its first payload byte
    uint32_t length = 0;    // compared bytes (TCP: payload)
    uint64_t queued_ns = 0; // the caller's clock when it arrived
    HoldReason reason = HoldReason::secondary_bytes;
};

struct ConnectionReport {
    FlowKey key;
    uint64_t first_seen = 0;                         // creation order among all connections of this comparator
    bool active = true;                              // false once expired or evicted
    uint64_t primary_packets = 0, primary_bytes = 0; // seen, frame bytes without vnet header
    uint64_t secondary_packets = 0, secondary_bytes = 0;
    uint64_t matched_packets = 0; // primaries released by the comparison
    uint64_t matched_bytes = 0;   // compared bytes found equal (TCP: verified stream bytes)
    uint32_t queued_primary = 0, queued_secondary = 0;
    std::optional<Divergence> first_divergence;
    std::vector<HeldPrimary> held; // active connections: every queued primary, in queue order
};

} // namespace colo
