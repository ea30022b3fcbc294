// Graphs whose sources are all live: each source's thread runs the work it
// injects (no oneTBB worker threads by default), order holds per edge, and
// ticks still run although no worker exists to run them.
#include <catch2/catch.hpp>

#include "engine/graph_file.hh"
#include "engine/registry.hh"
#include "engine/runtime.hh"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

using namespace colo;

namespace {

constexpr InPortId a{0, "a"}, b{1, "b"};
constexpr OutPortId out{0, "out"};
constexpr IntProperty count_prop{"count"};

// Injects `count` numbered packets from its own thread, in batches of 1..7.
struct ThreadSource : Node {
    static inline std::mutex mu;
    static inline std::set<std::thread::id> source_threads;
    uint64_t count;
    std::thread thread;

    explicit ThreadSource(const Properties& p) : count(uint64_t(p.get(count_prop))) {}
    SourceKind source_kind() const override { return SourceKind::live; }
    void on_start(Injector& injector) override
    {
        thread = std::thread([this, &injector] {
            {
                std::lock_guard lock(mu);
                source_threads.insert(std::this_thread::get_id());
            }
            for (uint64_t seq = 0; seq < count;) {
                Batch b;
                for (uint64_t n = 1 + seq % 7; n > 0 && seq < count; --n) {
                    Packet p = Packet::with_capacity(64);
                    p.len = 64;
                    p.seq = seq++;
                    b.packets.push_back(std::move(p));
                }
                if (!injector.inject(out, std::move(b))) break;
            }
            // Leave time for a few ticks with no packet in flight.
            std::this_thread::sleep_for(std::chrono::milliseconds(60));
            injector.done();
        });
    }
    void finish() override
    {
        if (thread.joinable()) thread.join();
    }
};

// Checks order per input port and notes which threads ran it.
struct Recorder : Node {
    static inline std::mutex mu;
    static inline std::set<std::thread::id> body_threads;
    static inline std::atomic<uint64_t> received{0}, violations{0}, ticks{0};
    uint64_t expected[2] = {0, 0};

    void note_thread()
    {
        std::lock_guard lock(mu);
        body_threads.insert(std::this_thread::get_id());
    }
    void push(int port, const Batch& b, Emit&) override
    {
        note_thread();
        for (const auto& p : b.packets) {
            if (p.seq != expected[port]) ++violations;
            expected[port] = p.seq + 1;
        }
        received += b.size();
    }
    uint64_t tick_interval_ns() const override { return 5'000'000; }
    void tick(uint64_t, Emit&) override { ++ticks; }
};

const bool registered = [] {
    Registry::instance().add({.type = "test-thread-source",
                              .ports = {declare(out, "")},
                              .properties = {declare(count_prop, {.default_value = "1000", .min = 0})},
                              .factory = construct<ThreadSource>});
    Registry::instance().add(
        {.type = "test-recorder", .ports = {declare(a, ""), declare(b, "")}, .factory = construct<Recorder>});
    return true;
}();

GraphDecl two_live_sources(uint64_t count)
{
    const std::string n = std::to_string(count);
    Diagnostics d;
    GraphDecl g = parse_graph("nodes:\n"
                              "  s1: { type: test-thread-source, count: " +
                                  n +
                                  " }\n"
                                  "  s2: { type: test-thread-source, count: " +
                                  n +
                                  " }\n"
                                  "  m1: { type: test-mirror }\n"
                                  "  m2: { type: test-mirror }\n"
                                  "  rec: { type: test-recorder }\n"
                                  "links:\n  - s1 -> m1\n  - s2 -> m2\n  - m1.out -> rec.a\n  - m2.out -> rec.b\n",
                              "live.yaml", {}, d);
    REQUIRE(d.ok());
    return g;
}

void reset()
{
    ThreadSource::source_threads.clear();
    Recorder::body_threads.clear();
    Recorder::received = Recorder::violations = Recorder::ticks = 0;
}

} // namespace

TEST_CASE("in an all-live graph the sources' own threads run the graph, in order", "[runtime][live]")
{
    reset();
    RunOptions o;
    o.max_in_flight = 8;
    Runtime rt(two_live_sources(100'000), o);
    REQUIRE(rt.mode() == RunMode::live);
    rt.run();
    CHECK(Recorder::received == 200'000);
    CHECK(Recorder::violations == 0);
    // Packets ran on the injecting threads; ticks on the timer thread, or on
    // a source thread that ran them while waiting. No worker thread exists.
    std::set<std::thread::id> outside = ThreadSource::source_threads;
    REQUIRE(outside.size() == 2);
    for (const auto& id : Recorder::body_threads) outside.insert(id);
    CHECK(outside.size() <= 3);  // the two sources, plus at most the timer thread
    CHECK(Recorder::ticks >= 1); // ticks need no worker either
}

TEST_CASE("an all-live graph given worker threads keeps order", "[runtime][live]")
{
    reset();
    RunOptions o;
    o.threads = 2;
    o.max_in_flight = 8;
    Runtime rt(two_live_sources(100'000), o);
    rt.run();
    CHECK(Recorder::received == 200'000);
    CHECK(Recorder::violations == 0);
}
