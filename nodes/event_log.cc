#include "nodes/event_log.hh"

#include "engine/registry.hh"
#include "nodes/proto/event_json.hh"

namespace colo {

namespace {
namespace port {
constexpr InPortId in{0, "in"};
}
namespace prop {
constexpr StringProperty file{"file"};
constexpr BoolProperty append{"append"};
} // namespace prop
namespace counter {
constexpr CounterId events{0, "events"};
}
} // namespace

EventLog::EventLog(const Properties& p) : out_(p.get(prop::file), p.get(prop::append)) {}

void EventLog::push(int, const Batch& batch, Emit&)
{
    for (const auto& p : batch.packets) out_.line(packet_text(p));
    out_.flush();
    count(counter::events, batch.size());
}

namespace {
NodeSpec spec()
{
    return {
        .type = "event-log",
        .summary = "Write events as JSON lines",
        .description = "Appends each event arriving on `in` (a JSON object) as one line to FILE, flushing after every "
                       "batch so that a running graph's log can be followed with tail -f.",
        .ports = {declare(port::in, "events (JSON objects)", Link::required)},
        .properties =
            {
                declare(prop::file, {.default_value = "-", .doc = "output file; - for standard output"}),
                declare(prop::append, {.default_value = "false", .doc = "append instead of truncating"}),
            },
        .counters = {declare(counter::events, "events written")},
        .factory = construct<EventLog>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
