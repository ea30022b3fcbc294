// The nodes that asked for ticks (Node::tick_interval_ns()) and when each is
// due next, on whichever clock the execution model keeps. A node's first
// tick is due one interval after the time it is first asked about.
#pragma once

#include "engine/node_runner.hh"

#include <cstdint>
#include <memory>
#include <vector>

namespace colo::engine {

struct TickDue {
    NodeRunner* runner;
    uint64_t interval;
    uint64_t next = 0; // 0: no time seen yet

    uint64_t due(uint64_t now) const { return next ? next : now + interval; }
    void start(uint64_t now) { next = due(now); }
};

inline std::vector<TickDue> tick_schedule(const std::vector<std::unique_ptr<NodeRunner>>& runners)
{
    std::vector<TickDue> ticks;
    for (const auto& r : runners)
        if (const uint64_t interval = r->node->tick_interval_ns()) ticks.push_back({r.get(), interval});
    return ticks;
}

} // namespace colo::engine
