// Test-only node types for graphs in node_tests: `test-feed`, an offline
// source handing out a prepared list of packets, and `test-capture`, a sink
// keeping what reaches it. Both take a `name` property that keys their list,
// so one graph can hold several.
#pragma once

#include "engine/packet.hh"

#include <map>
#include <string>
#include <vector>

namespace colo::testnodes {

extern std::map<std::string, std::vector<Packet>> feeds, captures;

// Empties the lists when a test ends: packets must go back to the buffer
// pool before static destruction, whose order across files is unspecified.
struct ClearListsAfterTest {
    ClearListsAfterTest() { clear(); }
    ~ClearListsAfterTest() { clear(); }
    static void clear()
    {
        feeds.clear();
        captures.clear();
    }
};

} // namespace colo::testnodes
