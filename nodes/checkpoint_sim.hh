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
    uint64_t due_ns_ = 0; // 0 = no checkpoint in progress
};

} // namespace colo
