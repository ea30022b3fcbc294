#include "nodes/checkpoint_sim.hh"

#include "engine/registry.hh"
#include "nodes/control_message.hh"

namespace colo {

namespace {
namespace port {
constexpr InPortId events{0, "events"};
constexpr OutPortId control{0, "control"};
} // namespace port
namespace prop {
constexpr IntProperty delay_ms{"delay_ms"};
}
namespace counter {
constexpr CounterId checkpoints{0, "checkpoints"}, absorbed{1, "absorbed"};
}
} // namespace

CheckpointSim::CheckpointSim(const Properties& p) : delay_ns_(uint64_t(p.get(prop::delay_ms)) * 1'000'000) {}

void CheckpointSim::push(int, const Batch& batch, Emit& out)
{
    for (const auto& p : batch.packets) {
        if (!is_checkpoint_request(p)) continue;
        if (due_ns_) {
            count(counter::absorbed);
            continue;
        }
        due_ns_ = p.ts_ns + delay_ns_;
        if (delay_ns_ == 0) tick(p.ts_ns, out);
    }
}

void CheckpointSim::tick(uint64_t now_ns, Emit& out)
{
    if (!due_ns_ || now_ns < due_ns_) return;
    out.send(port::control, checkpoint_command(due_ns_));
    due_ns_ = 0;
    count(counter::checkpoints);
}

namespace {
NodeSpec spec()
{
    return {
        .type = "checkpoint-sim",
        .summary = "Answer checkpoint requests with a flush after a delay (simulated COLO frame)",
        .description =
            "For each checkpoint request on `events`, emits {\"command\":\"checkpoint\"} on `control` DELAY_MS "
            "later (graph time: packet time in replay). Requests that arrive while a checkpoint is in "
            "progress are absorbed into it, as QEMU's COLO thread does.",
        .ports =
            {
                declare(port::events, "events; checkpoint_request ones start a checkpoint", Link::required),
                declare(port::control, "checkpoint commands for a comparator's control port"),
            },
        .properties = {declare(
            prop::delay_ms, {.default_value = "20", .min = 0, .max = 600000, .doc = "simulated checkpoint duration"})},
        .counters =
            {
                declare(counter::checkpoints, "checkpoints completed"),
                declare(counter::absorbed, "requests that arrived during a checkpoint"),
            },
        .factory = construct<CheckpointSim>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
