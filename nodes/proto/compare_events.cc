#include "nodes/proto/compare_events.hh"

namespace colo {

const char* to_string(CheckpointReason r)
{
    switch (r) {
    case CheckpointReason::mismatch: return "mismatch";
    case CheckpointReason::timeout: return "timeout";
    case CheckpointReason::queue_full: return "queue_full";
    }
    return "?";
}

const char* to_string(CompareSide s)
{
    return s == CompareSide::primary ? "primary" : "secondary";
}

} // namespace colo
