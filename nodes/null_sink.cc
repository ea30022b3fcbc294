#include "nodes/null_sink.hh"

#include "engine/registry.hh"

namespace colo {

namespace {
namespace port {
constexpr InPortId in{0, "in"};
}
namespace counter {
constexpr CounterId packets{0, "packets"}, bytes{1, "bytes"};
}
} // namespace

void NullSink::push(int, const Batch& batch, Emit&)
{
    count(counter::packets, batch.size());
    count(counter::bytes, batch.bytes());
}

namespace {
NodeSpec spec()
{
    return {
        .type = "null-sink",
        .summary = "Count and discard packets",
        .description = "Accepts packets on `in` and drops them, counting packets and bytes.",
        .ports = {declare(port::in, "packets to discard", Link::required)},
        .counters = {declare(counter::packets, "packets discarded"), declare(counter::bytes, "bytes discarded")},
        .factory = construct<NullSink>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
