// Graph-file inputs found by fuzzing (tests/fuzz/fuzz_graph_file.cc).
#include <catch2/catch.hpp>

#include "engine/graph_file.hh"

#include <string>

using namespace colo;

TEST_CASE("a very long link is an error, not a stack overflow in std::regex", "[graph][fuzz]")
{
    const std::string long_end(50'000, 'x');
    const std::string yaml = "nodes:\n  gen: { type: test-generator, count: 1 }\n  sink: { type: test-null-sink }\n"
                             "links:\n  - \"" +
                             long_end + " -> sink\"\n  - gen -> sink\n";
    Diagnostics d;
    const GraphDecl g = parse_graph(yaml, "long.yaml", {}, d);
    REQUIRE(d.error_count() == 1);
    CHECK(d.items()[0].message == "link is 50008 characters long; the limit is " + std::to_string(kMaxLinkChars));
    CHECK(d.items()[0].loc.line == 5);
    REQUIRE(g.links.size() == 1); // the other link still loads
    CHECK(g.links[0].from_node == "gen");
}

TEST_CASE("a link at the length limit is still parsed", "[graph][fuzz]")
{
    const std::string name = "n" + std::string(kMaxLinkChars / 2 - 8, 'x');
    const std::string link = "gen -> " + name;
    const std::string padded = link + std::string(kMaxLinkChars - link.size(), ' ');
    Diagnostics d;
    const GraphDecl g = parse_graph("nodes:\n  gen: { type: test-generator, count: 1 }\n  " + name +
                                        ": { type: test-null-sink }\nlinks:\n  - \"" + padded + "\"\n",
                                    "limit.yaml", {}, d);
    CHECK(d.ok());
    REQUIRE(g.links.size() == 1);
    CHECK(g.links[0].to_node == name);
}
