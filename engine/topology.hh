// The graph as built for a run: one NodeRunner per declared node, every link
// wired from its output port to an inbound slot of its successor, and the
// order in which nodes drain.
#pragma once

#include "engine/clock.hh"
#include "engine/node_runner.hh"
#include "engine/run_control.hh"
#include "engine/runtime.hh"

#include <memory>
#include <mutex>
#include <vector>

namespace colo::engine {

class ExecutionModel;

struct SourceCounts {
    int live = 0, offline = 0;
};

struct RunningGraph {
    // Builds every node and wires every link; throws std::runtime_error
    // naming the node that failed.
    RunningGraph(const GraphDecl& graph, RunOptions options);
    RunningGraph(const RunningGraph&) = delete;
    RunningGraph& operator=(const RunningGraph&) = delete;

    GraphDecl decl;
    RunOptions opt;
    CycleRate clock_rate;                             // busy time: ticks to ns
    std::vector<std::unique_ptr<NodeRunner>> runners; // in declaration order
    SourceCounts sources;
    RunControl control;
    ExecutionModel* model = nullptr; // set by the runtime once it chose one
    std::mutex log_mu;

    // Replay when asked for, or by default (RunMode::automatic) when no
    // source is live; throws when replay is asked for and a source is live.
    bool replay_mode() const;
    // Per node, for --stats (runtime_stats.cc).
    std::vector<NodeStats> stats() const;
};

// Sources first, then each node once all its predecessors came; nodes on
// cycles (e.g. a checkpoint loop) follow in declaration order.
std::vector<int> topological_order(const GraphDecl& graph);

} // namespace colo::engine
