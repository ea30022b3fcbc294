// Operator access to a running graph (Runtime::call(), set(), tap(), untap()
// and stats() while it runs), on the test-operated fixture node
// (fixture_nodes.cc), and the histograms that nodes record into.
#include <catch2/catch.hpp>

#include "engine/graph_file.hh"
#include "engine/histogram.hh"
#include "engine/registry.hh"
#include "engine/runtime.hh"
#include "tests/engine/parse_ok.hh"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace colo;
using namespace std::chrono_literals;
using Catch::Matchers::Message;

namespace {

constexpr auto kTimeout = 30s; // how long a request or a wait may take before the test fails

namespace feed {
constexpr OutPortId out{0, "out"};
constexpr IntProperty batch{"batch"}, pause_us{"pause_us"};
} // namespace feed

// A live source that runs until the graph stops: from its own thread it
// injects batches of `batch` 64-byte packets (Packet::seq 0, 1, 2, ...),
// pausing `pause_us` after each; with batch 0 it only keeps the graph running.
struct Feed : Node {
    uint64_t batch, pause_us;
    std::thread thread;

    explicit Feed(const Properties& p) : batch(uint64_t(p.get(feed::batch))), pause_us(uint64_t(p.get(feed::pause_us)))
    {}
    SourceKind source_kind() const override { return SourceKind::live; }
    void on_start(Injector& injector) override
    {
        thread = std::thread([this, &injector] {
            uint64_t seq = 0;
            while (!injector.stopping()) {
                if (batch == 0) {
                    std::this_thread::sleep_for(1ms);
                    continue;
                }
                Batch b;
                for (uint64_t i = 0; i < batch; ++i) {
                    Packet p = Packet::with_capacity(64);
                    p.len = 64;
                    p.seq = seq++;
                    b.packets.push_back(std::move(p));
                }
                if (!injector.inject(feed::out, std::move(b))) break;
                if (pause_us) std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
            }
        });
    }
    void finish() override
    {
        if (thread.joinable()) thread.join();
    }
};

namespace thrower {
constexpr InPortId in{0, "in"};
constexpr IntProperty after{"after"};
} // namespace thrower

// Throws from its push number `after`, ending the run with an exception.
struct Thrower : Node {
    explicit Thrower(const Properties& p) : after(p.get(thrower::after)) {}
    const int64_t after;
    int64_t pushes = 0;
    void push(int, const Batch&, Emit&) override
    {
        if (++pushes == after) throw std::runtime_error("thrower gave up");
    }
};

const bool registered = [] {
    Registry::instance().add({.type = "test-thrower",
                              .ports = {declare(thrower::in, "")},
                              .properties = {declare(thrower::after, {.default_value = "100", .min = 1})},
                              .factory = construct<Thrower>});
    Registry::instance().add({.type = "test-feed",
                              .ports = {declare(feed::out, "")},
                              .properties = {declare(feed::batch, {.default_value = "16", .min = 0}),
                                             declare(feed::pause_us, {.default_value = "0", .min = 0})},
                              .factory = construct<Feed>});
    return true;
}();

// A Runtime that runs on a thread of its own from construction until stop():
// the test thread acts as the operator meanwhile.
class Running {
public:
    explicit Running(const std::string& yaml, RunOptions o = {})
    {
        if (o.mode == RunMode::automatic) o.mode = RunMode::live;
        o.log = [](const std::string&) {};
        o.on_running = [this] { note(running_); };
        rt_ = std::make_unique<Runtime>(testing::parse_ok(yaml), o);
        thread_ = std::thread([this] {
            try {
                rt_->run();
            } catch (...) {
                std::lock_guard lock(mu_);
                error_ = std::current_exception();
            }
            note(ended_);
        });
        std::unique_lock lock(mu_);
        started_ = cv_.wait_for(lock, kTimeout, [&] { return running_ || ended_; }) && running_;
    }
    ~Running()
    {
        try {
            stop();
        } catch (...) {
            // A test that failed before its own stop(); its failure is reported.
        }
    }

