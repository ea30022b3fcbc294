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

#include "engine/histogram.hh"
#include "engine/node_spec.hh"
#include "engine/packet.hh"
#include "engine/properties.hh"

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace colo {

// Collects what a node emits during one call; the runtime forwards it after
// the call returns, one message per non-empty output port.
class Emit {
public:
    explicit Emit(std::size_t n_out) : out_(n_out) {}
    void send(OutPortId port, Packet p) { out_[port.index].packets.push_back(std::move(p)); }
    void send(OutPortId port, const Batch& b)
    {
        auto& v = out_[port.index].packets;
        v.insert(v.end(), b.packets.begin(), b.packets.end());
    }
    // Inside push(): send the input batch itself on `port`, untouched. It is
    // shared, not copied (no per-packet work at all), and leaves ahead of
    // anything send() adds to that port in the same call.
    void forward(OutPortId port)
    {
        if (!can_forward_) throw std::logic_error("Emit::forward() outside push()");
        forwarded_.push_back(port.index);
    }
    // Inside push(): the input batch itself, to edit in place and forward(),
    // when this node is its only holder (no copy of the batch, and packets
    // no other batch shares are written without copy-on-write); nullptr
    // when others hold it too.
    Batch* editable_input() const { return editable_input_; }
    Batch& port(OutPortId port) { return out_[port.index]; }

    // For the runtime, which keeps one Emit per node and reuses it for every
    // call (the node is serial), so that a call allocates no Emit storage.
    // The previous call's batches were handed on (moved out) already.
    std::vector<Batch>& ports() { return out_; }
    const std::vector<int>& forwarded() const { return forwarded_; }
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
    bool inject(OutPortId port, Batch&& batch) { return inject(port.index, std::move(batch)); }
    virtual bool stopping() const = 0;
    // A live source that reached the end of its input says so; the graph
    // stops when every live source is done (sockets and devices never are).
    virtual void done() = 0;
    // Current graph time: wall clock live, packet time in replay.
    virtual uint64_t now_ns() const = 0;
    // Log a notable condition, prefixed with the node name: one whole line,
    // whatever thread logs (the one place that writes the log). Nodes call
    // Node::log().
    virtual void log(const std::string& message) = 0;
};

// What kind of source a node is, if any.
enum class SourceKind {
    none,    // driven only by its inputs
    offline, // the runtime pulls batches (pcap files): replay is deterministic
    live,    // produces on its own threads through the Injector
};

class Node {
public:
    virtual ~Node() = default;

    // Called once by the runtime, after the graph is wired, before any packet
    // flows; calls on_start().
    void start(Injector& injector)
    {
        injector_ = &injector;
        on_start(injector);
    }

    // A batch arrived on input port `in_port` (compare it with an InPortId).
    virtual void push(int in_port, const Batch& batch, Emit& out) {}

    // Time passed. Called about every tick_interval_ns() with graph time.
    virtual void tick(uint64_t now_ns, Emit& out) {}
    virtual uint64_t tick_interval_ns() const { return 0; } // 0 = never
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
    // port (its OutPortId's index), stopping before a packet later than
    // `until_ns` but always taking at least one. The runtime merges offline
    // sources by timestamp.
    virtual SourceKind source_kind() const { return SourceKind::none; }
    virtual bool peek_time(uint64_t& ts_ns) { return false; }
    virtual bool pull(std::size_t max, uint64_t until_ns, int& out_port, Batch& out) { return false; }

    // Counters declared in the spec, in spec order. A node updates them from
    // its serial context, by handle; readers on other threads (the runtime,
    // by position) see relaxed values.
    void init_counters(std::size_t n) { counters_ = std::make_unique<std::atomic<uint64_t>[]>(n); }
    uint64_t counter(std::size_t i) const { return counters_[i].load(std::memory_order_relaxed); }
    uint64_t counter(CounterId c) const { return counter(c.index); }
    void count(CounterId c, uint64_t n = 1) { counters_[c.index].fetch_add(n, std::memory_order_relaxed); }
    void set_counter(CounterId c, uint64_t v) { counters_[c.index].store(v, std::memory_order_relaxed); }
    // Publish a counters struct through the table it was declared from
    // (declare_counters()): entry i's field goes to counter at.first + i.
    template <class Table, class Values>
    void set_counters(CounterRange at, const Table& table, const Values& values)
    {
        std::size_t i = at.first;
        for (const auto& entry : table) counters_[i++].store(values.*(entry.field), std::memory_order_relaxed);
    }

    // Histograms declared in the spec, in spec order; recorded from the
    // node's serial context, read from any thread.
    void init_histograms(std::size_t n) { histograms_ = std::make_unique<Histogram[]>(n); }
    const Histogram& histogram(std::size_t i) const { return histograms_[i]; }
    void record(HistogramId h, uint64_t ns) { histograms_[h.index].record(ns); }

    // An operator's request (`colo-graph ctl`), one of the spec's handlers,
    // by index (compare it with a HandlerId). Runs in the node's serial
    // context, between its other calls; what it emits goes on as from
    // push(). Returns the result as one JSON value ("null" when there is
    // nothing to say); throws std::invalid_argument when the argument is
    // refused, with a message that says why.
    virtual std::string handle(int handler, const std::string& arg, Emit& out)
    {
        throw std::invalid_argument("no handlers");
    }
    // A property the spec marks changeable, set while the graph runs; the
    // value was checked against the spec and is in `p` under `name`. Same
    // context and errors as handle().
    virtual void set_property(const std::string& name, const Properties& p, Emit& out)
    {
        throw std::invalid_argument(name + " cannot be changed");
    }

    // The node's log, in the manner of GStreamer's GST_WARNING_OBJECT: one
    // line per message, prefixed with the node's name by the runtime, which
    // alone writes it (to standard error unless its caller redirects it).
    // Safe from any thread. Before start() there is no log: the message is
    // dropped (a constructor throws instead).
    void log(const std::string& message) const
    {
        if (injector_) injector_->log(message);
    }

protected:
    // Graph time (the wall clock live, packet time in replay); 0 before start().
    uint64_t now_ns() const { return injector_ ? injector_->now_ns() : 0; }

    // What start() leaves to the node type: live sources start their threads
    // here. Throw std::runtime_error with a clear message on failure (e.g. a
    // device cannot be opened).
    virtual void on_start(Injector& injector) {}

private:
    std::unique_ptr<std::atomic<uint64_t>[]> counters_;
    std::unique_ptr<Histogram[]> histograms_;
    Injector* injector_ = nullptr;
};

// A NodeFactory for type T, constructed from the properties when it takes
// them: `.factory = construct<Mirror>`.
template <class T>
std::unique_ptr<Node> construct(const Properties& p)
{
    if constexpr (std::is_constructible_v<T, const Properties&>) return std::make_unique<T>(p);
    else return std::make_unique<T>();
}

} // namespace colo
