// A graph for a test from YAML text: the parse must succeed; its diagnostics
// are printed when it does not.
#pragma once

#include <catch2/catch.hpp>

#include <iostream>
#include <string>

#include "engine/diagnostics.hh"
#include "engine/graph_file.hh"

namespace colo::testing {

inline GraphDecl parse_ok(const std::string& yaml, const std::string& file_name = "test.yaml")
{
    Diagnostics d;
    GraphDecl g = parse_graph(yaml, file_name, {}, d);
    if (!d.ok()) d.print(std::cerr);
    REQUIRE(d.ok());
    return g;
}

} // namespace colo::testing
