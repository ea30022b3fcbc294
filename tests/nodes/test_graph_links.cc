// Links that leave a port out: the node's only port in that direction, or
// among several its main one, named after the direction (`out`, `in`).
#include <catch2/catch.hpp>

#include "engine/graph_file.hh"

#include <sstream>

using namespace colo;

namespace {
GraphDecl parse(const std::string& links, Diagnostics& d)
{
    const std::string yaml = "nodes:\n"
                             "  gen: { type: generator, count: 1 }\n"
                             "  tee: { type: mirror }\n"
                             "  rw:  { type: rewriter }\n"
                             "  a:   { type: null-sink }\n"
                             "  b:   { type: null-sink }\n"
                             "links:\n" +
                             links;
    return parse_graph(yaml, "links.yaml", {}, d);
}
} // namespace

TEST_CASE("graph file: a link without a port takes the node's main port among several", "[graph-file]")
{
    Diagnostics d;
    const GraphDecl g = parse("  - gen -> tee\n  - tee -> a\n  - tee.mirror -> b\n", d);
    REQUIRE(d.ok());
    REQUIRE(g.links.size() == 3);
    CHECK(g.links[1].from_port == "out"); // the mirror's `out`, not its `mirror`
}

TEST_CASE("graph file: a link without a port is refused when no port is the main one", "[graph-file]")
{
    Diagnostics d;
    parse("  - gen -> rw.to_guest\n  - rw -> a\n", d); // to_guest and from_guest: neither is `out`
    CHECK_FALSE(d.ok());
    std::ostringstream os;
    d.print(os);
    CHECK_THAT(os.str(), Catch::Contains("'rw' (rewriter) has 2 output ports; name one as 'rw.PORT'"));
}
