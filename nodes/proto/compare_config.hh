// CompareConfig: the comparator's settings. Defaults are QEMU's where QEMU has
// the setting (net/colo-compare.c colo_compare_complete() and
// colo_compare_init()); the rest are colo-graph additions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nodes/proto/bypass_rule.hh"

namespace colo {

struct CompareConfig {
    uint32_t compare_timeout_ms = 3000;    // a packet queued longer requests a checkpoint
    uint32_t expired_scan_cycle_ms = 1000; // period of the timeout/expiry scan
    // Per connection and side, per comparator (QEMU: one process-wide value).
    // A queue holding this many packets rejects the next one.
    uint32_t max_queue_size = 1024;
    uint32_t idle_timeout_ms = 60000; // a connection with empty queues and no packet for this long expires
    uint32_t max_connections = 65536; // tracked connections; beyond, the least recently active is evicted
    uint32_t report_history = 1024;   // reports kept of expired/evicted connections, for report()
    bool ipv6 = true;                 // compare IPv6; false: pass through like QEMU
    bool vlan = true;                 // compare 802.1Q/802.1ad tagged frames; false: pass through
    std::vector<BypassRule> bypass;   // released uncompared (primary) / dropped (secondary)

    // Empty when valid, else a message naming the setting.
    std::string validate() const;
};

// The numeric settings, by the names of the comparator node's properties,
// with those properties' ranges (1 .. max). Each may also change while the
// comparator runs (Comparator::set_setting() says how each change applies).
struct CompareSetting {
    const char* name;
    uint32_t CompareConfig::*field;
    uint32_t max;
};

inline constexpr uint32_t kMaxConnectionsLimit = 16777216;

inline constexpr std::array kCompareSettings{
    CompareSetting{"compare_timeout", &CompareConfig::compare_timeout_ms, UINT32_MAX},
    CompareSetting{"expired_scan_cycle", &CompareConfig::expired_scan_cycle_ms, UINT32_MAX},
    CompareSetting{"max_queue_size", &CompareConfig::max_queue_size, UINT32_MAX},
    CompareSetting{"idle_timeout", &CompareConfig::idle_timeout_ms, UINT32_MAX},
    CompareSetting{"max_connections", &CompareConfig::max_connections, kMaxConnectionsLimit},
};

} // namespace colo
