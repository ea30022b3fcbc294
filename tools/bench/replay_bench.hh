// pcap replay: inputs big enough to time, raw libpcap read speed as the
// yardstick, and timed `colo-graph run` invocations over the same files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace colo::bench {

struct PcapFile {
    std::string path;
    uint64_t packets = 0;
};

// COUNT generated UDP frames of SIZE bytes over FLOWS flows (generator ->
// pcap-sink, in process).
PcapFile write_generated_pcap(const std::string& path, uint64_t count, uint32_t frame_size, uint32_t flows);

// The demo captures (DEMO_DATA/primary.pcap, secondary.pcap) repeated
// `replicas` times into OUT_DIR/data/: each copy later in time than the one
// before and with TCP/UDP ports moved by the copy's number (checksums
// patched), so every copy is a new set of connections.
struct DemoCopy {
    PcapFile primary, secondary;
};
DemoCopy write_scaled_demo(const std::string& demo_data, const std::string& out_dir, unsigned replicas);

// Reads every packet of every file with pcap_next_ex, through a 64 KiB
// stdio buffer like pcap-source.
struct RawRead {
    uint64_t packets = 0;
    double seconds = 0, cpu_s = 0; // wall clock; the reading thread's CPU
};
RawRead raw_read(const std::vector<std::string>& files);

struct ReplayRun {
    double seconds = 0;    // wall clock, process start to exit
    double cpu_s = 0;      // the process's user + system time
    uint64_t released = 0; // packets into node `count_node`, from --stats
    int exit_status = 0;
};

// `colo-graph run GRAPH --stats --set ...`; with `perf_data` set the process
// runs under `perf record` (a profiling run, not a timing run).
ReplayRun run_replay(const std::string& colo_graph, const std::string& graph, const std::vector<std::string>& sets,
                     const std::string& count_node, const std::string& log_path, const std::string& perf_data);

// The graphs timed besides demo-replay.yaml, written into `dir`.
std::string write_mirror_compare_graph(const std::string& dir);
std::string write_read_only_graph(const std::string& dir);

// A copy of GRAPH at OUT whose pcap-sources all read ahead on threads of
// their own (read_ahead: true); throws if GRAPH has none.
std::string write_read_ahead_copy(const std::string& graph, const std::string& out);

} // namespace colo::bench
