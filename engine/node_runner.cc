#include "engine/node_runner.hh"

#include "engine/clock.hh"
#include "engine/execution_model.hh"
#include "engine/topology.hh"

#include <iostream>
#include <mutex>

namespace colo::engine {

NodeRunner::NodeRunner(RunningGraph* g, const NodeDecl* d, std::size_t i)
    : rg(g), decl(d), index(i), emit(d->spec->ports_of(PortDir::out).size())
{}

void NodeRunner::body(const Message& m)
{
    switch (m.kind) {
    case Message::tick: call([&](Emit& e) { node->tick(m.now_ns, e); }); break;
    case Message::drain: call([&](Emit& e) { node->drain(e); }); break;
    case Message::request:
        call([&](Emit& e) {
            try {
                m.asked->result.set_value(m.asked->run(*node, e));
            } catch (...) {
                m.asked->result.set_exception(std::current_exception());
            }
        });
        tick_interval.store(node->tick_interval_ns(), std::memory_order_relaxed);
        break;
    case Message::data: {
        Inbound& in = *inbound[m.inbound];
        if (m.seq != in.expected) { // early: hold until its predecessors arrive
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
    rg->control.message_done();
}

void NodeRunner::deliver(Inbound& in, const Message& m)
{
    ++in.expected;
    if (PortTap* tap = in_taps[in.port].load(std::memory_order_acquire)) copy_to(in_taps[in.port], *tap, *m.batch);
    in.packets.add(m.batch->size());
    in.bytes.add(m.bytes);
    in.batches.add(1);
    call([&](Emit& e) { node->push(in.port, *m.batch, e); }, &m);
    rg->control.message_done();
}

template <class F>
void NodeRunner::call(F&& f, const Message* input)
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

void NodeRunner::dispatch(Emit& e, const Message* input)
{
    for (int port : e.forwarded()) send_shared(port, input->batch, input->bytes);
    auto& ports = e.ports();
    for (std::size_t i = 0; i < ports.size(); ++i)
        if (!ports[i].empty()) send(int(i), std::move(ports[i]));
}

void NodeRunner::send(int port, Batch&& b)
{
    const uint64_t bytes = b.bytes();
    send_shared(port, std::make_shared<Batch>(std::move(b)), bytes);
}

void NodeRunner::send_shared(int port, const std::shared_ptr<const Batch>& b, uint64_t bytes)
{
    OutPort& op = *out[port];
    op.packets.add(b->size());
    op.bytes.add(bytes);
    op.batches.add(1);
    if (PortTap* tap = op.tap.load(std::memory_order_acquire)) copy_to(op.tap, *tap, *b);
    if (op.successors.empty()) {
        op.unlinked.add(b->size());
        return;
    }
    const uint64_t seq = op.next_seq.fetch_add(1, std::memory_order_relaxed);
    for (const auto& s : op.successors) {
        rg->control.data_sent();
        rg->model->post(*s.to, Message{Message::data, s.inbound, seq, 0, b, bytes, nullptr});
    }
}

void NodeRunner::copy_to(TapSlot& slot, PortTap& tap, const Batch& b)
{
    if (!tap.copy(b, rg->model->now())) {
        PortTap* expected = &tap;
        slot.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel);
    }
}

void NodeRunner::put_control(Message::Kind kind, uint64_t now_ns)
{
    rg->control.control_sent();
    rg->model->post(*this, Message{kind, 0, 0, now_ns, nullptr, 0, nullptr});
}

void NodeRunner::put_request(std::shared_ptr<Request> request)
{
    rg->control.control_sent();
    rg->model->post_request(*this, Message{Message::request, 0, 0, 0, nullptr, 0, std::move(request)});
}

bool NodeRunner::inject(int port, Batch&& batch)
{
    if (!rg->control.wait_for_room()) return false;
    if (batch.empty()) return true;
    rg->model->inject(*this, port, std::move(batch));
    return true;
}

bool NodeRunner::stopping() const
{
    return rg->control.stopping();
}
void NodeRunner::done()
{
    rg->control.live_source_done();
}
uint64_t NodeRunner::now_ns() const
{
    return rg->model->now();
}

void NodeRunner::log(const std::string& message)
{
    const std::string line = decl->name + ": " + message;
    std::lock_guard lock(rg->log_mu); // one whole line per message, whatever thread logs
    if (rg->opt.log) return rg->opt.log(line);
    std::cerr << (line + '\n') << std::flush;
}

} // namespace colo::engine
