#include "engine/runtime.hh"

#include "engine/clock.hh"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace colo {

namespace flow = oneapi::tbb::flow;

namespace {

using engine::CycleClock;
using engine::CycleRate;
using engine::wall_clock_ns;

struct Message {
    enum Kind : uint8_t { data, tick, drain } kind = data;
    uint32_t inbound = 0;   // receiver's inbound-link index
    uint64_t seq = 0;       // per sending port, 0, 1, 2, ...
    uint64_t now_ns = 0;    // tick time
    std::shared_ptr<const Batch> batch;
    uint64_t bytes = 0;     // batch->bytes(), computed once by the sender
};

struct NodeRunner;

struct Successor {
    NodeRunner* to;
    uint32_t inbound;
};

struct Counter {
    std::atomic<uint64_t> v{0};
    void add(uint64_t n) { v.fetch_add(n, std::memory_order_relaxed); }
    uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

// A counter only the node's serial body writes: a plain load and store, not a
// locked add (~6 ns each on the development VM, several per message); other
// threads still read whole values.
struct SerialCounter {
    std::atomic<uint64_t> v{0};
    void add(uint64_t n) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

struct OutPort {
    std::string name;
    std::vector<Successor> successors;
    std::atomic<uint64_t> next_seq{0};
    Counter packets, bytes, batches, unlinked;
};

// One inbound link: its re-sequencing state. Touched only from the node's
// serial body.
struct Inbound {
    int port = 0;
    uint64_t expected = 0;
    std::map<uint64_t, Message> early;   // arrived ahead of `expected`
    SerialCounter packets, bytes, batches;
};

} // namespace

struct Runtime::Impl {
    GraphDecl graph;
    RunOptions opt;
    CycleRate clock_rate;   // busy time: ticks to ns
    std::unique_ptr<oneapi::tbb::global_control> parallelism;
    oneapi::tbb::task_arena arena;   // the graph's; live sources' threads enter it
    std::unique_ptr<flow::graph> g;   // made inside `arena`, so it runs there
    std::vector<std::unique_ptr<NodeRunner>> runners;
    // Live sources run the work they inject on their own thread (see inject()).
    bool inject_runs_graph = false;
    // graph::wait_for_all() resets the graph's flags unsynchronised, so
    // threads take turns; the waiting thread runs everyone's messages.
    std::mutex wait_mu;
    void wait_idle()
    {
        if (deterministic) return run_queued();
        std::lock_guard lock(wait_mu);
        g->wait_for_all();
    }
    // Replay (deterministic) runs on the driving thread alone and waits for
    // the graph after every batch, so it has no use for oneTBB's tasks:
    // messages wait in one queue, in the order sent, and wait_idle() runs
    // them. A replay of two interleaved captures sends a batch per packet or
    // two, and a task per message cost more than most nodes' work.
    std::deque<std::pair<NodeRunner*, Message>> queued;
    void run_queued();

    std::atomic<int64_t> in_flight{0};
    std::atomic<int> room_waiters{0};
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<bool> stopping{false};
    std::atomic<uint64_t> sim_now{0};
    bool deterministic = false;
    std::atomic<int> live_sources_left{0};

    std::atomic<int64_t> peak_in_flight{0};
    void note_in_flight(int64_t n)
    {
        int64_t peak = peak_in_flight.load(std::memory_order_relaxed);
        while (n > peak && !peak_in_flight.compare_exchange_weak(peak, n, std::memory_order_relaxed)) {}
    }
    void message_done();
    bool wait_for_room();
    std::mutex log_mu;
    void log(const std::string& s)
    {
        std::lock_guard lock(log_mu);   // one whole line per message, whatever thread logs
        if (opt.log) return opt.log(s);
        std::cerr << (s + '\n') << std::flush;
    }
    uint64_t now() const { return deterministic ? sim_now.load() : wall_clock_ns(); }
    std::vector<int> topological_order() const;
    void drive_offline();
    void advance_sim_time(uint64_t t);
    void timer_loop();
    void drain_all();
};

namespace {

struct NodeRunner final : Injector {
    Runtime::Impl* rt;
    const NodeDecl* decl;
    std::unique_ptr<Node> node;
    std::unique_ptr<flow::function_node<Message>> fn;
    std::vector<std::unique_ptr<Inbound>> inbound;
    std::vector<std::unique_ptr<OutPort>> out;
    Emit emit;                // reused by every call: the node is serial
    Counter calls;            // also counted by the offline driver, for pull()
    SerialCounter busy_ticks; // CycleClock ticks inside node calls
    uint64_t next_tick = 0;
    bool exhausted = false;

