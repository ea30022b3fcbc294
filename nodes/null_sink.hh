// null-sink: counts and discards packets (a terminator for ports whose
// traffic is not needed, and a benchmark sink).
#pragma once

#include "engine/node.hh"

namespace colo {

class NullSink : public Node {
public:
    void push(int in_port, const Batch& batch, Emit& out) override;
};

inline NodeSpec null_sink_spec()
{
    return {
        "null-sink",
        "Count and discard packets",
        "Accepts packets on `in` and drops them, counting packets and bytes.",
        {{"in", PortDir::in, "packets to discard", true}},
        {},
        {{"packets", "packets discarded"}, {"bytes", "bytes discarded"}},
        [](const Properties&) -> std::unique_ptr<Node> { return std::make_unique<NullSink>(); },
    };
}

} // namespace colo
