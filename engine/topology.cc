#include "engine/topology.hh"

#include <stdexcept>

namespace colo::engine {

RunningGraph::RunningGraph(const GraphDecl& graph, RunOptions options)
    : decl(graph), opt(std::move(options)), control(opt.max_in_flight)
{
    if (opt.batch_size == 0) opt.batch_size = 1;
    for (const auto& nd : decl.nodes) {
        if (!nd.spec) throw std::runtime_error("node '" + nd.name + "' has no valid type");
        auto r = std::make_unique<NodeRunner>(this, &nd, runners.size());
        try {
            r->node = nd.spec->factory(nd.props);
        } catch (const std::exception& e) {
            throw std::runtime_error("node '" + nd.name + "' (" + nd.type + "): " + e.what());
        }
        r->node->init_counters(nd.spec->counters.size());
        r->node->init_histograms(nd.spec->histograms.size());
        r->tick_interval.store(r->node->tick_interval_ns());
        r->in_taps = std::make_unique<TapSlot[]>(nd.spec->ports_of(PortDir::in).size());
        for (const auto* p : nd.spec->ports_of(PortDir::out)) {
            auto op = std::make_unique<OutPort>();
            op->name = p->name;
            r->out.push_back(std::move(op));
        }
        sources.live += r->node->source_kind() == SourceKind::live;
        sources.offline += r->node->source_kind() == SourceKind::offline;
        runners.push_back(std::move(r));
    }
    for (const auto& l : decl.links) {
        NodeRunner& to = *runners[l.to];
        auto in = std::make_unique<Inbound>();
        in->port = l.to_port_index;
        in->from = runners[l.from]->out[l.from_port_index].get();
        to.inbound.push_back(std::move(in));
        runners[l.from]->out[l.from_port_index]->successors.push_back({&to, uint32_t(to.inbound.size() - 1)});
    }
}

bool RunningGraph::replay_mode() const
{
    if (opt.mode == RunMode::replay)
        for (const auto& r : runners)
            if (r->node->source_kind() == SourceKind::live)
                throw std::runtime_error("node '" + r->decl->name +
                                         "' is a live source; deterministic replay needs offline sources only");
    return opt.mode == RunMode::automatic ? sources.live == 0 : opt.mode == RunMode::replay;
}

std::vector<int> topological_order(const GraphDecl& graph)
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

} // namespace colo::engine