    NodeRunner(Runtime::Impl* r, const NodeDecl* d) : rt(r), decl(d), emit(d->spec->ports_of(PortDir::out).size()) {}

    void body(const Message& m)
    {
        switch (m.kind) {
        case Message::tick: call([&](Emit& e) { node->tick(m.now_ns, e); }); break;
        case Message::drain: call([&](Emit& e) { node->drain(e); }); break;
        case Message::data: {
            Inbound& in = *inbound[m.inbound];
            if (m.seq != in.expected) {   // early: hold until its predecessors arrive
                in.early.emplace(m.seq, m);
                return;
            }
            deliver(in, m);
            while (!in.early.empty() && in.early.begin()->first == in.expected) {
                auto held = in.early.extract(in.early.begin());
                deliver(in, held.mapped());
            }
            return;
        }
        }
        rt->message_done();
    }

    void deliver(Inbound& in, const Message& m)
    {
        ++in.expected;
        in.packets.add(m.batch->size());
        in.bytes.add(m.bytes);
        in.batches.add(1);
        call([&](Emit& e) { node->push(in.port, *m.batch, e); }, &m);
        rt->message_done();
    }

    template <class F> void call(F&& f, const Message* input = nullptr)
    {
        // Every batch is created non-const (send()), so a sole holder may
        // edit it: nobody else can gain a reference from here on.
        Batch* editable = input && input->batch.use_count() == 1 ? const_cast<Batch*>(input->batch.get()) : nullptr;
        emit.reset(input != nullptr, editable);
        const uint64_t t0 = CycleClock::now();
        f(emit);
        busy_ticks.add(CycleClock::now() - t0);
        calls.add(1);
        dispatch(emit, input);
    }

    void dispatch(Emit& e, const Message* input)
    {
        for (int port : e.forwarded()) send_shared(port, input->batch, input->bytes);
        auto& ports = e.ports();
        for (std::size_t i = 0; i < ports.size(); ++i)
            if (!ports[i].empty()) send(int(i), std::move(ports[i]));
    }

    void send(int port, Batch&& b)
    {
        const uint64_t bytes = b.bytes();
        send_shared(port, std::make_shared<Batch>(std::move(b)), bytes);
    }

    void send_shared(int port, const std::shared_ptr<const Batch>& b, uint64_t bytes)
    {
        OutPort& op = *out[port];
        op.packets.add(b->size());
        op.bytes.add(bytes);
        op.batches.add(1);
        if (op.successors.empty()) {
            op.unlinked.add(b->size());
            return;
        }
        const uint64_t seq = op.next_seq.fetch_add(1, std::memory_order_relaxed);
        for (const auto& s : op.successors) {
            rt->note_in_flight(rt->in_flight.fetch_add(1, std::memory_order_relaxed) + 1);
            s.to->post(Message{Message::data, s.inbound, seq, 0, b, bytes});
        }
    }

    void put_control(Message::Kind kind, uint64_t now_ns)
    {
        rt->in_flight.fetch_add(1, std::memory_order_relaxed);
        post(Message{kind, 0, 0, now_ns, nullptr, 0});
    }

    void post(Message&& m)
    {
        if (rt->deterministic) rt->queued.emplace_back(this, std::move(m));
        else fn->try_put(m);
    }

