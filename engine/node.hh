// Node: the base class every node type derives from.
//
// The runtime guarantees, for every node instance:
//  - push(), tick() and drain() never run concurrently with each other
//    (the node is serial), so a node's own state needs no locks;
//  - batches arrive on each link in the order the upstream node emitted them;
//  - emitted batches leave in the order they were emitted, per output port.
// Sources that own I/O threads emit through the Injector handed to start();
// that path is thread-safe.
#pragma once

#include "engine/node_spec.hh"
#include "engine/properties.hh"
#include "engine/packet.hh"

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace colo {

// Collects what a node emits during one call; the runtime forwards it after
// the call returns, one message per non-empty output port.
class Emit {
public:
    explicit Emit(std::size_t n_out) : out_(n_out) {}
    void send(int port, Packet p) { out_[port].packets.push_back(std::move(p)); }
    void send(int port, const Batch& b) { auto& v = out_[port].packets; v.insert(v.end(), b.packets.begin(), b.packets.end()); }
    // Inside push(): send the input batch itself on `port`, untouched. It is
    // shared, not copied (no per-packet work at all), and leaves ahead of
    // anything send() adds to that port in the same call.
    void forward(int port)
    {
        if (!can_forward_) throw std::logic_error("Emit::forward() outside push()");
        forwarded_.push_back(port);
    }
    // Inside push(): the input batch itself, to edit in place and forward(),
    // when this node is its only holder (no copy of the batch, and packets
    // no other batch shares are written without copy-on-write); nullptr
    // when others hold it too.
    Batch* editable_input() const { return editable_input_; }
    Batch& port(int port) { return out_[port]; }
    std::vector<Batch>& ports() { return out_; }
    const std::vector<int>& forwarded() const { return forwarded_; }

    // For the runtime, which keeps one Emit per node and reuses it for every
    // call (the node is serial), so that a call allocates no Emit storage.
    // The previous call's batches were handed on (moved out) already.
    void reset(bool can_forward, Batch* editable_input)
    {
        for (auto& b : out_) b.packets.clear();
        forwarded_.clear();
        can_forward_ = can_forward;
        editable_input_ = editable_input;
    }

private:
    std::vector<Batch> out_;
    std::vector<int> forwarded_;
    bool can_forward_ = false;
    Batch* editable_input_ = nullptr;
};

// Thread-safe entry for sources that produce packets on their own threads.
class Injector {
public:
    virtual ~Injector() = default;
    // Blocks while the graph holds too much in flight (back-pressure);
    // returns false once the graph is stopping.
    virtual bool inject(int port, Batch&& batch) = 0;
    virtual bool stopping() const = 0;
    // A live source that reached the end of its input says so; the graph
    // stops when every live source is done (sockets and devices never are).
    virtual void done() = 0;
    // Current graph time: wall clock live, packet time in replay.
    virtual uint64_t now_ns() const = 0;
    // Log a notable condition, prefixed with the node name.
    virtual void log(const std::string& message) = 0;
};

// What kind of source a node is, if any.
enum class SourceKind {
    none,     // driven only by its inputs
    offline,  // the runtime pulls batches (pcap files): replay is deterministic
    live,     // produces on its own threads through the Injector
};

class Node {
public:
    virtual ~Node() = default;

    // Called once, after the graph is wired, before any packet flows.
    // Live sources start their threads here. Throw std::runtime_error with a
    // clear message on failure (e.g. a device cannot be opened).
    virtual void start(Injector& injector) {}

    // A batch arrived on input port `in_port`.
    virtual void push(int in_port, const Batch& batch, Emit& out) {}

    // Time passed. Called about every tick_interval_ns() with graph time.
    virtual void tick(uint64_t now_ns, Emit& out) {}
    virtual uint64_t tick_interval_ns() const { return 0; }   // 0 = never
    // Replay only, asked while the graph is idle: a node with nothing to do
    // at `now_ns` may decline that tick (it still ends batches in time), so
    // a fine tick interval costs nothing while the node waits for nothing.
    virtual bool wants_tick(uint64_t now_ns) const { return true; }

    // Stop producing (sources) and hand over anything held, e.g. queued
    // packets, so that sinks see them. Called in topological order.
    virtual void drain(Emit& out) {}

    // Release resources: join threads, close files. Called after draining.
    virtual void finish() {}

    // Offline sources: peek_time() gives the next packet's timestamp (false
    // at end of input); pull() appends up to `max` packets for one output
    // port, stopping before a packet later than `until_ns` but always taking
    // at least one. The runtime merges offline sources by timestamp.
    virtual SourceKind source_kind() const { return SourceKind::none; }
    virtual bool peek_time(uint64_t& ts_ns) { return false; }
    virtual bool pull(std::size_t max, uint64_t until_ns, int& out_port, Batch& out) { return false; }

    // Counters declared in the spec, in spec order. A node updates them from
    // its serial context; readers on other threads see relaxed values.
    void init_counters(std::size_t n) { counters_ = std::make_unique<std::atomic<uint64_t>[]>(n); n_counters_ = n; }
    std::size_t counter_count() const { return n_counters_; }
    uint64_t counter(std::size_t i) const { return counters_[i].load(std::memory_order_relaxed); }
    void count(std::size_t i, uint64_t n = 1) { counters_[i].fetch_add(n, std::memory_order_relaxed); }
    void set_counter(std::size_t i, uint64_t v) { counters_[i].store(v, std::memory_order_relaxed); }

private:
    std::unique_ptr<std::atomic<uint64_t>[]> counters_;
    std::size_t n_counters_ = 0;
};

} // namespace colo
