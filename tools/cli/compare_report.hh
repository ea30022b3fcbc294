// The divergence report of `colo-graph compare`: what a COLO operator reads
// to find out why a primary/secondary pair checkpoints. Formatting only; the
// command fills a ComparisonResult from a comparator replay.
#pragma once

#include "nodes/proto/compare_config.hh"
#include "nodes/proto/compare_counters.hh"
#include "nodes/proto/compare_events.hh"

#include <cstdint>
#include <string>
#include <vector>

namespace colo {

struct ComparisonResult {
    std::string primary_file, secondary_file;
    CompareConfig config;
    uint64_t checkpoint_delay_ms = 0;
    uint64_t start_ns = 0;                     // first packet of either capture; report times are relative to it
    std::vector<ConnectionReport> connections; // Comparator::report()
    std::vector<CheckpointRequest> requests;   // in emission order
    CompareCounters counters;
};

// Where a divergence is: "stream offset 33333 (seq 83333)" for TCP, "byte 12
// from the UDP header" for UDP/ICMP/ICMPv6, "byte 40 of the frame" otherwise.
std::string divergence_position(const Divergence& d, const FlowKey& key);

// xxd-style rows of both sides' context, 16 bytes each, addressed by the
// offsets of divergence_position(). After the rows holding the first
// differing byte, a marker row puts ^^ under it (and ^ in the text column).
//   primary     33325: 49 4a 4b 4c 4d 4e 4f 50 51 52 53 54 55 56 57 58  IJKLMNOPQRSTUVWX
//   secondary   33325: 49 4a 4b 4c 4d 4e 4f 50 ae 52 53 54 55 56 57 58  IJKLMNOP.RSTUVWX
//                                              ^^                               ^
std::vector<std::string> divergence_dump(const Divergence& d);

// Connection table, first divergences, checkpoint requests and totals.
std::string text_report(const ComparisonResult& r);
// The same as one JSON document.
std::string json_report(const ComparisonResult& r);

} // namespace colo
