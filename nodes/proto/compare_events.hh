// What the comparator emits besides packets: checkpoint requests.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/packet.hh"
#include "nodes/proto/divergence.hh"
#include "nodes/proto/flow_key.hh"

namespace colo {

enum class CheckpointReason : uint8_t { mismatch, timeout, queue_full };
const char* to_string(CheckpointReason r);

enum class CompareSide : uint8_t { primary, secondary };
const char* to_string(CompareSide s);

struct CheckpointRequest {
    CheckpointReason reason = CheckpointReason::mismatch;
    CompareSide side = CompareSide::primary; // timeout: side of the old packet; queue_full: the full queue
    FlowKey flow;
    uint64_t time_ns = 0;                 // the caller's clock when it was raised
    std::optional<Divergence> divergence; // mismatch only
};

// Filled by every Comparator call: released primaries in release order (the
// original Packet handles, byte-identical, vnet_len preserved) and events.
struct CompareOutput {
    std::vector<Packet> released;
    std::vector<CheckpointRequest> events;
    void clear()
    {
        released.clear();
        events.clear();
    }
};

} // namespace colo
