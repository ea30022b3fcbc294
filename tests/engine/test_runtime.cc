// Runtime guarantees: FIFO order on every edge under concurrency, bounded
// in-flight memory, draining at the end, and deterministic replay.
#include <catch2/catch.hpp>

#include "engine/graph_file.hh"
#include "engine/registry.hh"
#include "engine/runtime.hh"

#include <atomic>
#include <chrono>
#include <thread>

using namespace colo;

namespace {

// Test-only node types, declared as node types are (engine/node_spec.hh).
constexpr InPortId in{0, "in"};
constexpr OutPortId out{0, "out"};

struct Pass : Node {
    void push(int, const Batch& b, Emit& e) override { e.send(out, b); }
};

struct OrderCheck : Node {
    static inline std::atomic<uint64_t> received{0}, violations{0};
    static inline std::atomic<int> sleep_us{0};
    uint64_t expected = 0;
    void push(int, const Batch& b, Emit&) override
    {
        for (const auto& p : b.packets) {
            if (p.seq != expected) violations++;
            expected = p.seq + 1;
        }
        received += b.size();
        if (sleep_us) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us.load()));
    }
};

// Holds every packet until drain(), like a comparator holding queued primaries.
struct HoldUntilDrain : Node {
    Batch held;
    void push(int, const Batch& b, Emit&) override
    {
        held.packets.insert(held.packets.end(), b.packets.begin(), b.packets.end());
    }
    void drain(Emit& e) override
    {
        e.send(out, held);
        held.packets.clear();
    }
};

// Spins for a while in every push and adds up, by the wall clock, how long.
struct Spin : Node {
    static inline std::atomic<uint64_t> own_ns{0};
    void push(int, const Batch&, Emit&) override
    {
        const auto t0 = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - t0 < std::chrono::microseconds(500)) {}
        own_ns += uint64_t(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    }
};

const bool registered = [] {
    Registry::instance().add({.type = "test-spin", .ports = {declare(in, "")}, .factory = construct<Spin>});
    Registry::instance().add(
        {.type = "test-pass", .ports = {declare(in, ""), declare(out, "")}, .factory = construct<Pass>});
    Registry::instance().add(
        {.type = "test-order-check", .ports = {declare(in, "")}, .factory = construct<OrderCheck>});
    Registry::instance().add(
        {.type = "test-hold", .ports = {declare(in, ""), declare(out, "")}, .factory = construct<HoldUntilDrain>});
    return true;
}();

GraphDecl chain(uint64_t count, const char* middle_type = "test-pass")
{
    std::string yaml = "nodes:\n  gen: { type: test-generator, count: " + std::to_string(count) + " }\n";
    for (int i = 0; i < 5; ++i) yaml += "  n" + std::to_string(i) + ": { type: " + middle_type + " }\n";
    yaml += "  check: { type: test-order-check }\nlinks:\n  - gen -> n0\n";
    for (int i = 0; i < 4; ++i) yaml += "  - n" + std::to_string(i) + " -> n" + std::to_string(i + 1) + "\n";
    yaml += "  - n4 -> check\n";
    Diagnostics d;
    GraphDecl g = parse_graph(yaml, "chain.yaml", {}, d);
    REQUIRE(d.ok());
    return g;
}

void reset_check()
{
    OrderCheck::received = 0;
    OrderCheck::violations = 0;
    OrderCheck::sleep_us = 0;
}

} // namespace

TEST_CASE("1,000,000 packets keep their order through a 5-node chain on 2 worker threads", "[runtime][order]")
{
    reset_check();
    RunOptions o;
    o.threads = 2;
    o.mode = RunMode::live;
    o.batch_size = 16; // many messages, to give TBB every chance to reorder
    Runtime rt(chain(1'000'000), o);
    REQUIRE(rt.mode() == RunMode::live);
    rt.run();
    CHECK(OrderCheck::received == 1'000'000);
    CHECK(OrderCheck::violations == 0);
}

