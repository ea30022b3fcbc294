// Runtime: instantiates a validated GraphDecl and runs it on the oneTBB flow
// graph. See docs/architecture.md for how a batch travels and who owns which
// thread.
//
// Order: every emitted batch carries a per-output-port sequence number and
// every node re-sequences its inbound links before calling push(), so order
// on an edge is FIFO whatever order TBB delivers messages in: a serial
// function_node runs one message at a time, but not necessarily in the order
// the messages were put to it.
//
// Memory: sources block while more than max_in_flight messages are in the
// graph; nodes that hold packets bound themselves and count their drops.
#pragma once

#include "engine/graph_file.hh"
#include "engine/node.hh"
#include "engine/port_tap.hh"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace colo {

// How the graph runs (docs/architecture.md, Time).
enum class RunMode {
    automatic, // replay when every source is offline, else live
    replay,    // one thread, sources merged by timestamp, packet-time clock,
               // so runs are repeatable; offline sources only
    live,      // the oneTBB flow graph and a wall-clock timer, even when
               // every source is a file
};

struct RunOptions {
    // Threads that run nodes in live mode: the driving thread, or in graphs
    // whose sources are all live the sources' own threads, plus threads - 1
    // oneTBB workers. 0: 1 for all-live graphs, one per core otherwise.
    unsigned threads = 0;
    RunMode mode = RunMode::automatic;
    std::size_t batch_size = 256;                // packets per message pulled from offline sources
    std::size_t max_in_flight = 64;              // messages in the graph before sources block
    std::function<void(const std::string&)> log; // defaults to stderr
    // Called once every node has started (sockets listening, devices open),
    // just before the sources run: the graph is ready for traffic.
    std::function<void()> on_running;
    // Live mode: called by the graph's clock thread on every turn, at least
    // every 50 ms (where live sources run the graph, only once the ticks it
    // delivered were processed). A service watchdog pings from it.
    std::function<void()> on_clock;
};

struct PortStats {
    std::string name;
    uint64_t packets = 0, bytes = 0, batches = 0;
    uint64_t unlinked_drops = 0; // output ports with no link: packets discarded
};

struct NodeStats {
    std::string name, type;
    uint64_t calls = 0, busy_ns = 0;
    uint64_t queued = 0; // batches sent to the node and not yet run
    std::vector<PortStats> in, out;
    std::vector<std::pair<std::string, uint64_t>> counters;
    std::vector<std::pair<std::string, HistogramSnapshot>> histograms;
};

class Runtime {
public:
    // Builds every node; throws std::runtime_error naming the node on failure.
    Runtime(const GraphDecl& graph, RunOptions options);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // Runs until every offline source is exhausted (when there are no live
    // sources) or stop() is called; then drains and finishes every node.
    void run();
    // Thread-safe; may be called from a signal-watching thread.
    void stop();

    // Thread-safe: may be read while run() runs.
    std::vector<NodeStats> stats() const;

    // Operator access while run() runs (`colo-graph ctl`), from any thread.
    // call() runs handler `handler` of node `node` with `arg` in the node's
    // serial context (Node::handle()) and returns its JSON result; set()
    // changes a property the spec marks changeable (Node::set_property()).
    // Both throw std::invalid_argument for an unknown node, handler or
    // property, a bad value or a refusal by the node, and std::runtime_error
    // when the graph is not running, runs a replay (an operator's request
    // would make it unrepeatable) or the node did not answer in `timeout`.
    std::string call(const std::string& node, const std::string& handler, const std::string& arg,
                     std::chrono::milliseconds timeout);
    void set(const std::string& node, const std::string& property, std::string value,
             std::chrono::milliseconds timeout);
    // Hands `tap` every batch crossing port `port` (an input or output) of
    // `node` until untap(id); returns that id. Throws std::invalid_argument
    // for an unknown node or port, or a port that is traced already.
    int tap(const std::string& node, const std::string& port, std::shared_ptr<PortTap> tap);
    void untap(int id);

    const GraphDecl& graph() const;
    // The node instance named `name` in the graph file, or nullptr. For
    // tools that inspect a node's state after run(); not thread-safe while
    // the graph is running.
    Node* node(const std::string& name) const;
    // The mode the graph runs in: RunMode::replay or RunMode::live, never
    // automatic (RunOptions::mode resolved against the graph's sources).
    RunMode mode() const;
    int64_t peak_in_flight() const; // most messages ever queued in the graph

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// VPP `show runtime`-style table.
std::string format_stats(const std::vector<NodeStats>& stats);

} // namespace colo
