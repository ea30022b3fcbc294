// The runtime's public face: builds the graph (topology.cc), picks an
// execution model (model_replay.cc or model_live.cc), starts the nodes,
// drives the sources until they are done or stopped, then drains.
#include "engine/runtime.hh"

#include "engine/execution_model.hh"
#include "engine/offline_sources.hh"
#include "engine/operator_access.hh"
#include "engine/topology.hh"

#include <stdexcept>

namespace colo {

struct Runtime::Impl {
    Impl(const GraphDecl& graph, RunOptions options) : graph(graph, std::move(options)), operators(this->graph) {}
    engine::RunningGraph graph;
    engine::OperatorAccess operators;
    std::unique_ptr<engine::ExecutionModel> model; // destroyed first: it runs the graph's nodes
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
    impl_->model.reset(); // messages left by a node that threw are not run
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
    rt.operators.open(rt.replay);
    try {
        if (rt.graph.opt.on_running) rt.graph.opt.on_running();
        if (rt.graph.sources.offline) engine::drive_offline_sources(rt.graph);
        if (rt.graph.sources.live) rt.graph.control.wait_for_live_sources();
    } catch (...) {
        rt.operators.close(); // a node threw: the run is over for requests too
        throw;
    }
    rt.graph.control.stop();
    rt.operators.close();
    rt.model->stop_clock();
    rt.drain_all();
}

void Runtime::stop()
{
    impl_->graph.control.stop();
}

const GraphDecl& Runtime::graph() const
{
    return impl_->graph.decl;
}

Node* Runtime::node(const std::string& name) const
{
    const int i = impl_->graph.decl.node_index(name);
    return i < 0 ? nullptr : impl_->graph.runners[i]->node.get();
}

RunMode Runtime::mode() const
{
    return impl_->replay ? RunMode::replay : RunMode::live;
}
int64_t Runtime::peak_in_flight() const
{
    return impl_->graph.control.peak_in_flight();
}
std::vector<NodeStats> Runtime::stats() const
{
    return impl_->graph.stats();
}

std::string Runtime::call(const std::string& node, const std::string& handler, const std::string& arg,
                          std::chrono::milliseconds timeout)
{
    return impl_->operators.call(node, handler, arg, timeout);
}
void Runtime::set(const std::string& node, const std::string& property, std::string value,
                  std::chrono::milliseconds timeout)
{
    impl_->operators.set(node, property, std::move(value), timeout);
}
int Runtime::tap(const std::string& node, const std::string& port, std::shared_ptr<PortTap> tap)
{
    return impl_->operators.tap(node, port, std::move(tap));
}
void Runtime::untap(int id)
{
    impl_->operators.untap(id);
}

} // namespace colo
