// The live execution model: the oneTBB flow graph and the wall clock.
//
// Every node is a serial function_node; a timer thread puts ticks on the
// wall clock. When every source is live (sockets, devices), each source's
// thread runs the work it injects to completion inside the graph's arena, as
// QEMU's iothread does; graphs that also have offline sources hand work to
// oneTBB workers. This is the only engine file that includes the flow graph.
#include "engine/clock.hh"
#include "engine/execution_model.hh"
#include "engine/offline_sources.hh"
#include "engine/tick_schedule.hh"
#include "engine/topology.hh"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <mutex>
#include <thread>

namespace colo::engine {

namespace {

namespace flow = oneapi::tbb::flow;

class LiveModel final : public ExecutionModel {
public:
    explicit LiveModel(RunningGraph& graph)
        : graph_(graph),
          ticks_(tick_schedule(graph.runners)),
          // With an offline source the graph is rarely idle, and a live source
          // waiting for that would stop reading; such graphs hand work to workers.
          inject_runs_graph_(graph.sources.live > 0 && graph.sources.offline == 0)
    {
        // Threads that run nodes: the driving thread (offline sources) or the
        // sources' own threads (all-live graphs), plus threads - 1 workers. All-
        // live graphs default to no workers (measured: more pairs/s and less CPU
        // per pair than with workers, which mostly wake up to find nothing).
        const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        const unsigned threads = graph.opt.threads ? graph.opt.threads : inject_runs_graph_ ? 1 : cores;
        const unsigned workers = threads - 1;
        // The driving thread blocks on back-pressure, so it does not count as a worker.
        parallelism_ = std::make_unique<oneapi::tbb::global_control>(
            oneapi::tbb::global_control::max_allowed_parallelism, workers + 1);
        // A slot for every thread that enters the arena from outside: the
        // driving thread, the timer, each live source's and an operator's
        // requests (Runtime::call(), one at a time).
        const unsigned outside = 3 + unsigned(graph.sources.live);
        arena_.initialize(int(workers + outside), outside);
        arena_.execute([&] { g_ = std::make_unique<flow::graph>(); });
        for (auto& r : graph.runners) {
            NodeRunner* raw = r.get();
            nodes_.push_back(std::make_unique<flow::function_node<Message>>(*g_, flow::serial, [raw](const Message& m) {
                raw->body(m);
                return flow::continue_msg();
            }));
        }
    }

    ~LiveModel() override
    {
        graph_.control.stop(); // a run that threw left the timer running
        stop_clock();
        wait_idle();
    }

    void post(NodeRunner& to, Message&& m) override { nodes_[to.index]->try_put(m); }

    void post_request(NodeRunner& to, Message&& m) override
    {
        arena_.execute([&] {
            post(to, std::move(m));
            if (inject_runs_graph_) wait_idle(); // no worker may be there to run it
        });
    }

    void wait_idle() override
    {
        // graph::wait_for_all() resets the graph's flags unsynchronised, so
        // threads take turns; the waiting thread runs everyone's messages.
        std::lock_guard lock(wait_mu_);
        g_->wait_for_all();
    }

    uint64_t now() const override { return wall_clock_ns(); }

    void inject(NodeRunner& from, int port, Batch&& batch) override
    {
        if (!inject_runs_graph_) return from.send(port, std::move(batch));
        // Run-to-completion, like QEMU's iothread: inside the graph's arena
        // the messages this sends are spawned on this thread, which then runs
        // them (and whatever else is pending) until the graph is idle. A
        // released frame then needs no wake-up of another thread. Workers,
        // if --threads asked for any, steal from it when there is more.
        arena_.execute([&] {
            from.send(port, std::move(batch));
            wait_idle();
        });
    }

    void start_clock() override
    {
        timer_ = std::thread([this] { timer_loop(); });
    }
    void stop_clock() override
    {
        if (timer_.joinable()) timer_.join();
    }

    uint64_t batch_end(uint64_t, uint64_t next_ts) override { return next_ts; }
    void before_batch(uint64_t) override {}
    void after_batch(uint64_t) override
    {
        // Help run the graph instead of sleeping until workers drain it:
        // the workers may be busy elsewhere, or not exist at all (a
        // process-wide parallelism limit of 1), and this thread would wait forever.
        if (graph_.control.over_limit()) wait_idle();
    }

private:
    void timer_loop()
    {
        while (!graph_.control.stopping()) {
            const uint64_t t = wall_clock_ns();
            uint64_t sleep_ns = 50'000'000;
            bool ticked = false;
            for (auto& tick : ticks_) {
                // An operator may have changed it (Runtime::set()); 0 ticks no more.
                if (const uint64_t now_every = tick.runner->tick_interval.load(std::memory_order_relaxed);
                    now_every != tick.interval) {
                    tick.interval = now_every;
                    tick.next = 0; // due one new interval from now
                }
                if (!tick.interval) continue;
                tick.start(t);
                if (tick.next <= t) {
                    tick.runner->put_control(Message::tick, t);
                    tick.next = t + tick.interval;
                    ticked = true;
                }
                sleep_ns = std::min(sleep_ns, tick.next - std::min(tick.next, t));
            }
            if (ticked && inject_runs_graph_) wait_idle(); // there may be no worker to run them
            if (graph_.opt.on_clock) graph_.opt.on_clock();
            graph_.control.sleep_unless_stopped(sleep_ns);
        }
    }

    RunningGraph& graph_;
    std::vector<TickDue> ticks_;
    // Live sources run the work they inject on their own thread (see inject()).
    const bool inject_runs_graph_;
    std::unique_ptr<oneapi::tbb::global_control> parallelism_;
    oneapi::tbb::task_arena arena_;                                    // the graph's; live sources' threads enter it
    std::unique_ptr<flow::graph> g_;                                   // made inside `arena_`, so it runs there
    std::vector<std::unique_ptr<flow::function_node<Message>>> nodes_; // one per runner, in its order
    std::mutex wait_mu_;
    std::thread timer_;
};

} // namespace

std::unique_ptr<ExecutionModel> make_live_model(RunningGraph& graph)
{
    return std::make_unique<LiveModel>(graph);
}

} // namespace colo::engine
