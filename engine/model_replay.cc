// The replay execution model: one thread, the packets' own clock.
//
// Replay runs on the driving thread alone and waits for the graph after
// every batch, so it has no use for oneTBB's tasks: messages wait in one
// queue, in the order sent, and wait_idle() runs them. A replay of two
// interleaved captures sends a batch per packet or two, and a task per
// message cost more than most nodes' work. Time is the packets' own: ticks
// are delivered between the batches they fall between, and a batch ends
// before the next tick, so that time-driven work (a comparator's timeout
// scan, a simulated checkpoint) happens between the right packets even when
// one source runs alone for long.
#include "engine/execution_model.hh"
#include "engine/tick_schedule.hh"
#include "engine/topology.hh"

#include <oneapi/tbb/global_control.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <utility>

namespace colo::engine {

namespace {

class ReplayModel final : public ExecutionModel {
public:
    explicit ReplayModel(const RunningGraph& graph) : ticks_(tick_schedule(graph.runners)) {}

    void post(NodeRunner& to, Message&& m) override { queued_.emplace_back(&to, std::move(m)); }

    void post_request(NodeRunner&, Message&&) override { std::terminate(); } // refused by Runtime::call()

    void wait_idle() override
    {
        while (!queued_.empty()) {
            auto [runner, m] = std::move(queued_.front());
            queued_.pop_front();
            runner->body(m);
        }
    }

    uint64_t now() const override { return sim_now_.load(); }

    // Sources that inject run on threads of their own; replay has none
    // (live sources make a run live), so this is a plain send.
    void inject(NodeRunner& from, int port, Batch&& batch) override { from.send(port, std::move(batch)); }

    uint64_t batch_end(uint64_t first_ts, uint64_t next_ts) override
    {
        uint64_t until = next_ts;
        for (const auto& t : ticks_) until = std::min(until, t.due(first_ts) - 1);
        return until;
    }

    void before_batch(uint64_t first_ts) override { advance_to(first_ts); }

    void after_batch(uint64_t last_ts) override
    {
        wait_idle();
        sim_now_.store(last_ts);
    }

private:
    // Delivers, in time order per node, every tick due up to `t`, and runs
    // them before the batch that starts at `t`.
    void advance_to(uint64_t t)
    {
        bool ticked = false;
        for (auto& tick : ticks_) {
            tick.start(t);
            // Bounded catch-up: a long silence in a capture must not cost millions of ticks.
            for (int n = 0; tick.next <= t; ++n) {
                if (n == 10000) tick.next = t;
                if (tick.runner->node->wants_tick(tick.next)) {
                    sim_now_.store(tick.next);
                    tick.runner->put_control(Message::tick, tick.next);
                    ticked = true;
                }
                tick.next += tick.interval;
            }
        }
        if (ticked) wait_idle();
        sim_now_.store(t);
    }

    // Replay runs no oneTBB thread. While it exists oneTBB may use one
    // thread in the whole process (the limit is process-wide; the smallest
    // wins), as in every run that uses one thread.
    oneapi::tbb::global_control parallelism_{oneapi::tbb::global_control::max_allowed_parallelism, 1};
    std::vector<TickDue> ticks_;
    std::deque<std::pair<NodeRunner*, Message>> queued_;
    std::atomic<uint64_t> sim_now_{0}; // read by sources' threads through Injector::now_ns()
};

} // namespace

std::unique_ptr<ExecutionModel> make_replay_model(RunningGraph& graph)
{
    return std::make_unique<ReplayModel>(graph);
}

} // namespace colo::engine
