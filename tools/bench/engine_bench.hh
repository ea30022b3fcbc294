// In-process measurements of the engine and the comparator class, shared by
// colo-bench and the colo-micro benchmarks.
#pragma once

#include "engine/graph_file.hh"

#include <chrono>
#include <cstdint>

namespace colo::bench {

// generator (COUNT frames of SIZE bytes) -> HOPS pass-through nodes
// (redirector, status off) -> null-sink "sink".
GraphDecl pass_through_chain(uint64_t count, uint32_t frame_size, unsigned hops);

struct ChainTiming {
    double seconds = 0;   // wall clock of Runtime::run()
    double cpu_s = 0;     // this process's CPU over the same span, all threads
    bool stalled = false; // run() had not returned after kChainStallLimit and was stopped
};

constexpr std::chrono::seconds kChainStallLimit{60};

// Runs the chain once; throws if it finished without the sink having
// received every packet.
ChainTiming run_chain(uint64_t count, unsigned hops, std::size_t batch, bool deterministic, unsigned threads);

struct IdleConnectionCost {
    uint64_t connections = 0; // tracked after the pairs matched
    double heap_bytes_per_connection = 0;
    double held_heap_bytes_per_connection = 0; // with one 64-byte primary queued each
};

// Feeds a Comparator one 64-byte UDP primary on each of `connections` flows,
// then their secondaries, and measures the heap in use (mallinfo2) at each
// step against a baseline taken with the buffer pool already warm.
IdleConnectionCost measure_idle_connections(uint32_t connections);

} // namespace colo::bench
