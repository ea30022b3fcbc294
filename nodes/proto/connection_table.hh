// ConnectionTable: the comparator's tracked connections, a FlowTable of
// CompareConnection. Its insertion order is the order of first packets, which
// flush and timeout scans follow (as QEMU walks its conn_list); eviction
// picks the least recently active.
#pragma once

#include <cstdint>
#include <memory>

#include "nodes/proto/compare_tcp_stream.hh"
#include "nodes/proto/divergence.hh"
#include "nodes/proto/flow_key.hh"
#include "nodes/proto/flow_table.hh"
#include "nodes/proto/packet_queue.hh"

namespace colo {

// How a connection's packets are compared.
enum class CompareKind : uint8_t {
    tcp,   // byte stream by sequence (TcpStreamCompare)
    l4,    // UDP, ICMP, ICMPv6: L4 header to end of datagram
    frame, // other protocols: whole frame after the vnet header
};

struct CompareConnection {
    FlowKey key;
    PacketQueue primary, secondary;
    TcpStreamCompare tcp;
    uint64_t primary_packets = 0, primary_bytes = 0;
    uint64_t secondary_packets = 0, secondary_bytes = 0;
    uint64_t matched_packets = 0, matched_bytes = 0;
    std::unique_ptr<Divergence> first_divergence; // allocated on the first mismatch only
    uint64_t first_seen = 0;                      // creation serial
    uint64_t last_active_ns = 0;
    FlowLinks by_age{}, by_activity{};
    CompareKind kind = CompareKind::frame;
    bool closing = false; // FIN or RST seen: expire soon after the queues drain

    bool queues_empty() const { return primary.empty() && secondary.empty(); }
    // Nothing left to compare: no primary, and secondaries without payload
    // at most (a surplus pure ACK or FIN of the secondary guest's stack).
    bool settled() const
    {
        if (!primary.empty()) return false;
        for (uint32_t i = 0; i < secondary.size(); ++i)
            if (secondary[i].region_len != 0) return false;
        return true;
    }
};

using ConnectionTable = FlowTable<CompareConnection>;

} // namespace colo
