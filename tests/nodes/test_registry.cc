// Node specs: every registered node type passes Registry::check (its port and
// counter handles match their positions in the spec), and each kind of
// mismatch is caught when a spec is registered.
#include <catch2/catch.hpp>

#include "engine/node.hh"
#include "engine/registry.hh"

using namespace colo;

namespace {

struct Nothing : Node {};

constexpr InPortId in0{0, "in"}, in1{1, "side"};
constexpr OutPortId out0{0, "out"};
constexpr CounterId c0{0, "first"}, c1{1, "second"};
constexpr IntProperty level{"level"};
constexpr EnumProperty mode{"mode"};

NodeSpec sound()
{
    return {
        .type = "test-sound",
        .ports = {declare(in0, ""), declare(in1, ""), declare(out0, "")},
        .properties = {declare(level, {.default_value = "3", .min = 0, .max = 9}),
                       declare(mode, {.default_value = "a", .choices = {"a", "b"}})},
        .counters = {declare(c0, ""), declare(c1, "")},
        .factory = construct<Nothing>,
    };
}

std::string faults_of(const NodeSpec& s)
{
    return Registry::check(s);
}

} // namespace

TEST_CASE("registry: every node type's spec is sound", "[registry]")
{
    const auto all = Registry::instance().all();
    REQUIRE(all.size() >= 18);
    Registry fresh;
    for (const NodeSpec* s : all) {
        INFO(s->type);
        CHECK(Registry::check(*s).empty());
        CHECK(fresh.add(*s)); // registering every node type again passes the same check
    }
}

TEST_CASE("registry: a spec whose handles do not match their positions is refused", "[registry]")
{
    CHECK(faults_of(sound()).empty());

    NodeSpec s = sound();
    std::swap(s.counters[0], s.counters[1]); // an enum-order copy gone stale
    CHECK_THAT(faults_of(s), Catch::Contains("counter 'second' is declared at position 0 but its handle has index 1"));

    s = sound();
    std::swap(s.ports[0], s.ports[1]);
    CHECK_THAT(faults_of(s), Catch::Contains("in port 'side' is declared at position 0 but its handle has index 1"));

    s = sound();
    s.ports.push_back({"plain", PortDir::out, "declared without a handle"});
    CHECK_THAT(faults_of(s), Catch::Contains("out port 'plain' is declared at position 1 but its handle has index -1"));

    s = sound();
    s.counters.push_back({"first", "again", 2});
    CHECK_THAT(faults_of(s), Catch::Contains("counter 'first' is declared twice"));

    s = sound();
    struct Entry {
        const char* name;
        const char* doc;
        bool gauge = false;
    };
    declare_counters(s.counters, CounterRange{2, 3},
                     std::array{Entry{"third", ""}, Entry{"fourth", ""}}); // a range one wider than its table
    CHECK_THAT(faults_of(s), Catch::Contains("counter '?'"));

    s = sound();
    s.handlers = {{"poke", "", "", 0}, {"poke", "", "", 1}};
    CHECK_THAT(faults_of(s), Catch::Contains("handler 'poke' is declared twice"));
    s.handlers = {{"poke", "", "", 1}};
    CHECK_THAT(faults_of(s), Catch::Contains("handler 'poke' is declared at position 0"));

    s = sound();
    s.histograms = {{"wait", "", 3}};
    CHECK_THAT(faults_of(s), Catch::Contains("histogram 'wait' is declared at position 0"));

    s = sound();
    s.properties.push_back({.name = "many", .type = PropType::list, .changeable = true});
    CHECK_THAT(faults_of(s), Catch::Contains("property 'many' is a list; only scalars can be changeable"));

    Registry fresh;
    CHECK_THROWS_AS(fresh.add(s), std::logic_error);
    CHECK(fresh.find("test-sound") == nullptr);
}

TEST_CASE("registry: a property default its own spec would reject is refused", "[registry]")
{
    NodeSpec s = sound();
    s.properties[0].default_value = "10";
    CHECK_THAT(faults_of(s), Catch::Contains("property 'level': the default is invalid: 10 is out of range [0, 9]"));

    s = sound();
    s.properties[1].default_value = "neither";
    CHECK_THAT(faults_of(s), Catch::Contains("property 'mode': the default is invalid: 'neither' is not one of: a, b"));

    s = sound();
    s.properties.push_back(declare(StringProperty{"name"}, {.min = 1}));
    CHECK_THAT(faults_of(s), Catch::Contains("property 'name' has a range but is not an integer"));

    s = sound();
    s.properties.push_back(declare(level, {}));
    CHECK_THAT(faults_of(s), Catch::Contains("property 'level' is declared twice"));
}

TEST_CASE("properties: handles read typed values", "[registry]")
{
    Properties p;
    p.set("level", "7");
    p.set("mode", "b");
    p.set_list("items", {"x", "y"});
    CHECK(p.get(level) == 7);
    CHECK(p.get(mode) == "b");
    CHECK(p.get(ListProperty{"items"}) == std::vector<std::string>{"x", "y"});
}
