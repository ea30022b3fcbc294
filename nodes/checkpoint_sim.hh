// checkpoint-sim: stands in for the COLO frame in replays and demos. It
// answers every checkpoint request with a "checkpoint" control message after
// a simulated checkpoint duration, so a comparator flushes as it would when
// QEMU completes a real checkpoint.
#pragma once

#include "engine/node.hh"

#include <cstdint>

namespace colo {

class CheckpointSim : public Node {
public:
    explicit CheckpointSim(const Properties& p);
    void push(int in_port, const Batch& batch, Emit& out) override;
    void tick(uint64_t now_ns, Emit& out) override;
    uint64_t tick_interval_ns() const override { return 1'000'000; }
    bool wants_tick(uint64_t now_ns) const override { return due_ns_ && now_ns >= due_ns_; }

private:
    uint64_t delay_ns_;
    uint64_t due_ns_ = 0;   // 0 = no checkpoint in progress
};

inline NodeSpec checkpoint_sim_spec()
{
    return {
        "checkpoint-sim",
        "Answer checkpoint requests with a flush after a delay (simulated COLO frame)",
        "For each checkpoint request on `events`, emits {\"command\":\"checkpoint\"} on `control` DELAY_MS "
        "later (graph time: packet time in replay). Requests that arrive while a checkpoint is in "
        "progress are absorbed into it, as QEMU's COLO thread does.",
        {
            {"events", PortDir::in, "events; checkpoint_request ones start a checkpoint", true},
            {"control", PortDir::out, "checkpoint commands for a comparator's control port"},
        },
        {{"delay_ms", PropType::integer, "20", false, 0, 600000, {}, "simulated checkpoint duration"}},
        {
            {"checkpoints", "checkpoints completed"},
            {"absorbed", "requests that arrived during a checkpoint"},
        },
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<CheckpointSim>(p); },
    };
}

} // namespace colo