    // Injector
    bool inject(int port, Batch&& batch) override
    {
        if (!rt->wait_for_room()) return false;
        if (batch.empty()) return true;
        if (!rt->inject_runs_graph) {
            send(port, std::move(batch));
            return true;
        }
        // Run-to-completion, like QEMU's iothread: inside the graph's arena
        // the messages this sends are spawned on this thread, which then runs
        // them (and whatever else is pending) until the graph is idle. A
        // released frame then needs no wake-up of another thread. Workers,
        // if --threads asked for any, steal from it when there is more.
        rt->arena.execute([&] {
            send(port, std::move(batch));
            rt->wait_idle();
        });
        return true;
    }
    bool stopping() const override { return rt->stopping.load(); }
    void done() override
    {
        if (rt->live_sources_left.fetch_sub(1) == 1) {
            { std::lock_guard lock(rt->mu); }
            rt->cv.notify_all();
        }
    }
    uint64_t now_ns() const override { return rt->now(); }
    void log(const std::string& message) override { rt->log(decl->name + ": " + message); }
};


} // namespace

void Runtime::Impl::message_done()
{
    const int64_t left = in_flight.fetch_sub(1, std::memory_order_acq_rel) - 1;
    if (room_waiters.load(std::memory_order_acquire) > 0 && left <= int64_t(opt.max_in_flight)) {
        { std::lock_guard lock(mu); }
        cv.notify_all();
    }
}

bool Runtime::Impl::wait_for_room()
{
    if (in_flight.load(std::memory_order_acquire) <= int64_t(opt.max_in_flight)) return !stopping.load();
    std::unique_lock lock(mu);
    room_waiters.fetch_add(1);
    while (!stopping.load() && in_flight.load() > int64_t(opt.max_in_flight))
        cv.wait_for(lock, std::chrono::milliseconds(10));
    room_waiters.fetch_sub(1);
    return !stopping.load();
}

std::vector<int> Runtime::Impl::topological_order() const
{
    const int n = int(graph.nodes.size());
    std::vector<int> indegree(n, 0), order;
    for (const auto& l : graph.links) ++indegree[l.to];
    std::vector<bool> done(n, false);
    for (bool progress = true; progress;) {
        progress = false;
        for (int i = 0; i < n; ++i) {
            if (done[i] || indegree[i] != 0) continue;
            done[i] = progress = true;
            order.push_back(i);
            for (const auto& l : graph.links)
                if (l.from == i) --indegree[l.to];
        }
    }
    // Nodes on cycles (e.g. a checkpoint loop) follow in declaration order.
    for (int i = 0; i < n; ++i)
        if (!done[i]) order.push_back(i);
    return order;
}

void Runtime::Impl::advance_sim_time(uint64_t t)
{
    bool ticked = false;
    for (auto& r : runners) {
        const uint64_t interval = r->node->tick_interval_ns();
        if (!interval) continue;
        if (r->next_tick == 0) r->next_tick = t + interval;
        // Bounded catch-up: a long silence in a capture must not cost millions of ticks.
        for (int n = 0; r->next_tick <= t; ++n) {
            if (n == 10000) { r->next_tick = t; }
            if (r->node->wants_tick(r->next_tick)) {
                sim_now.store(r->next_tick);
                r->put_control(Message::tick, r->next_tick);
                ticked = true;
            }
            r->next_tick += interval;
        }
    }
    if (ticked) wait_idle();
    sim_now.store(t);
}

void Runtime::Impl::run_queued()
{
    while (!queued.empty()) {
        auto [runner, m] = std::move(queued.front());
        queued.pop_front();
        runner->body(m);
    }
}

void Runtime::Impl::drive_offline()
{
    std::vector<NodeRunner*> sources;
    for (auto& r : runners)
        if (r->node->source_kind() == SourceKind::offline) sources.push_back(r.get());
    while (!stopping.load()) {
        NodeRunner* best = nullptr;
        uint64_t best_ts = UINT64_MAX, next_ts = UINT64_MAX;
        for (auto* s : sources) {
            uint64_t ts = 0;
            if (s->exhausted || !s->node->peek_time(ts)) { s->exhausted = true; continue; }
            if (!best || ts < best_ts) { next_ts = best ? best_ts : next_ts; best = s; best_ts = ts; }
            else if (ts < next_ts) next_ts = ts;
        }
        if (!best) break;
        // In replay a batch also ends before the next tick, so that time-driven
        // work (a comparator's timeout scan, a simulated checkpoint) happens
        // between the right packets even when one source runs alone for long.
        uint64_t until = next_ts;
        if (deterministic)
            for (auto& r : runners)
                if (const uint64_t interval = r->node->tick_interval_ns())   // the first tick comes one interval in
                    until = std::min(until, (r->next_tick ? r->next_tick : best_ts + interval) - 1);
        Batch b;
        int port = 0;
        if (!best->node->pull(opt.batch_size, until, port, b)) { best->exhausted = true; continue; }
        if (b.empty()) continue;
        if (deterministic) advance_sim_time(b.packets.front().ts_ns);
        const uint64_t last = b.packets.back().ts_ns;
        best->calls.add(1);
        best->send(port, std::move(b));
        if (deterministic) {
            wait_idle();
            sim_now.store(last);
        } else if (in_flight.load(std::memory_order_acquire) > int64_t(opt.max_in_flight)) {
            // Help run the graph instead of sleeping until workers drain it:
            // the workers may be busy elsewhere, or not exist at all (a
            // process-wide parallelism limit of 1), and this thread would wait forever.
            wait_idle();
        }
    }
}

void Runtime::Impl::timer_loop()
{
    while (!stopping.load()) {
        const uint64_t t = wall_clock_ns();
        uint64_t sleep_ns = 50'000'000;
        bool ticked = false;
        for (auto& r : runners) {
            const uint64_t interval = r->node->tick_interval_ns();
            if (!interval) continue;
            if (r->next_tick == 0) r->next_tick = t + interval;
            if (r->next_tick <= t) {
                r->put_control(Message::tick, t);
                r->next_tick = t + interval;
                ticked = true;
            }
            sleep_ns = std::min(sleep_ns, r->next_tick - std::min(r->next_tick, t));
        }
        if (ticked && inject_runs_graph) wait_idle();   // there may be no worker to run them
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::nanoseconds(std::max<uint64_t>(sleep_ns, 1'000'000)),
                    [&] { return stopping.load(); });
    }
}

void Runtime::Impl::drain_all()
{
    wait_idle();
    for (int i : topological_order()) {
        runners[i]->put_control(Message::drain, now());
        wait_idle();
    }
    for (auto& r : runners) r->node->finish();
}

Runtime::Runtime(const GraphDecl& graph, RunOptions options) : impl_(std::make_unique<Impl>())
{
    Impl& rt = *impl_;
    rt.graph = graph;
    rt.opt = std::move(options);
    if (rt.opt.batch_size == 0) rt.opt.batch_size = 1;
    for (const auto& nd : rt.graph.nodes) {
        if (!nd.spec) throw std::runtime_error("node '" + nd.name + "' has no valid type");
        auto r = std::make_unique<NodeRunner>(&rt, &nd);
        try {
            r->node = nd.spec->factory(nd.props);
        } catch (const std::exception& e) {
            throw std::runtime_error("node '" + nd.name + "' (" + nd.type + "): " + e.what());
        }
        r->node->init_counters(nd.spec->counters.size());
        for (const auto* p : nd.spec->ports_of(PortDir::out)) {
            auto op = std::make_unique<OutPort>();
            op->name = p->name;
            r->out.push_back(std::move(op));
        }
        rt.runners.push_back(std::move(r));
    }
    int live_sources = 0, offline_sources = 0;
    for (auto& r : rt.runners) {
        live_sources += r->node->source_kind() == SourceKind::live;
        offline_sources += r->node->source_kind() == SourceKind::offline;
        if (r->node->source_kind() == SourceKind::live && rt.opt.deterministic.value_or(false))
            throw std::runtime_error("node '" + r->decl->name + "' is a live source; deterministic replay needs offline sources only");
    }
    rt.deterministic = rt.opt.deterministic.value_or(live_sources == 0);
    // With an offline source the graph is rarely idle, and a live source
    // waiting for that would stop reading; such graphs hand work to workers.
    rt.inject_runs_graph = live_sources > 0 && offline_sources == 0;
    // Threads that run nodes: the driving thread (offline sources) or the
    // sources' own threads (all-live graphs), plus threads - 1 workers. All-
    // live graphs default to no workers (measured: more pairs/s and less CPU
    // per pair than with workers, which mostly wake up to find nothing).
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const unsigned threads = rt.deterministic ? 1 : rt.opt.threads ? rt.opt.threads : rt.inject_runs_graph ? 1 : cores;
    const unsigned workers = threads - 1;
    // The driving thread blocks on back-pressure, so it does not count as a worker.
    rt.parallelism = std::make_unique<oneapi::tbb::global_control>(
        oneapi::tbb::global_control::max_allowed_parallelism, workers + 1);
    // A slot for every thread that enters the arena from outside: the
    // driving thread, the timer and each live source's.
    const unsigned outside = 2 + unsigned(live_sources);
    rt.arena.initialize(int(workers + outside), outside);
    rt.arena.execute([&] { rt.g = std::make_unique<flow::graph>(); });
    for (auto& r : rt.runners) {
        NodeRunner* raw = r.get();
        r->fn = std::make_unique<flow::function_node<Message>>(*rt.g, flow::serial, [raw](const Message& m) {
            raw->body(m);
            return flow::continue_msg();
        });
    }
    for (const auto& l : rt.graph.links) {
        NodeRunner& to = *rt.runners[l.to];
        auto in = std::make_unique<Inbound>();
        in->port = l.to_port_index;
        to.inbound.push_back(std::move(in));
        rt.runners[l.from]->out[l.from_port_index]->successors.push_back({&to, uint32_t(to.inbound.size() - 1)});
    }
}

Runtime::~Runtime()
{
    if (!impl_) return;
    impl_->stopping.store(true);
    impl_->queued.clear(); // left by a node that threw: do not run the rest
    impl_->wait_idle();
}

void Runtime::run()
{
    Impl& rt = *impl_;
    bool has_live = false, has_offline = false;
    for (auto& r : rt.runners) {
        has_live |= r->node->source_kind() == SourceKind::live;
        rt.live_sources_left += r->node->source_kind() == SourceKind::live;
        has_offline |= r->node->source_kind() == SourceKind::offline;
    }
    for (auto& r : rt.runners) {
        try {
            r->node->start(*r);
        } catch (const std::exception& e) {
            rt.stopping.store(true);
            rt.wait_idle();
            for (auto& other : rt.runners) other->node->finish();
            throw std::runtime_error("node '" + r->decl->name + "' (" + r->decl->type + "): " + e.what());
        }
    }
    std::thread timer;
    if (!rt.deterministic) timer = std::thread([&] { rt.timer_loop(); });
    if (has_offline) rt.drive_offline();
    if (has_live) {
        std::unique_lock lock(rt.mu);
        rt.cv.wait(lock, [&] { return rt.stopping.load() || rt.live_sources_left.load() <= 0; });
    }
    rt.stopping.store(true);
    rt.cv.notify_all();
    if (timer.joinable()) timer.join();
    rt.drain_all();
}

void Runtime::stop()
{
    impl_->stopping.store(true);
    { std::lock_guard lock(impl_->mu); }
    impl_->cv.notify_all();
}

const GraphDecl& Runtime::graph() const { return impl_->graph; }

Node* Runtime::node(const std::string& name) const
{
    const int i = impl_->graph.node_index(name);
    return i < 0 ? nullptr : impl_->runners[i]->node.get();
}

bool Runtime::deterministic() const { return impl_->deterministic; }
int64_t Runtime::peak_in_flight() const { return impl_->peak_in_flight.load(); }

std::vector<NodeStats> Runtime::stats() const
{
    std::vector<NodeStats> all;
    const double ns_per_tick = impl_->clock_rate.ns_per_tick();
    for (auto& r : impl_->runners) {
        NodeStats s;
        s.name = r->decl->name;
        s.type = r->decl->type;
        s.calls = r->calls.get();
        s.busy_ns = uint64_t(double(r->busy_ticks.get()) * ns_per_tick);
        for (const auto* p : r->decl->spec->ports_of(PortDir::in)) s.in.push_back(PortStats{p->name});
        for (const auto& in : r->inbound) {
            auto& ps = s.in[in->port];
            ps.packets += in->packets.get();
            ps.bytes += in->bytes.get();
            ps.batches += in->batches.get();
        }
        for (const auto& op : r->out)
            s.out.push_back(PortStats{op->name, op->packets.get(), op->bytes.get(), op->batches.get(), op->unlinked.get()});
        const auto& specs = r->decl->spec->counters;
        for (std::size_t i = 0; i < specs.size(); ++i) s.counters.emplace_back(specs[i].name, r->node->counter(i));
        all.push_back(std::move(s));
    }
    return all;
}

std::string format_stats(const std::vector<NodeStats>& stats)
{
    std::ostringstream os;
    char line[256];
    std::snprintf(line, sizeof line, "%-18s %-16s %10s %12s %12s %10s %10s\n", "Node", "Type", "Calls", "Packets in",
                  "Packets out", "Pkts/Call", "ns/Packet");
    os << line;
    for (const auto& s : stats) {
        uint64_t in = 0, out = 0;
        for (const auto& p : s.in) in += p.packets;
        for (const auto& p : s.out) out += p.packets;
        const uint64_t work = std::max(in, out);
        std::snprintf(line, sizeof line, "%-18s %-16s %10llu %12llu %12llu %10.1f %10.1f\n", s.name.c_str(), s.type.c_str(),
                      (unsigned long long)s.calls, (unsigned long long)in, (unsigned long long)out,
                      s.calls ? double(work) / double(s.calls) : 0.0, work ? double(s.busy_ns) / double(work) : 0.0);
        os << line;
        for (const auto& p : s.out)
            if (p.unlinked_drops) os << "    " << p.name << ".unlinked_drops " << p.unlinked_drops << '\n';
        for (const auto& [name, v] : s.counters)
            if (v) os << "    " << name << " " << v << '\n';
    }
    return os.str();
}

} // namespace colo
