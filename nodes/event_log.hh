// event-log: writes event records (JSON objects, one per packet payload) as
// JSON lines. Events are packets whose payload is one JSON object, as emitted
// on a comparator's `events` port.
#pragma once

#include "engine/node.hh"
#include "nodes/io/text_output.hh"

namespace colo {

class EventLog : public Node {
public:
    explicit EventLog(const Properties& p);
    void push(int in_port, const Batch& batch, Emit& out) override;
    void finish() override { out_.close(); }

private:
    TextOutput out_;
};

} // namespace colo
