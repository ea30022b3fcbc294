#include "engine/operator_access.hh"

#include "engine/execution_model.hh"

#include <stdexcept>

namespace colo::engine {

void OperatorAccess::open(bool replay)
{
    std::lock_guard lock(mu_);
    state_ = replay ? State::replay : State::open;
}

void OperatorAccess::close()
{
    std::unique_lock lock(mu_);
    state_ = State::closed;
    posted_.wait(lock, [&] { return posting_ == 0; });
}

NodeRunner& OperatorAccess::runner(const std::string& node) const
{
    const int i = graph_.decl.node_index(node);
    if (i < 0) throw std::invalid_argument("no node named '" + node + "'");
    return *graph_.runners[i];
}

std::string OperatorAccess::request(NodeRunner& r, std::function<std::string(Node&, Emit&)> run,
                                    std::chrono::milliseconds timeout)
{
    auto req = std::make_shared<Request>();
    req->run = std::move(run);
    auto result = req->result.get_future();
    {
        std::lock_guard lock(mu_);
        if (state_ == State::replay)
            throw std::runtime_error("the graph runs a replay; requests to nodes need a live run (--mode live)");
        if (state_ != State::open) throw std::runtime_error("the graph is not running");
        ++posting_; // the run does not close meanwhile; not held while posting, which may run the graph
    }
    const auto posted = [&] {
        {
            std::lock_guard lock(mu_);
            --posting_;
        }
        posted_.notify_all();
    };
    try {
        r.put_request(req); // may run the graph, and so rethrow what a node threw
    } catch (...) {
        posted();
        throw;
    }
    posted();
    if (result.wait_for(timeout) != std::future_status::ready)
        throw std::runtime_error("node '" + r.decl->name + "' did not answer within " +
                                 std::to_string(timeout.count()) + " ms");
    return result.get();
}

std::string OperatorAccess::call(const std::string& node, const std::string& handler, const std::string& arg,
                                 std::chrono::milliseconds timeout)
{
    NodeRunner& r = runner(node);
    const HandlerSpec* h = r.decl->spec->handler(handler);
    if (!h) throw std::invalid_argument("node '" + node + "' (" + r.decl->type + ") has no handler '" + handler + "'");
    if (h->arg.empty() && !arg.empty()) throw std::invalid_argument(handler + " takes no argument");
    if (!h->arg.empty() && arg.empty()) throw std::invalid_argument(handler + " needs " + h->arg);
    const int index = h->index;
    return request(
        r, [index, arg](Node& n, Emit& out) { return n.handle(index, arg, out); }, timeout);
}

void OperatorAccess::set(const std::string& node, const std::string& property, std::string value,
                         std::chrono::milliseconds timeout)
{
    NodeRunner& r = runner(node);
    const PropertySpec* p = r.decl->spec->property(property);
    if (!p)
        throw std::invalid_argument("node '" + node + "' (" + r.decl->type + ") has no property '" + property + "'");
    if (!p->changeable) throw std::invalid_argument(node + "." + property + " cannot be changed while the graph runs");
    if (const std::string why = check_scalar(*p, value); !why.empty())
        throw std::invalid_argument(node + "." + property + ": " + why);
    Properties props;
    props.set(property, std::move(value));
    request(
        r,
        [property, props = std::move(props)](Node& n, Emit& out) {
            n.set_property(property, props, out);
            return std::string("null");
        },
        timeout);
}

int OperatorAccess::tap(const std::string& node, const std::string& port, std::shared_ptr<PortTap> tap)
{
    NodeRunner& r = runner(node);
    const int out = r.decl->spec->port_index(port, PortDir::out);
    const int in = r.decl->spec->port_index(port, PortDir::in);
    if (out < 0 && in < 0) throw std::invalid_argument("node '" + node + "' has no port '" + port + "'");
    TapSlot& slot = out >= 0 ? r.out[out]->tap : r.in_taps[in];
    std::lock_guard lock(mu_);
    if (slot.load()) throw std::invalid_argument(node + "." + port + " is traced already");
    slot.store(tap.get(), std::memory_order_release);
    taps_.push_back({&slot, std::move(tap)});
    return int(taps_.size() - 1);
}

void OperatorAccess::untap(int id)
{
    std::lock_guard lock(mu_);
    if (id < 0 || id >= int(taps_.size())) return;
    Attached& a = taps_[id];
    if (a.slot && a.slot->load() == a.tap.get()) a.slot->store(nullptr, std::memory_order_release);
    a.slot = nullptr;
}

} // namespace colo::engine
