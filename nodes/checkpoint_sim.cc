#include "nodes/checkpoint_sim.hh"

#include "engine/registry.hh"
#include "nodes/proto/event_json.hh"

namespace colo {

namespace counter { enum { checkpoints, absorbed }; }

CheckpointSim::CheckpointSim(const Properties& p) : delay_ns_(uint64_t(p.integer("delay_ms")) * 1'000'000) {}

void CheckpointSim::push(int, const Batch& batch, Emit& out)
{
    for (const auto& p : batch.packets) {
        if (json_string_field(packet_text(p), "event") != "checkpoint_request") continue;
        if (due_ns_) { count(counter::absorbed); continue; }
        due_ns_ = p.ts_ns + delay_ns_;
        if (delay_ns_ == 0) tick(p.ts_ns, out);
    }
}

void CheckpointSim::tick(uint64_t now_ns, Emit& out)
{
    if (!due_ns_ || now_ns < due_ns_) return;
    out.send(0, event_packet(JsonObject().add("command", "checkpoint").str(), due_ns_));
    due_ns_ = 0;
    count(counter::checkpoints);
}

COLO_REGISTER_NODE(checkpoint_sim_spec());

} // namespace colo
