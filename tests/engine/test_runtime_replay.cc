// Replay-mode details a comparator replay relies on: ticks fall between the
// right packets even when one source runs alone, and a tool can reach a named
// node after the run.
#include <catch2/catch.hpp>

#include "engine/graph_file.hh"
#include "engine/registry.hh"
#include "engine/runtime.hh"

#include <vector>

using namespace colo;

namespace {

constexpr uint64_t kTickNs = 100'000; // test-generator spaces frames 1 µs apart: a tick every 100 frames

constexpr InPortId in{0, "in"};

// Records, at every tick, how many packets it had received.
struct TickProbe : Node {
    uint64_t seen = 0;
    std::vector<std::pair<uint64_t, uint64_t>> ticks; // (time, packets seen before it)
    void push(int, const Batch& b, Emit&) override { seen += b.size(); }
    void tick(uint64_t now_ns, Emit&) override { ticks.emplace_back(now_ns, seen); }
    uint64_t tick_interval_ns() const override { return kTickNs; }
};

const bool registered = [] {
    Registry::instance().add({.type = "test-tick-probe", .ports = {declare(in, "")}, .factory = construct<TickProbe>});
    return true;
}();

GraphDecl probe_graph()
{
    Diagnostics diags;
    GraphDecl g =
        parse_graph("nodes:\n  gen: { type: test-generator, count: 2000 }\n  probe: { type: test-tick-probe }\n"
                    "links:\n  - gen -> probe\n",
                    "test", {}, diags);
    REQUIRE(diags.ok());
    return g;
}

} // namespace

TEST_CASE("Runtime::node finds a node instance by its name", "[runtime][replay]")
{
    Runtime rt(probe_graph(), RunOptions{});
    CHECK(dynamic_cast<TickProbe*>(rt.node("probe")) != nullptr);
    CHECK(rt.node("gen") != rt.node("probe"));
    CHECK(rt.node("nonexistent") == nullptr);
}

TEST_CASE("in replay a lone source's batches end at ticks, so each tick sees exactly the earlier packets",
          "[runtime][replay]")
{
    RunOptions options;
    options.batch_size = 256; // longer than a tick interval (100 frames)
    Runtime rt(probe_graph(), options);
    const auto& probe = dynamic_cast<TickProbe&>(*rt.node("probe"));
    uint64_t first = 0;
    REQUIRE(rt.node("gen")->peek_time(first));
    rt.run();
    REQUIRE(rt.mode() == RunMode::replay);
    REQUIRE(probe.ticks.size() >= 19);
    for (const auto& [time, seen] : probe.ticks) {
        INFO("tick at +" << time - first << " ns");
        CHECK(seen == (time - first) / 1000); // frames at first + n µs, n < tick time
    }
}

namespace {

// Declines every tick before `due`, as checkpoint-sim does while no
// checkpoint is in progress.
struct SparseTickProbe : TickProbe {
    uint64_t due = UINT64_MAX;
    bool wants_tick(uint64_t now_ns) const override { return now_ns >= due; }
};

const bool sparse_registered = [] {
    Registry::instance().add(
        {.type = "test-sparse-tick-probe", .ports = {declare(in, "")}, .factory = construct<SparseTickProbe>});
    return true;
}();

} // namespace

TEST_CASE("in replay a declined tick is not delivered, and a wanted one sees exactly the earlier packets",
          "[runtime][replay]")
{
    Diagnostics diags;
    const GraphDecl g =
        parse_graph("nodes:\n  gen: { type: test-generator, count: 2000 }\n  probe: { type: test-sparse-tick-probe }\n"
                    "links:\n  - gen -> probe\n",
                    "test", {}, diags);
    REQUIRE(diags.ok());
    RunOptions options;
    options.batch_size = 256;
    Runtime rt(g, options);
    auto& probe = dynamic_cast<SparseTickProbe&>(*rt.node("probe"));
    uint64_t first = 0;
    REQUIRE(rt.node("gen")->peek_time(first));
    probe.due = first + 1'250'000; // wanted from the 13th tick on (ticks at +100 µs, +200 µs, ...)
    rt.run();
    REQUIRE(probe.ticks.size() >= 6);
    CHECK(probe.ticks.front().first == first + 1'300'000);
    for (const auto& [time, seen] : probe.ticks) {
        INFO("tick at +" << time - first << " ns");
        CHECK(time >= probe.due);
        CHECK(seen == (time - first) / 1000);
    }
}
