// ExecutionModel: how messages run, and on which clock. The runtime picks one
// per run (docs/architecture.md, Time):
//  - replay (model_replay.cc): the driving thread runs every message itself,
//    in the order sent; time is the packets' own, so runs repeat exactly;
//  - live (model_live.cc): every node is a serial oneTBB function_node, and a
//    timer thread ticks on the wall clock.
// Each model keeps its own state; what both share (the nodes, their wiring,
// back-pressure) is the RunningGraph.
#pragma once

#include "engine/node_runner.hh"

#include <cstdint>
#include <memory>

namespace colo::engine {

struct RunningGraph;

class ExecutionModel {
public:
    // Drops the messages not yet run and waits for those running.
    virtual ~ExecutionModel() = default;

    // Hands `m` to node `to`.
    virtual void post(NodeRunner& to, Message&& m) = 0;
    // Hands an operator's request to node `to` from a thread outside the
    // graph, and sees that it runs. Live only: requests would make a replay
    // unrepeatable, and Runtime::call() refuses them there.
    virtual void post_request(NodeRunner& to, Message&& m) = 0;
    // Returns once no message is left in the graph (running them meanwhile).
    virtual void wait_idle() = 0;
    // Graph time: the packets' clock in replay, the wall clock live.
    virtual uint64_t now() const = 0;
    // A live source's batch, once there is room: send it and maybe run it.
    virtual void inject(NodeRunner& from, int port, Batch&& batch) = 0;

    // Ticks on the model's own clock, from start_clock() until stop_clock()
    // (after the run was told to stop). Replay ticks as packets pass instead.
    virtual void start_clock() {}
    virtual void stop_clock() {}

    // The offline driver's hooks (offline_sources.cc), around each batch it
    // pulls: the latest time the batch that starts at `first_ts` may reach
    // when another source's next packet is at `next_ts`; then before and
    // after the batch is sent.
    virtual uint64_t batch_end(uint64_t first_ts, uint64_t next_ts) = 0;
    virtual void before_batch(uint64_t first_ts) = 0;
    virtual void after_batch(uint64_t last_ts) = 0;
};

std::unique_ptr<ExecutionModel> make_replay_model(RunningGraph& graph);
std::unique_ptr<ExecutionModel> make_live_model(RunningGraph& graph);

} // namespace colo::engine
