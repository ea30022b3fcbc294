// The runtime's public face: builds the graph (topology.cc), picks an
// execution model (model_replay.cc or model_live.cc), starts the nodes,
// drives the sources until they are done or stopped, then drains.
#include "engine/runtime.hh"

#include "engine/execution_model.hh"
#include "engine/offline_sources.hh"
#include "engine/topology.hh"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace colo {

struct Runtime::Impl {
    Impl(const GraphDecl& graph, RunOptions options) : graph(graph, std::move(options)) {}
    engine::RunningGraph graph;
    std::unique_ptr<engine::ExecutionModel> model;   // destroyed first: it runs the graph's nodes
    bool replay = false;

    void start_nodes();
    void drain_all();
};

Runtime::Runtime(const GraphDecl& graph, RunOptions options) : impl_(std::make_unique<Impl>(graph, std::move(options)))
{
    Impl& rt = *impl_;
    rt.replay = rt.graph.replay_mode();
    rt.model = rt.replay ? engine::make_replay_model(rt.graph) : engine::make_live_model(rt.graph);
    rt.graph.model = rt.model.get();
}

Runtime::~Runtime()
{
    if (!impl_) return;
    impl_->graph.control.set_stopping();
    impl_->model.reset();   // messages left by a node that threw are not run
}

void Runtime::Impl::start_nodes()
{
    graph.control.expect_live_sources(graph.sources.live);
    for (auto& r : graph.runners) {
        try {
            r->node->start(*r);
        } catch (const std::exception& e) {
            graph.control.set_stopping();
            model->wait_idle();
            for (auto& other : graph.runners) other->node->finish();
            throw std::runtime_error("node '" + r->decl->name + "' (" + r->decl->type + "): " + e.what());
        }
    }
}

// Drains node by node in topological order with the graph idle in between,
// then finishes every node.
void Runtime::Impl::drain_all()
{
    model->wait_idle();
    for (int i : engine::topological_order(graph.decl)) {
        graph.runners[i]->put_control(engine::Message::drain, model->now());
        model->wait_idle();
    }
    for (auto& r : graph.runners) r->node->finish();
}

void Runtime::run()
{
    Impl& rt = *impl_;
    rt.start_nodes();
    rt.model->start_clock();
    if (rt.graph.sources.offline) engine::drive_offline_sources(rt.graph);
    if (rt.graph.sources.live) rt.graph.control.wait_for_live_sources();
    rt.graph.control.stop();
    rt.model->stop_clock();
    rt.drain_all();
}

void Runtime::stop() { impl_->graph.control.stop(); }

const GraphDecl& Runtime::graph() const { return impl_->graph.decl; }

Node* Runtime::node(const std::string& name) const
{
    const int i = impl_->graph.decl.node_index(name);
    return i < 0 ? nullptr : impl_->graph.runners[i]->node.get();
}

bool Runtime::deterministic() const { return impl_->replay; }
int64_t Runtime::peak_in_flight() const { return impl_->graph.control.peak_in_flight(); }
std::vector<NodeStats> Runtime::stats() const { return impl_->graph.stats(); }

std::vector<NodeStats> engine::RunningGraph::stats() const
{
    std::vector<NodeStats> all;
    const double ns_per_tick = clock_rate.ns_per_tick();
    for (auto& r : runners) {
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
