// The mirror node in a live graph: its `mirror` copy reaches the next node
// before its `out` copy does, every time (nodes/mirror.cc says why that
// order matters on a primary).
#include <catch2/catch.hpp>

#include "engine/graph_file.hh"
#include "engine/registry.hh"
#include "engine/runtime.hh"
#include "tests/engine/parse_ok.hh"

#include <mutex>
#include <thread>
#include <vector>

using namespace colo;
using colo::testing::parse_ok;

namespace {

constexpr InPortId in{0, "in"};
constexpr OutPortId out{0, "out"};
constexpr IntProperty count_prop{"count"};
constexpr StringProperty label_prop{"label"};

// Injects `count` one-packet batches from its own thread, as a TAP's reader does.
struct OrderSource : Node {
    uint64_t count;
    std::thread thread;
    explicit OrderSource(const Properties& p) : count(uint64_t(p.get(count_prop))) {}
    SourceKind source_kind() const override { return SourceKind::live; }
    void on_start(Injector& injector) override
    {
        thread = std::thread([this, &injector] {
            for (uint64_t seq = 0; seq < count; ++seq) {
                Batch b;
                Packet p = Packet::with_capacity(64);
                p.len = 64;
                p.seq = seq;
                b.packets.push_back(std::move(p));
                if (!injector.inject(out, std::move(b))) break;
            }
            injector.done();
        });
    }
    void finish() override
    {
        if (thread.joinable()) thread.join();
    }
};

// Appends (label, seq) for every packet to one log shared by all sinks.
struct OrderSink : Node {
    static inline std::mutex mu;
    static inline std::vector<std::pair<std::string, uint64_t>> log;
    std::string label;
    explicit OrderSink(const Properties& p) : label(p.get(label_prop)) {}
    void push(int, const Batch& b, Emit&) override
    {
        std::lock_guard lock(mu);
        for (const auto& p : b.packets) log.emplace_back(label, p.seq);
    }
};

const bool registered = [] {
    Registry::instance().add({.type = "test-order-source",
                              .ports = {declare(out, "")},
                              .properties = {declare(count_prop, {.default_value = "1", .min = 0})},
                              .factory = construct<OrderSource>});
    Registry::instance().add({.type = "test-order-sink",
                              .ports = {declare(in, "")},
                              .properties = {declare(label_prop, {.required = true})},
                              .factory = construct<OrderSink>});
    return true;
}();

} // namespace

TEST_CASE("mirror: in a live graph the mirror copy of each packet arrives before the out copy", "[mirror][node]")
{
    OrderSink::log.clear();
    const GraphDecl g = parse_ok("nodes:\n"
                                 "  src: { type: test-order-source, count: 2000 }\n"
                                 "  tee: { type: mirror }\n"
                                 "  guest: { type: test-order-sink, label: out }\n"
                                 "  secondary: { type: test-order-sink, label: mirror }\n"
                                 "links:\n"
                                 "  - src -> tee\n"
                                 "  - tee.out -> guest\n"
                                 "  - tee.mirror -> secondary\n");
    Runtime rt(g, {});
    REQUIRE(rt.mode() == RunMode::live);
    rt.run();
    const auto& log = OrderSink::log;
    REQUIRE(log.size() == 4000);
    std::size_t mirror_first = 0;
    for (std::size_t i = 0; i + 1 < log.size(); i += 2)
        if (log[i] == std::pair<std::string, uint64_t>{"mirror", i / 2} &&
            log[i + 1] == std::pair<std::string, uint64_t>{"out", i / 2})
            ++mirror_first;
    CHECK(mirror_first == 2000);
}
