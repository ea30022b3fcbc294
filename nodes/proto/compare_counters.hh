// Comparator statistics: process-level counters (with a name/doc table so a
// node can publish them generically) and per-connection reports for the
// `colo-graph compare` divergence report.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "nodes/proto/divergence.hh"
#include "nodes/proto/flow_key.hh"

namespace colo {

struct CompareCounters {
    uint64_t primary_packets_in = 0;
    uint64_t secondary_packets_in = 0;
    uint64_t released_matched = 0;
    uint64_t released_retransmit = 0;
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
    uint64_t connections_active = 0;   // gauge
    uint64_t queued_primary = 0;       // gauge
    uint64_t queued_secondary = 0;     // gauge
};

struct CounterInfo {
    const char* name;
    const char* doc;
    uint64_t CompareCounters::*field;
    bool gauge; // a current level rather than a monotonic count
};

// One entry per CompareCounters field, in declaration order.
std::span<const CounterInfo> compare_counter_info();

// A primary still queued when the report was taken.
struct HeldPrimary {
    uint32_t seq = 0;      // TCP: sequence number of its first payload byte
    uint32_t length = 0;   // compared bytes (TCP: payload)
    uint64_t queued_ns = 0; // the caller's clock when it arrived
    HoldReason reason = HoldReason::secondary_bytes;
};

struct ConnectionReport {
    FlowKey key;
    uint64_t first_seen = 0;  // creation order among all connections of this comparator
    bool active = true;       // false once expired or evicted
    uint64_t primary_packets = 0, primary_bytes = 0;     // seen, frame bytes without vnet header
    uint64_t secondary_packets = 0, secondary_bytes = 0;
    uint64_t matched_packets = 0;  // primaries released by the comparison
    uint64_t matched_bytes = 0;    // compared bytes found equal (TCP: verified stream bytes)
    uint32_t queued_primary = 0, queued_secondary = 0;
    std::optional<Divergence> first_divergence;
    std::vector<HeldPrimary> held; // active connections: every queued primary, in queue order
};

} // namespace colo
