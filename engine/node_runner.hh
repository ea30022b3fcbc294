// NodeRunner: one node instance and what the runtime keeps for it. It runs
// the node's calls (body()), restores the order of each inbound link
// (re-sequencing), forwards what the node emitted to the linked successors
// (dispatch), and is the Injector that live sources emit through. Which
// thread runs a message, and when, is the execution model's business
// (execution_model.hh); NodeRunner hands every message to it.
#pragma once

#include "engine/graph_file.hh"
#include "engine/node.hh"
#include "engine/port_tap.hh"

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace colo::engine {

struct RunningGraph;
struct NodeRunner;

// An operator's request to one node (Runtime::call()): run by the node's
// serial body; the caller waits on `result`.
struct Request {
    std::function<std::string(Node&, Emit&)> run;
    std::promise<std::string> result; // the JSON result, or what run() threw
};

// One message to a node: a batch on one of its inbound links, a tick, a
// request to drain or an operator's request.
struct Message {
    enum Kind : uint8_t { data, tick, drain, request } kind = data;
    uint32_t inbound = 0; // receiver's inbound-link index
    uint64_t seq = 0;     // per sending port, 0, 1, 2, ...
    uint64_t now_ns = 0;  // tick time
    std::shared_ptr<const Batch> batch;
    uint64_t bytes = 0;             // batch->bytes(), computed once by the sender
    std::shared_ptr<Request> asked; // kind request: what the operator asked
};

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

// Where a trace is attached (Runtime::tap()): one load per batch when none is.
using TapSlot = std::atomic<PortTap*>;

struct OutPort {
    std::string name;
    std::vector<Successor> successors;
    std::atomic<uint64_t> next_seq{0};
    Counter packets, bytes, batches, unlinked;
    TapSlot tap{nullptr};
};

// One inbound link: its re-sequencing state. Touched only from the node's
// serial body.
struct Inbound {
    int port = 0;
    const OutPort* from = nullptr; // the sender's port: its batches less ours delivered are queued
    uint64_t expected = 0;
    std::map<uint64_t, Message> early; // arrived ahead of `expected`
    SerialCounter packets, bytes, batches;
};

struct NodeRunner final : Injector {
    RunningGraph* rg;
    const NodeDecl* decl;
    std::size_t index; // in declaration order
    std::unique_ptr<Node> node;
    std::vector<std::unique_ptr<Inbound>> inbound;
    std::vector<std::unique_ptr<OutPort>> out;
    Emit emit;                          // reused by every call: the node is serial
    Counter calls;                      // also counted by the offline driver, for pull()
    SerialCounter busy_ticks;           // CycleClock ticks inside node calls
    std::unique_ptr<TapSlot[]> in_taps; // per input port
    // Node::tick_interval_ns(), read again after every request (a request
    // may change it), for the clock's thread.
    std::atomic<uint64_t> tick_interval{0};

    NodeRunner(RunningGraph* g, const NodeDecl* d, std::size_t i);

    // Runs one message: the node's serial body.
    void body(const Message& m);
    // Sends a batch on output port `port` to every linked successor.
    void send(int port, Batch&& b);
    // Sends this node a tick or a drain request.
    void put_control(Message::Kind kind, uint64_t now_ns);
    // Sends this node an operator's request, from any thread.
    void put_request(std::shared_ptr<Request> request);

    // Injector
    bool inject(int port, Batch&& batch) override;
    bool stopping() const override;
    void done() override;
    uint64_t now_ns() const override;
    void log(const std::string& message) override;

private:
    void deliver(Inbound& in, const Message& m);
    template <class F>
    void call(F&& f, const Message* input = nullptr);
    void dispatch(Emit& e, const Message* input);
    void send_shared(int port, const std::shared_ptr<const Batch>& b, uint64_t bytes);
    void copy_to(TapSlot& slot, PortTap& tap, const Batch& b);
};

} // namespace colo::engine
