// NodeRunner: one node instance and what the runtime keeps for it. It runs
// the node's calls (body()), restores the order of each inbound link
// (re-sequencing), forwards what the node emitted to the linked successors
// (dispatch), and is the Injector that live sources emit through. Which
// thread runs a message, and when, is the execution model's business
// (execution_model.hh); NodeRunner hands every message to it.
#pragma once

#include "engine/graph_file.hh"
#include "engine/node.hh"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace colo::engine {

struct RunningGraph;
struct NodeRunner;

// One message to a node: a batch on one of its inbound links, a tick or a
// request to drain.
struct Message {
    enum Kind : uint8_t { data, tick, drain } kind = data;
    uint32_t inbound = 0; // receiver's inbound-link index
    uint64_t seq = 0;     // per sending port, 0, 1, 2, ...
    uint64_t now_ns = 0;  // tick time
    std::shared_ptr<const Batch> batch;
    uint64_t bytes = 0; // batch->bytes(), computed once by the sender
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
    Emit emit;                // reused by every call: the node is serial
    Counter calls;            // also counted by the offline driver, for pull()
    SerialCounter busy_ticks; // CycleClock ticks inside node calls

    NodeRunner(RunningGraph* g, const NodeDecl* d, std::size_t i);

    // Runs one message: the node's serial body.
    void body(const Message& m);
    // Sends a batch on output port `port` to every linked successor.
    void send(int port, Batch&& b);
    // Sends this node a tick or a drain request.
    void put_control(Message::Kind kind, uint64_t now_ns);

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
};

} // namespace colo::engine