    bool started() const { return started_; }
    Runtime& rt() { return *rt_; }
    // Stops the graph and waits for run() to return; rethrows what it threw.
    void stop()
    {
        if (!thread_.joinable()) return;
        rt_->stop();
        thread_.join();
        std::lock_guard lock(mu_);
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

private:
    void note(bool& flag)
    {
        {
            std::lock_guard lock(mu_);
            flag = true;
        }
        cv_.notify_all();
    }

    std::unique_ptr<Runtime> rt_;
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool running_ = false, ended_ = false; // guarded by mu_
    std::exception_ptr error_;             // guarded by mu_
    bool started_ = false;
};

const NodeStats& node_stats(const std::vector<NodeStats>& all, const std::string& node)
{
    const auto it = std::find_if(all.begin(), all.end(), [&](const NodeStats& s) { return s.name == node; });
    REQUIRE(it != all.end());
    return *it;
}

uint64_t counter(const Runtime& rt, const std::string& node, const std::string& name)
{
    const auto all = rt.stats();
    for (const auto& [n, v] : node_stats(all, node).counters)
        if (n == name) return v;
    FAIL("node " << node << " has no counter " << name);
    return 0;
}

const PortStats& port_stats(const std::vector<NodeStats>& all, const std::string& node, const std::string& port,
                            PortDir dir)
{
    const NodeStats& s = node_stats(all, node);
    const auto& ports = dir == PortDir::in ? s.in : s.out;
    const auto it = std::find_if(ports.begin(), ports.end(), [&](const PortStats& p) { return p.name == port; });
    REQUIRE(it != ports.end());
    return *it;
}

// Polls `done` until it holds or kTimeout passed.
bool eventually(const std::function<bool()>& done)
{
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

// What crossed a port, as a tap saw it; copy() returns false on call
// number `detach_after` (0: never).
struct CountingTap : PortTap {
    explicit CountingTap(uint64_t detach_after = 0) : detach_after(detach_after) {}
    bool copy(const Batch& b, uint64_t now_ns) override
    {
        std::lock_guard lock(mu);
        ++batches;
        packets += b.size();
        bytes += b.bytes();
        for (const auto& p : b.packets) {
            if (p.seq != next_seq) ++out_of_order;
            next_seq = p.seq + 1;
        }
        if (now_ns == 0) ++no_time;
        return detach_after == 0 || batches < detach_after;
    }
    uint64_t calls()
    {
        std::lock_guard lock(mu);
        return batches;
    }

    const uint64_t detach_after;
    std::mutex mu;
    uint64_t batches = 0, packets = 0, bytes = 0, next_seq = 0, out_of_order = 0, no_time = 0; // guarded by mu
};

// The N of an emit handler's {"emitted":N}. Throws, rather than use Catch's
// assertions, which are not for other threads.
uint64_t emitted_number(const std::string& json)
{
    const std::string head = "{\"emitted\":";
    if (json.rfind(head, 0) != 0 || json.back() != '}') throw std::runtime_error("not an emit result: " + json);
    return std::stoull(json.substr(head.size(), json.size() - head.size() - 1));
}

void check_consistent(const HistogramSnapshot& h)
{
    REQUIRE(h.cumulative.size() == kLatencyBoundsNs.size() + 1);
    CHECK(std::is_sorted(h.cumulative.begin(), h.cumulative.end()));
    CHECK(h.cumulative.back() == h.count);
}

const char* const kFeedToOperated = "nodes:\n"
                                    "  src: { type: test-feed, batch: 16 }\n"
                                    "  op: { type: test-operated, spin_us: 20 }\n"
                                    "  sink: { type: test-null-sink }\n"
                                    "links:\n  - src -> op\n  - op.out -> sink\n";

const char* const kIdle = "nodes:\n"
                          "  src: { type: test-feed, batch: 0 }\n"
                          "  op: { type: test-operated }\n"
                          "  sink: { type: test-null-sink }\n"
                          "links:\n  - src -> op\n  - op.out -> sink\n";

} // namespace

TEST_CASE("call() runs a handler in the node's serial context while packets flow, and its packet goes downstream",
          "[runtime][operator]")
{
    RunOptions o;
    o.threads = 3; // the source's thread and two workers run the nodes
    Running g(kFeedToOperated, o);
    REQUIRE(g.started());
    Runtime& rt = g.rt();
    REQUIRE(eventually([&] { return counter(rt, "op", "packets") > 0; }));

    // Two threads call, each at least kCalls times and on until op took
    // another 100 batches of packets after both began.
    constexpr int kCalls = 500;
    std::atomic<int> calling{0};
    std::atomic<bool> enough{false};
    std::vector<uint64_t> numbers[2];
    std::exception_ptr errors[2];
    std::vector<std::thread> callers;
    for (int t = 0; t < 2; ++t)
        callers.emplace_back([&, t] {
            try {
                for (int i = 0; i < kCalls || !enough; ++i) {
                    numbers[t].push_back(emitted_number(rt.call("op", "emit", "", kTimeout)));
                    if (i == 0) ++calling;
                }
            } catch (...) {
                errors[t] = std::current_exception();
                enough = true; // ends the test
            }
        });
    CHECK(eventually([&] { return enough || calling == 2; }));
    const uint64_t packets_before = counter(rt, "op", "packets");
    CHECK(eventually([&] { return enough || counter(rt, "op", "packets") >= packets_before + 1600; }));
    enough = true;
    for (auto& c : callers) c.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
    g.stop();

    // Each call saw the node's state as the one before left it: the numbers
    // are 1 .. the number of calls, none twice; and no call overlapped another.
    const uint64_t calls = numbers[0].size() + numbers[1].size();
    CHECK(calls >= 2 * kCalls);
    std::set<uint64_t> all(numbers[0].begin(), numbers[0].end());
    all.insert(numbers[1].begin(), numbers[1].end());
    CHECK(all.size() == calls);
    CHECK(*all.begin() == 1);
    CHECK(*all.rbegin() == calls);
    CHECK(counter(rt, "op", "overlaps") == 0);
    // Every emitted packet reached the sink through op.out.
    const auto stats = rt.stats();
    CHECK(port_stats(stats, "op", "out", PortDir::out).packets == calls);
    CHECK(counter(rt, "sink", "packets") == calls);
}

TEST_CASE("call() propagates the handler's exception and refuses unknown nodes, handlers and arguments",
          "[runtime][operator]")
{
    Running g(kIdle);
    REQUIRE(g.started());
    Runtime& rt = g.rt();

    SECTION("the handler's std::invalid_argument reaches the caller with its message")
    {
        CHECK_THROWS_MATCHES(rt.call("op", "record", "12x", kTimeout), std::invalid_argument,
                             Message("not a number of nanoseconds: '12x'"));
        // The node goes on answering.
        CHECK(rt.call("op", "emit", "", kTimeout) == "{\"emitted\":1}");
    }
    SECTION("a handler's result and what it recorded")
    {
        CHECK(rt.call("op", "record", "50000", kTimeout) == "null");
        CHECK(rt.call("op", "record", "250001", kTimeout) == "null");
        const auto stats = rt.stats();
        const auto& histograms = node_stats(stats, "op").histograms;
        REQUIRE(histograms.size() == 1);
        CHECK(histograms[0].first == "latency");
        const HistogramSnapshot& h = histograms[0].second;
        check_consistent(h);
        CHECK(h.count == 2);
        CHECK(h.sum_ns == 300'001);
        CHECK(h.cumulative[0] == 1); // le 50 us: a value at the bound is in
        CHECK(h.cumulative[2] == 1); // le 250 us: 250.001 us is not
        CHECK(h.cumulative[3] == 2);
    }
    SECTION("unknown nodes and handlers, and arguments the handler does not take")
    {
        const struct {
            const char *node, *handler, *arg, *why;
        } refusals[] = {
            {"nope", "emit", "", "no node named 'nope'"},
            {"op", "explode", "", "node 'op' (test-operated) has no handler 'explode'"},
            {"op", "emit", "1", "emit takes no argument"},
            {"op", "record", "", "record needs nanoseconds"},
        };
        for (const auto& r : refusals) {
            INFO(r.node << " " << r.handler << " '" << r.arg << "'");
            CHECK_THROWS_MATCHES(rt.call(r.node, r.handler, r.arg, kTimeout), std::invalid_argument, Message(r.why));
        }
    }
    g.stop();
    CHECK(counter(rt, "op", "overlaps") == 0);
}

TEST_CASE("requests are refused before run(), after it and in replay mode", "[runtime][operator]")
{
    const std::string yaml = "nodes:\n"
                             "  gen: { type: test-generator, count: 1000 }\n"
                             "  op: { type: test-operated }\n"
                             "links:\n  - gen -> op\n";
    const auto not_running = Message("the graph is not running");
    SECTION("live")
    {
        RunOptions o;
        o.mode = RunMode::live;
        o.log = [](const std::string&) {};
        Runtime rt(testing::parse_ok(yaml), o);
        CHECK_THROWS_MATCHES(rt.call("op", "emit", "", kTimeout), std::runtime_error, not_running);
        CHECK_THROWS_MATCHES(rt.set("op", "tick_ms", "10", kTimeout), std::runtime_error, not_running);
        rt.run();
        CHECK_THROWS_MATCHES(rt.call("op", "emit", "", kTimeout), std::runtime_error, not_running);
        CHECK_THROWS_MATCHES(rt.set("op", "tick_ms", "10", kTimeout), std::runtime_error, not_running);
        CHECK(counter(rt, "op", "packets") == 1000);
    }
    SECTION("replay, while the graph runs")
    {
        RunOptions o;
        o.log = [](const std::string&) {};
        std::unique_ptr<Runtime> rt;
        std::vector<std::string> refusals; // what each request threw, from inside the run
        o.on_running = [&] {
            for (const auto& request : std::vector<std::function<void()>>{
                     [&] { rt->call("op", "emit", "", kTimeout); },
                     [&] { rt->set("op", "tick_ms", "10", kTimeout); },
                 }) {
                try {
                    request();
                    refusals.push_back("accepted");
                } catch (const std::runtime_error& e) {
                    refusals.push_back(e.what());
                }
            }
        };
        rt = std::make_unique<Runtime>(testing::parse_ok(yaml), o);
        REQUIRE(rt->mode() == RunMode::replay);
        rt->run();
        REQUIRE(refusals.size() == 2);
        for (const auto& why : refusals) CHECK_THAT(why, Catch::Contains("replay"));
        CHECK(counter(*rt, "op", "packets") == 1000);
        CHECK(counter(*rt, "op", "tick_ms") == 500);
    }
}

TEST_CASE("requests are refused after a run that ended by a node's exception", "[runtime][operator]")
{
    RunOptions o;
    o.mode = RunMode::live;
    o.threads = 2;
    o.batch_size = 4;
    o.log = [](const std::string&) {};
    Runtime rt(testing::parse_ok("nodes:\n"
                                 "  gen: { type: test-generator, count: 1000000000000 }\n"
                                 "  thr: { type: test-thrower }\n"
                                 "  op: { type: test-operated }\n"
                                 "links:\n  - gen -> thr\n  - op.out -> thr\n"),
               o);
    CHECK_THROWS_MATCHES(rt.run(), std::runtime_error, Message("thrower gave up"));
    CHECK_THROWS_MATCHES(rt.call("op", "emit", "", kTimeout), std::runtime_error, Message("the graph is not running"));
    CHECK_THROWS_MATCHES(rt.set("op", "tick_ms", "10", kTimeout), std::runtime_error,
                         Message("the graph is not running"));
}

TEST_CASE("a request whose packet makes a node throw fails, and the run still ends", "[runtime][operator]")
{
    // All live: the caller runs the graph until idle, thr's push among it.
    // op ticks every 10 s, so that no tick runs the graph meanwhile.
    std::promise<void> running;
    RunOptions o;
    o.mode = RunMode::live;
    o.log = [](const std::string&) {};
    o.on_running = [&] { running.set_value(); };
    auto rt = std::make_unique<Runtime>(testing::parse_ok("nodes:\n"
                                                          "  src: { type: test-feed, batch: 0 }\n"
                                                          "  op: { type: test-operated, tick_ms: 10000 }\n"
                                                          "  thr: { type: test-thrower, after: 1 }\n"
                                                          "links:\n  - src -> op\n  - op.out -> thr\n"),
                                        o);
    std::packaged_task<void()> task([&] { rt->run(); });
    auto ended = task.get_future();
    std::thread runner(std::move(task));
    REQUIRE(running.get_future().wait_for(kTimeout) == std::future_status::ready);
    CHECK_THROWS_MATCHES(rt->call("op", "emit", "", kTimeout), std::runtime_error, Message("thrower gave up"));
    rt->stop();
    if (ended.wait_for(kTimeout) != std::future_status::ready) {
        runner.detach(); // run() hangs: leave it, and the graph, be
        rt.release();
        FAIL("run() did not end after stop()");
    }
    runner.join();
    CHECK_NOTHROW(ended.get());
}

TEST_CASE("set() refuses unknown, unchangeable and out-of-range properties and applies a valid one",
          "[runtime][operator]")
{
    Running g(kIdle);
    REQUIRE(g.started());
    Runtime& rt = g.rt();
    CHECK_THROWS_MATCHES(rt.set("op", "spin_us", "3", kTimeout), std::invalid_argument,
                         Message("op.spin_us cannot be changed while the graph runs"));
    CHECK_THROWS_MATCHES(rt.set("op", "tick_ms", "0", kTimeout), std::invalid_argument,
                         Message("op.tick_ms: 0 is out of range [1, 10000]"));
    CHECK_THROWS_MATCHES(rt.set("op", "tick_ms", "fast", kTimeout), std::invalid_argument,
                         Message("op.tick_ms: expected an integer, got 'fast'"));
    CHECK_THROWS_MATCHES(rt.set("op", "colour", "1", kTimeout), std::invalid_argument,
                         Message("node 'op' (test-operated) has no property 'colour'"));
    CHECK_THROWS_MATCHES(rt.set("nope", "tick_ms", "10", kTimeout), std::invalid_argument,
                         Message("no node named 'nope'"));
    CHECK(counter(rt, "op", "tick_ms") == 500); // none of these reached the node
    rt.set("op", "tick_ms", "10000", kTimeout); // the bound itself is in range
    CHECK(counter(rt, "op", "tick_ms") == 10000);
    rt.set("op", "tick_ms", "250", kTimeout);
    CHECK(counter(rt, "op", "tick_ms") == 250);
    g.stop();
    CHECK(counter(rt, "op", "overlaps") == 0);
}

TEST_CASE("set() of a tick interval changes how often the node ticks", "[runtime][operator]")
{
    Running g(kIdle); // op ticks every 500 ms
    REQUIRE(g.started());
    Runtime& rt = g.rt();
    const auto ticks_in = [&](std::chrono::milliseconds window) {
        const uint64_t first = counter(rt, "op", "ticks");
        std::this_thread::sleep_for(window);
        return counter(rt, "op", "ticks") - first;
    };
    const uint64_t slow = ticks_in(1500ms);
    rt.set("op", "tick_ms", "10", kTimeout);
    std::this_thread::sleep_for(100ms); // the clock reads the new interval on its next turn
    const uint64_t fast = ticks_in(1500ms);
    INFO("ticks in 1.5 s: " << slow << " every 500 ms, " << fast << " every 10 ms");
    CHECK(fast >= 5 * std::max<uint64_t>(slow, 1));
    rt.set("op", "tick_ms", "500", kTimeout);
    std::this_thread::sleep_for(100ms);
    const uint64_t slow_again = ticks_in(1500ms);
    INFO("then " << slow_again << " every 500 ms");
    CHECK(fast >= 5 * std::max<uint64_t>(slow_again, 1));
    g.stop();
}

TEST_CASE("tap() sees exactly the batches that cross an output and an input port", "[runtime][operator]")
{
    const std::string yaml = "nodes:\n"
                             "  gen: { type: test-generator, count: 20000 }\n"
                             "  m: { type: test-mirror }\n"
                             "  op: { type: test-operated }\n"
                             "  sink: { type: test-null-sink }\n"
                             "links:\n  - gen -> m\n  - m.out -> op\n  - m.mirror -> sink\n";
    RunOptions o;
    o.log = [](const std::string&) {};
    o.batch_size = 7;
    SECTION("replay")
    {
        o.mode = RunMode::replay;
    }
    SECTION("live, with workers")
    {
        o.mode = RunMode::live;
        o.threads = 3;
    }
    Runtime rt(testing::parse_ok(yaml), o);
    auto out = std::make_shared<CountingTap>(), in = std::make_shared<CountingTap>();
    rt.tap("m", "out", out);
    rt.tap("op", "in", in);
    rt.run();
    const auto stats = rt.stats();
    const PortStats& m_out = port_stats(stats, "m", "out", PortDir::out);
    const PortStats& op_in = port_stats(stats, "op", "in", PortDir::in);
    CHECK(m_out.packets == 20000);
    for (const auto& [tap, port] : {std::pair{out.get(), &m_out}, std::pair{in.get(), &op_in}}) {
        CHECK(tap->packets == port->packets);
        CHECK(tap->batches == port->batches);
        CHECK(tap->bytes == port->bytes);
        CHECK(tap->out_of_order == 0); // each port's batches, in the order they crossed
        CHECK(tap->no_time == 0);
    }
    // Neither saw the other ports: the mirror's copies went to the sink.
    CHECK(port_stats(stats, "sink", "in", PortDir::in).packets == 20000);
}

TEST_CASE("a tap whose copy() returns false is detached and the port can be traced again", "[runtime][operator]")
{
    const std::string yaml = "nodes:\n"
                             "  gen: { type: test-generator, count: 5000 }\n"
                             "  op: { type: test-operated }\n"
                             "links:\n  - gen -> op\n";
    RunOptions o;
    o.log = [](const std::string&) {};
    o.batch_size = 10;
    o.mode = GENERATE(RunMode::replay, RunMode::live);
    Runtime rt(testing::parse_ok(yaml), o);
    auto tap = std::make_shared<CountingTap>(3);
    const int id = rt.tap("gen", "out", tap);
    rt.run();
    CHECK(tap->calls() == 3);
    CHECK(port_stats(rt.stats(), "gen", "out", PortDir::out).batches == 500);
    // The port let go of it: a new tap is accepted, and untapping the old
    // id leaves the new one attached.
    const auto again = std::make_shared<CountingTap>();
    int second = -1;
    CHECK_NOTHROW(second = rt.tap("gen", "out", again));
    CHECK(second != id);
    rt.untap(id);
    CHECK_THROWS_AS(rt.tap("gen", "out", std::make_shared<CountingTap>()), std::invalid_argument);
}

TEST_CASE("untap() stops a tap's calls while the graph runs", "[runtime][operator]")
{
    Running g("nodes:\n"
              "  src: { type: test-feed, batch: 4, pause_us: 200 }\n"
              "  op: { type: test-operated }\n"
              "links:\n  - src -> op\n");
    REQUIRE(g.started());
    Runtime& rt = g.rt();
    auto tap = std::make_shared<CountingTap>();
    const int id = rt.tap("src", "out", tap);
    REQUIRE(eventually([&] { return tap->calls() >= 5; }));
    rt.untap(id);
    // The source's thread alone sends on src.out, a batch at a time: once it
    // sent two more, a call it began before untap() returned has ended.
    const auto batches = [&] { return port_stats(rt.stats(), "src", "out", PortDir::out).batches; };
    const uint64_t at_untap = batches();
    REQUIRE(eventually([&] { return batches() >= at_untap + 2; }));
    const uint64_t calls = tap->calls();
    REQUIRE(eventually([&] { return batches() >= at_untap + 50; }));
    CHECK(tap->calls() == calls);
    // untap() of an unknown id, or twice, does nothing.
    rt.untap(id);
    rt.untap(12345);
    rt.untap(-1);
    g.stop();
    CHECK(tap->calls() == calls);
}

TEST_CASE("tap() refuses an unknown node or port and a port that is traced already", "[runtime][operator]")
{
    RunOptions o;
    o.log = [](const std::string&) {};
    Runtime rt(testing::parse_ok(kIdle), o);
    auto tap = std::make_shared<CountingTap>();
    CHECK_THROWS_MATCHES(rt.tap("nope", "out", tap), std::invalid_argument, Message("no node named 'nope'"));
    CHECK_THROWS_MATCHES(rt.tap("op", "sideways", tap), std::invalid_argument,
                         Message("node 'op' has no port 'sideways'"));
    const int in = rt.tap("op", "in", tap);
    CHECK_THROWS_MATCHES(rt.tap("op", "in", std::make_shared<CountingTap>()), std::invalid_argument,
                         Message("op.in is traced already"));
    // Input and output ports are traced apart.
    const int out = rt.tap("op", "out", std::make_shared<CountingTap>());
    CHECK_THROWS_MATCHES(rt.tap("op", "out", tap), std::invalid_argument, Message("op.out is traced already"));
    rt.untap(in);
    CHECK_NOTHROW(rt.tap("op", "in", std::make_shared<CountingTap>()));
    CHECK(in != out);
}

TEST_CASE("stats() may be read from other threads while the graph runs, and histograms stay consistent",
          "[runtime][operator]")
{
    RunOptions o;
    o.threads = 2;
    // An offline source in live mode keeps op busy (spin_us) and its queue full.
    Running g("nodes:\n"
              "  gen: { type: test-generator, count: 1000000000000 }\n"
              "  op: { type: test-operated, spin_us: 100 }\n"
              "links:\n  - gen -> op\n",
              o);
    REQUIRE(g.started());
    Runtime& rt = g.rt();
    std::atomic<bool> done{false}, saw_queue{false};
    std::atomic<uint64_t> snapshots{0}, faults{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 2; ++t)
        readers.emplace_back([&] {
            uint64_t last_count = 0, last_packets = 0;
            while (!done) {
                const auto stats = rt.stats();
                const NodeStats* op = nullptr;
                for (const auto& s : stats)
                    if (s.name == "op") op = &s;
                if (!op || op->histograms.size() != 1) {
                    ++faults;
                    return;
                }
                const HistogramSnapshot& h = op->histograms[0].second;
                const bool consistent = h.cumulative.size() == kLatencyBoundsNs.size() + 1 &&
                                        std::is_sorted(h.cumulative.begin(), h.cumulative.end()) &&
                                        h.cumulative.back() == h.count && h.count >= last_count &&
                                        op->in[0].packets >= last_packets;
                if (!consistent) ++faults;
                last_count = h.count;
                last_packets = op->in[0].packets;
                if (op->queued > 0) saw_queue = true;
                ++snapshots;
            }
        });
    const bool queued = eventually([&] { return saw_queue.load() && snapshots >= 200; });
    done = true;
    for (auto& r : readers) r.join();
    g.stop();
    CHECK(queued);
    CHECK(faults == 0);
    // Once drained nothing is queued, and op recorded each packet it took.
    const auto stats = rt.stats();
    for (const auto& s : stats) CHECK(s.queued == 0);
    const NodeStats& op = node_stats(stats, "op");
    check_consistent(op.histograms[0].second);
    CHECK(op.histograms[0].second.count == op.in[0].packets);
    CHECK(counter(rt, "op", "overlaps") == 0);
}

TEST_CASE("a histogram puts a value equal to a bound in that bound's bucket and sums in ns", "[histogram]")
{
    Histogram h;
    check_consistent(h.snapshot());
    CHECK(h.snapshot().count == 0);
    uint64_t sum = 0;
    for (const uint64_t bound : kLatencyBoundsNs) {
        h.record(bound);     // in bucket i
        h.record(bound + 1); // in bucket i + 1 (the last: +Inf)
        sum += 2 * bound + 1;
    }
    h.record(0);
    const HistogramSnapshot s = h.snapshot();
    check_consistent(s);
    CHECK(s.count == 2 * kLatencyBoundsNs.size() + 1);
    CHECK(s.sum_ns == sum);
    // Bucket 0 holds 0 and the first bound; every further bucket holds its
    // bound and the previous bound + 1; +Inf holds the last bound + 1.
    CHECK(s.cumulative[0] == 2);
    for (std::size_t i = 1; i < kLatencyBoundsNs.size(); ++i) CHECK(s.cumulative[i] == 2 * i + 2);
    CHECK(s.cumulative.back() - s.cumulative[kLatencyBoundsNs.size() - 1] == 1);

    Histogram one;
    one.record(kLatencyBoundsNs[4] - 1);
    const HistogramSnapshot o = one.snapshot();
    CHECK(o.cumulative[3] == 0);
    CHECK(o.cumulative[4] == 1);
    CHECK(o.sum_ns == kLatencyBoundsNs[4] - 1);
    Histogram huge;
    huge.record(UINT64_MAX);
    CHECK(huge.snapshot().cumulative[kLatencyBoundsNs.size() - 1] == 0);
    CHECK(huge.snapshot().cumulative.back() == 1);
}
