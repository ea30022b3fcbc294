// control-script: item parsing, emission order and times, and the error a
// malformed item gives when the graph is built.
#include <catch2/catch.hpp>

#include "engine/graph_file.hh"
#include "engine/runtime.hh"
#include "nodes/control_message.hh"
#include "nodes/control_script.hh"
#include "nodes/proto/event_json.hh"

#include <stdexcept>

using namespace colo;

namespace {

GraphDecl script_graph(const std::string& items)
{
    Diagnostics d;
    GraphDecl g =
        parse_graph("nodes:\n  script: { type: control-script, at: [" + items + "] }\nlinks: []\n", "t.yaml", {}, d);
    REQUIRE(d.ok());
    return g;
}

} // namespace

TEST_CASE("control-script: an item is exact epoch seconds and one word", "[control-script]")
{
    CHECK(ControlScript::parse_step("1700000000.020000 checkpoint").ts_ns == 1'700'000'000'020'000'000ull);
    CHECK(ControlScript::parse_step("1700000000.020000 checkpoint").command == "checkpoint");
    CHECK(ControlScript::parse_step("  1700000001   failover ").ts_ns == 1'700'000'001'000'000'000ull);
    CHECK(ControlScript::parse_step("0.000000001 x").ts_ns == 1);
    CHECK(ControlScript::parse_step("1700000000.123456789 x").ts_ns == 1'700'000'000'123'456'789ull);

    for (const char* bad :
         {"", "checkpoint", "1700000000.02", "soon checkpoint", "1.5 checkpoint now", "-1 checkpoint", "1. checkpoint",
          ".5 checkpoint", "1.0000000001 checkpoint", "1e9 checkpoint", "99999999999 checkpoint"}) {
        INFO("item: '" << bad << "'");
        CHECK_THROWS_AS(ControlScript::parse_step(bad), std::runtime_error);
    }
}

TEST_CASE("control-script: commands leave in time order, stamped with their times", "[control-script]")
{
    Runtime rt(script_graph("\"1700000000.3 failover\", \"1700000000.1 checkpoint\", \"1700000000.3 flush\""),
               RunOptions{});
    Node& n = *rt.node("script");
    std::vector<std::pair<uint64_t, std::string>> got;
    uint64_t ts = 0;
    while (n.peek_time(ts)) {
        Batch b;
        int port = -1;
        REQUIRE(n.pull(1, UINT64_MAX, port, b));
        CHECK(port == 0);
        REQUIRE(b.size() == 1);
        CHECK(b.packets[0].ts_ns == ts);
        got.emplace_back(ts, message_field(packet_text(b.packets[0]), "command"));
    }
    const uint64_t s = 1'700'000'000'000'000'000ull;
    CHECK(got == std::vector<std::pair<uint64_t, std::string>>{
                     {s + 100'000'000, "checkpoint"}, {s + 300'000'000, "failover"}, {s + 300'000'000, "flush"}});
}

TEST_CASE("control-script: a pull stops before a command later than the limit", "[control-script]")
{
    Runtime rt(script_graph("\"1.000001 a\", \"1.000002 b\", \"1.000003 c\""), RunOptions{});
    Node& n = *rt.node("script");
    Batch b;
    int port = 0;
    REQUIRE(n.pull(10, 1'000'002'000, port, b));
    CHECK(b.size() == 2);
    Batch rest;
    REQUIRE(n.pull(10, 0, port, rest)); // always at least one
    CHECK(rest.size() == 1);
    uint64_t ts = 0;
    CHECK_FALSE(n.peek_time(ts));
}

TEST_CASE("control-script: a malformed item fails the graph build, naming the node and the item", "[control-script]")
{
    CHECK_THROWS_WITH(Runtime(script_graph("\"at noon checkpoint\""), RunOptions{}),
                      Catch::Contains("script") && Catch::Contains("at noon checkpoint"));
}
