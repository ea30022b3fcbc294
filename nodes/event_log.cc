#include "nodes/event_log.hh"

#include "engine/registry.hh"

#include "nodes/proto/event_json.hh"

namespace colo {

EventLog::EventLog(const Properties& p) : out_(p.str("file"), p.boolean("append")) {}

void EventLog::push(int, const Batch& batch, Emit&)
{
    for (const auto& p : batch.packets) out_.line(packet_text(p));
    out_.flush();
    count(0, batch.size());
}

COLO_REGISTER_NODE(event_log_spec());

} // namespace colo
