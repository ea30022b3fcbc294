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

inline NodeSpec event_log_spec()
{
    return {
        "event-log",
        "Write events as JSON lines",
        "Appends each event arriving on `in` (a JSON object) as one line to FILE, flushing after every "
        "batch so that a running graph's log can be followed with tail -f.",
        {{"in", PortDir::in, "events (JSON objects)", true}},
        {
            {"file", PropType::string, "-", false, INT64_MIN, INT64_MAX, {}, "output file; - for standard output"},
            {"append", PropType::boolean, "false", false, INT64_MIN, INT64_MAX, {}, "append instead of truncating"},
        },
        {{"events", "events written"}},
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<EventLog>(p); },
    };
}

} // namespace colo
