// The socket benchmarks: one server process, one driver, one measurement.
// Each function starts its own server, so runs do not share state.
#pragma once

#include "tools/bench/pair_client.hh"
#include "tools/bench/server.hh"
#include "tools/bench/workload.hh"

#include <cstdint>
#include <string>

namespace colo::bench {

struct ThroughputResult {
    ReleaseTally tally;
    uint64_t pairs = 0;      // pairs written
    double seconds = 0;      // first write to last released frame read
    double server_cpu_s = 0; // server utime+stime over the same span
    double writer_cpu_s = 0;
    bool stalled = false;   // releases stopped before every pair came back
    std::string stop_fault; // how the server ended when stopped after the run, if not cleanly

    double pairs_per_s() const { return seconds > 0 ? double(tally.distinct) / seconds : 0; }
    double server_us_per_pair() const { return tally.distinct ? server_cpu_s * 1e6 / double(tally.distinct) : 0; }
    double writer_us_per_pair() const { return tally.distinct ? writer_cpu_s * 1e6 / double(tally.distinct) : 0; }
    double reader_us_per_pair() const { return tally.distinct ? tally.reader_cpu_s * 1e6 / double(tally.distinct) : 0; }
};

// Writes the workload's chunks alternately to primary_in and secondary_in
// (primary first), never more than `window` pairs ahead of the releases.
// With `perf_data` set, `perf record` samples the server during the run.
ThroughputResult run_throughput(ServerKind kind, const ServerConfig& config, const Workload& workload, uint32_t window,
                                const std::string& perf_data);

struct ScaleResult {
    uint32_t connections = 0;
    double open_s = 0;     // one pair per connection, written until all came back
    uint64_t base_kib = 0; // RSS after the warm-up
    uint64_t idle_kib = 0; // RSS with every connection tracked and idle
    uint64_t peak_kib = 0; // VmHWM at the end
    uint64_t pairs = 0;    // then: pairs spread over the connections, timed
    double seconds = 0, server_cpu_s = 0;
    uint64_t lost = 0, inversions = 0; // over both phases
    bool stalled = false;
    std::string stop_fault;

    double pairs_per_s() const { return seconds > 0 ? double(pairs) / seconds : 0; }
    double server_us_per_pair() const { return pairs ? server_cpu_s * 1e6 / double(pairs) : 0; }
};

// colo-graph's comparator tracking `connections` UDP flows (max_connections
// raised to hold them): one 64-byte pair opens each, then `pairs` more go
// round-robin over them (pair i to flow i % connections).
ScaleResult run_scale(const ServerConfig& config, uint32_t connections, uint64_t pairs, uint32_t window);

struct LatencyResult {
    uint64_t samples = 0, missing = 0, inversions = 0;
    double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
    std::string stop_fault;
};

// One UDP pair every 1/rate seconds on one flow; latency is the time from
// writing the secondary twin (the relay: the primary) to reading the
// released frame.
LatencyResult run_latency(ServerKind kind, const ServerConfig& config, uint32_t frame_size, uint64_t pairs,
                          double rate);

struct MemoryResult {
    uint64_t base_kib = 0; // RSS after start and warm-up
    uint64_t held_kib = 0; // RSS with one primary queued on each connection
    uint64_t idle_kib = 0; // RSS after every pair matched (connections still tracked)
    uint64_t peak_kib = 0; // VmHWM at the end
    uint64_t released = 0;
    std::string stop_fault;
};

// `connections` UDP flows, one 64-byte primary each, then their secondaries.
MemoryResult run_memory(ServerKind kind, const ServerConfig& config, uint32_t connections);

} // namespace colo::bench