TEST_CASE("one packet per message still arrives in order", "[runtime][order]")
{
    reset_check();
    RunOptions o;
    o.threads = 2;
    o.mode = RunMode::live;
    o.batch_size = 1;
    Runtime rt(chain(100'000), o);
    rt.run();
    CHECK(OrderCheck::received == 100'000);
    CHECK(OrderCheck::violations == 0);
}

TEST_CASE("a slow sink bounds the messages in flight", "[runtime][memory]")
{
    reset_check();
    OrderCheck::sleep_us = 20;
    RunOptions o;
    o.threads = 2;
    o.mode = RunMode::live;
    o.batch_size = 1;
    o.max_in_flight = 32;
    Runtime rt(chain(5'000), o);
    rt.run();
    CHECK(OrderCheck::received == 5'000);
    // The source sends while at most at the limit (one more), and each
    // thread running a node (2 workers and the driver, which helps) may hold
    // one more message mid-hop.
    CHECK(rt.peak_in_flight() <= 32 + 1 + 3);
}

TEST_CASE("drain hands held packets downstream before the graph ends", "[runtime][drain]")
{
    reset_check();
    RunOptions o;
    Runtime rt(chain(1'000, "test-hold"), o);
    REQUIRE(rt.mode() == RunMode::replay); // only offline sources: replay mode by default
    rt.run();
    CHECK(OrderCheck::received == 1'000);
    CHECK(OrderCheck::violations == 0);
}

TEST_CASE("stats count packets per port and unlinked drops", "[runtime][stats]")
{
    Diagnostics d;
    GraphDecl g = parse_graph(
        "nodes:\n  gen: {type: test-generator, count: 100}\n  m: {type: test-mirror}\n  sink: {type: test-null-sink}\n"
        "links:\n  - gen -> m\n  - m.out -> sink\n",
        "s.yaml", {}, d);
    REQUIRE(d.ok());
    Runtime rt(g, {});
    rt.run();
    auto st = rt.stats();
    REQUIRE(st.size() == 3);
    CHECK(st[1].in[0].packets == 100);
    CHECK(st[1].out[0].packets == 100);
    CHECK(st[1].out[1].packets == 100);
    CHECK(st[1].out[1].unlinked_drops == 100); // mirror copy had nowhere to go
    CHECK(st[2].counters[0].second == 100);
}

TEST_CASE("stats give a node's busy time in nanoseconds", "[runtime][stats]")
{
    // Busy time is counted in time-stamp-counter ticks and converted when
    // read; the node's own clock must agree with it.
    Diagnostics d;
    GraphDecl g = parse_graph(
        "nodes:\n  gen: {type: test-generator, count: 40}\n  spin: {type: test-spin}\nlinks:\n  - gen -> spin\n",
        "b.yaml", {}, d);
    REQUIRE(d.ok());
    Spin::own_ns = 0;
    RunOptions opt;
    opt.batch_size = 1;
    Runtime rt(g, opt);
    rt.run();
    const uint64_t own = Spin::own_ns.load(), busy = rt.stats()[1].busy_ns;
    REQUIRE(own >= 40 * 500'000);
    CHECK(busy >= own * 0.95);
    CHECK(busy <= own * 1.05 + 1'000'000); // plus the calls' own overhead
}

TEST_CASE("a concurrent replay finishes even when no worker thread may run", "[runtime][order]")
{
    // A deterministic runtime alive elsewhere in the process limits oneTBB to
    // one thread (global_control takes the minimum): the driving thread must
    // run the graph itself rather than wait for workers.
    reset_check();
    RunOptions replay;
    Runtime limiter(chain(10), replay);
    REQUIRE(limiter.mode() == RunMode::replay);
    RunOptions o;
    o.threads = 2;
    o.mode = RunMode::live;
    o.batch_size = 4;
    o.max_in_flight = 8;
    Runtime rt(chain(20'000), o);
    rt.run();
    CHECK(OrderCheck::received == 20'000);
    CHECK(OrderCheck::violations == 0);
}
