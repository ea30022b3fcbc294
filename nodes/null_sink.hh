// null-sink: counts and discards packets (a terminator for ports whose
// traffic is not needed, and a benchmark sink).
#pragma once

#include "engine/node.hh"

namespace colo {

class NullSink : public Node {
public:
    void push(int in_port, const Batch& batch, Emit& out) override;
};

} // namespace colo
