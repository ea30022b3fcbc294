// The switch node: routing by the selected output in a running graph (a
// generator's frames, commands from a control-script at given times, port
// counts from Runtime::stats()), and its handlers and changeable property
// called as an operator's requests would be.
#include <catch2/catch.hpp>

#include "engine/graph_file.hh"
#include "engine/runtime.hh"
#include "nodes/switch.hh"
#include "tests/engine/parse_ok.hh"

#include <string>
#include <vector>

using namespace colo;

namespace {

// Ten frames at 1700000000.000000 + 0..9 µs (the generator's clock); a
// command at +3.5 µs falls between the fourth and the fifth.
constexpr const char* kMidway = "1700000000.000003500";

// generator -> switch (with `props`) -> two null sinks; `commands` are
// control-script items for the switch's control port.
std::string switch_graph(const std::string& props, const std::vector<std::string>& commands)
{
    std::string items;
    for (const auto& c : commands) items += (items.empty() ? "\"" : ", \"") + c + "\"";
    std::string yaml = "nodes:\n"
                       "  gen: { type: generator, count: 10 }\n"
                       "  sw: { type: switch" +
                       (props.empty() ? "" : ", " + props) +
                       " }\n"
                       "  a: { type: null-sink }\n"
                       "  b: { type: null-sink }\n";
    if (!commands.empty()) yaml += "  script: { type: control-script, at: [" + items + "] }\n";
    yaml += "links:\n"
            "  - gen -> sw.in\n"
            "  - sw.out0 -> a\n"
            "  - sw.out1 -> b\n";
    if (!commands.empty()) yaml += "  - script -> sw.control\n";
    return yaml;
}

const NodeStats& node(const std::vector<NodeStats>& stats, const std::string& name)
{
    for (const auto& n : stats)
        if (n.name == name) return n;
    FAIL("no node " << name);
    throw std::logic_error("unreachable");
}

uint64_t counter(const std::vector<NodeStats>& stats, const std::string& name)
{
    for (const auto& [k, v] : node(stats, "sw").counters)
        if (k == name) return v;
    FAIL("no counter sw." << name);
    return 0;
}

struct Routed {
    uint64_t out0, out1, discarded, switches;
    bool operator==(const Routed&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Routed& r)
{
    return os << "{out0 " << r.out0 << ", out1 " << r.out1 << ", discarded " << r.discarded << ", switches "
              << r.switches << "}";
}

Routed run(const std::string& props, const std::vector<std::string>& commands, std::vector<std::string>* log = nullptr)
{
    RunOptions options;
    if (log) options.log = [log](const std::string& m) { log->push_back(m); };
    Runtime rt(testing::parse_ok(switch_graph(props, commands)), options);
    rt.run();
    const auto stats = rt.stats();
    const auto& sw = node(stats, "sw");
    REQUIRE(sw.out.size() == 2);
    return {sw.out[0].packets, sw.out[1].packets, counter(stats, "discarded"), counter(stats, "switches")};
}

std::string at(const char* time, const char* command)
{
    return std::string(time) + " " + command;
}

} // namespace

TEST_CASE("switch: packets leave on the selected output, out0 by default", "[switch][node]")
{
    CHECK(run("", {}) == Routed{10, 0, 0, 0});
    CHECK(run("output: 1", {}) == Routed{0, 10, 0, 0});
}

TEST_CASE("switch: with output -1 every packet is discarded and counted", "[switch][node]")
{
    CHECK(run("output: -1", {}) == Routed{0, 0, 10, 0});
}

TEST_CASE("switch: a failover command selects on_failover from the next packet on", "[switch][node]")
{
    std::vector<std::string> log;
    CHECK(run("", {at(kMidway, "failover")}, &log) == Routed{4, 6, 0, 1});
    REQUIRE(log.size() == 1);
    CHECK_THAT(log[0], Catch::Contains("sw") && Catch::Contains("failover: output 0 -> 1"));
    // The secondary's client path: discarded until failover, then to the guest.
    CHECK(run("output: -1, on_failover: 0", {at(kMidway, "failover")}) == Routed{6, 0, 4, 1});
    // A second failover changes nothing more.
    CHECK(run("", {at(kMidway, "failover"), "1700000000.000005500 failover"}) == Routed{4, 6, 0, 1});
}

TEST_CASE("switch: a checkpoint changes no route, a resume only when on_resume is set", "[switch][node]")
{
    const std::vector<std::string> script = {at(kMidway, "failover"), "1700000000.000005500 checkpoint",
                                             "1700000000.000007500 resume"};
    CHECK(run("", script) == Routed{4, 6, 0, 1});
    // Frames 0-3 on out0, 4-7 on out1, 8-9 back on out0.
    CHECK(run("on_resume: 0", script) == Routed{6, 4, 0, 2});
}

TEST_CASE("switch: an unknown control message is counted and logged once, and changes nothing", "[switch][node]")
{
    RunOptions options;
    std::vector<std::string> log;
    options.log = [&](const std::string& m) { log.push_back(m); };
    Runtime rt(testing::parse_ok(switch_graph("", {at(kMidway, "reboot"), at(kMidway, "reboot")})), options);
    rt.run();
    const auto stats = rt.stats();
    CHECK(counter(stats, "unknown_commands") == 2);
    CHECK(counter(stats, "switches") == 0);
    CHECK(node(stats, "sw").out[0].packets == 10);
    REQUIRE(log.size() == 1);
    CHECK_THAT(log[0], Catch::Contains("unknown control message") && Catch::Contains("reboot"));
}

TEST_CASE("switch: the handlers and the output property select as an operator asks", "[switch][node]")
{
    Properties p;
    p.set("output", "-1");
    p.set("on_failover", "0");
    Switch sw(p);
    sw.init_counters(3);
    Emit out(2);

    CHECK(sw.handle(2, "1", out) == "{\"output\":1,\"was\":-1}"); // select 1
    CHECK(sw.handle(0, "", out) == "{\"output\":0,\"was\":1}");   // failover
    CHECK(sw.handle(0, "", out) == "{\"output\":0,\"was\":0}");   // again: no change
    CHECK(sw.handle(1, "", out) == "{\"output\":0,\"was\":0}");   // resume: on_resume unset
    CHECK(sw.counter(std::size_t(1)) == 2);                       // switches
    for (const char* bad : {"2", "-2", "x", "", "0.5", "1 "}) {
        INFO("select '" << bad << "'");
        CHECK_THROWS_AS(sw.handle(2, bad, out), std::invalid_argument);
    }
    CHECK(sw.output() == 0);

    Properties changed;
    changed.set("output", "-1");
    sw.set_property("output", changed, out);
    CHECK(sw.output() == -1);
    CHECK_THROWS_AS(sw.set_property("on_failover", changed, out), std::invalid_argument);

    // What push() then does with a batch: discard it, counted.
    Batch batch;
    batch.packets.resize(3);
    out.reset(true, nullptr);
    sw.push(0, batch, out);
    CHECK(out.forwarded().empty());
    CHECK(sw.counter(std::size_t(0)) == 3); // discarded
    sw.handle(2, "1", out);
    out.reset(true, nullptr);
    sw.push(0, batch, out);
    CHECK(out.forwarded() == std::vector<int>{1});
}
