// colo-bench: the benchmark suite. It prints figures; it asserts nothing
// except the targets, which it reports as met or not met.
//
// Sections (all by default; --sections picks some):
//   throughput  QEMU 7.2's colo-compare, colo-graph's colo-compare.yaml,
//               colo-graph's socket -> socket graph (graph-relay) and a plain C
//               relay with no framing (min-relay, the ceiling), driven by the
//               same driver with the same input in the same run: pairs/s,
//               server CPU per pair, the driver's own CPU, order inversions,
//               losses;
//   latency     p50/p99/p99.9 per pair at a fixed moderate rate, both servers;
//   memory      RSS with 10,000 connections holding a queued packet, and the
//               comparator's heap per idle tracked connection;
//   scale       the comparator's pairs/s, CPU per pair and RSS with 1, 256,
//               65,536 and 1,000,000 tracked connections;
//   replay      pcap replay in Mpps against raw libpcap reading of the file;
//   hops        the engine's cost per packet per hop at batch sizes 1/16/256.
//
// tools/bench/run.sh builds (Release) and runs everything; docs/performance.md
// explains the method and holds the results.
#include "nodes/proto/connection_table.hh"
#include "tools/bench/engine_bench.hh"
#include "tools/bench/process.hh"
#include "tools/bench/replay_bench.hh"
#include "tools/bench/report.hh"
#include "tools/bench/socket_bench.hh"

#include <boost/program_options.hpp>

#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

namespace po = boost::program_options;
using namespace colo::bench;

namespace {

struct Options {
    std::set<std::string> sections;
    std::vector<std::string> cases;
    std::vector<ServerKind> servers;
    uint64_t count = 0;
    unsigned repeat = 0;
    uint32_t window = 0;
    uint64_t latency_pairs = 0;
    unsigned latency_repeat = 0;
    double rate = 0;
    uint32_t connections = 0;
    std::vector<uint32_t> scale_connections;
    uint64_t scale_pairs = 0;
    unsigned replicas = 0;
    uint64_t replay_packets = 0;
    std::string perf_dir;
    std::string source_dir;
    ServerConfig server;
};

struct ThroughputCase {
    std::string name;
    std::function<std::unique_ptr<Workload>(uint64_t pairs)> make;
};

const std::vector<ThroughputCase>& throughput_cases()
{
    static const std::vector<ThroughputCase> cases = {
        {"udp64-1flow", [](uint64_t n) { return std::make_unique<UdpPairs>(64, 1, n, 32); }},
        {"udp64-256flows", [](uint64_t n) { return std::make_unique<UdpPairs>(64, 256, n, 32); }},
        {"udp1400-1flow", [](uint64_t n) { return std::make_unique<UdpPairs>(1400, 1, n, 32); }},
        {"udp1400-256flows", [](uint64_t n) { return std::make_unique<UdpPairs>(1400, 256, n, 32); }},
        {"tcp-reseg-1flow", [](uint64_t n) { return std::make_unique<TcpResegmented>(1, n); }},
        {"tcp-reseg-256flows", [](uint64_t n) { return std::make_unique<TcpResegmented>(256, n); }},
    };
    return cases;
}

std::vector<std::string> split(const std::string& list)
{
    std::vector<std::string> out;
    std::stringstream ss(list);
    for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

bool has(const std::vector<ServerKind>& servers, ServerKind k)
{
    return std::find(servers.begin(), servers.end(), k) != servers.end();
}

std::string ratio(double a, double b)
{
    return b > 0 ? "x" + fixed(a / b, 2) : "-";
}

std::string mib(uint64_t kib)
{
    return fixed(double(kib) / 1024, 1);
}

void section_header(const std::string& title)
{
    std::cout << "\n== " << title << "   [" << load_average() << "]\n";
}

// A server that did not end cleanly when it was stopped after a run gets a
// line of its own: a crash on the way out (QEMU 7.2 has one) is never silent.
bool stopped_cleanly(ServerKind k, const std::string& run, const std::string& fault)
{
    if (!fault.empty()) std::cout << "  " << to_string(k) << ", " << run << ": " << fault << " when stopped after it\n";
    return fault.empty();
}

// ---- throughput -------------------------------------------------------------

struct ServerSummary {
    double pairs_per_s = 0, server_us = 0, writer_us = 0, reader_us = 0;
    uint64_t inversions = 0, lost = 0, duplicates = 0, foreign = 0, stalls = 0, unclean_stops = 0;
};

ServerSummary summarise(const std::vector<ThroughputResult>& runs)
{
    ServerSummary s;
    std::vector<double> rate, server, writer, reader;
    for (const auto& r : runs) {
        rate.push_back(r.pairs_per_s());
        server.push_back(r.server_us_per_pair());
        writer.push_back(r.writer_us_per_pair());
        reader.push_back(r.reader_us_per_pair());
        s.inversions += r.tally.inversions;
        s.lost += r.pairs - r.tally.distinct;
        s.duplicates += r.tally.duplicates;
        s.foreign += r.tally.foreign;
        s.stalls += r.stalled;
        s.unclean_stops += !r.stop_fault.empty();
    }
    s.pairs_per_s = median(rate);
    s.server_us = median(server);
    s.writer_us = median(writer);
    s.reader_us = median(reader);
    return s;
}

void throughput_section(const Options& o, Targets& targets)
{
    section_header("throughput (same driver, same input, servers interleaved per repeat; medians of " +
                   std::to_string(o.repeat) + ")");
    std::cout << "  pairs/s = distinct pairs released / (first write .. last release read); CPU = server\n"
                 "  utime+stime (its CPU clock) over the same span / pairs; writer, reader = the driver's\n"
                 "  own threads' CPU / pairs (the driver shares the machine's cores with the server).\n";
    for (const auto& c : throughput_cases()) {
        if (std::find(o.cases.begin(), o.cases.end(), c.name) == o.cases.end()) continue;
        const auto workload = c.make(o.count);
        std::cout << "\n-- " << c.name << ": " << workload->describe() << "; " << workload->pairs() << " pairs, window "
                  << o.window << ", " << workload->chunk_pairs() << " pairs per chunk\n";
        std::map<ServerKind, std::vector<ThroughputResult>> runs;
        for (unsigned rep = 0; rep < o.repeat; ++rep)
            for (ServerKind k : o.servers) runs[k].push_back(run_throughput(k, o.server, *workload, o.window, ""));

        Table t({"server", "pairs/s", "CPU us/pair", "writer us/pair", "reader us/pair", "inversions", "lost",
                 "duplicates", "stalled runs", "unclean stops"});
        std::map<ServerKind, ServerSummary> sum;
        for (ServerKind k : o.servers) {
            const ServerSummary s = sum[k] = summarise(runs[k]);
            t.add({to_string(k), si(s.pairs_per_s), fixed(s.server_us, 3), fixed(s.writer_us, 3), fixed(s.reader_us, 3),
                   std::to_string(s.inversions), std::to_string(s.lost), std::to_string(s.duplicates),
                   std::to_string(s.stalls), std::to_string(s.unclean_stops)});
        }
        t.print(std::cout);
        for (ServerKind k : o.servers)
            for (std::size_t i = 0; i < runs[k].size(); ++i)
                stopped_cleanly(k, "run " + std::to_string(i + 1), runs[k][i].stop_fault);
        if (has(o.servers, ServerKind::colo_graph) && has(o.servers, ServerKind::qemu)) {
            const auto& g = sum[ServerKind::colo_graph];
            const auto& q = sum[ServerKind::qemu];
            std::cout << "  colo-graph vs qemu: pairs/s " << ratio(g.pairs_per_s, q.pairs_per_s) << " ("
                      << targets.check(c.name + " pairs/s >= 8x QEMU (" + ratio(g.pairs_per_s, q.pairs_per_s) + ")",
                                       g.pairs_per_s >= 8 * q.pairs_per_s)
                      << ", target >= x8), CPU/pair " << ratio(g.server_us, q.server_us) << " ("
                      << targets.check(c.name + " CPU/pair <= 1/3 of QEMU's (" + ratio(g.server_us, q.server_us) + ")",
                                       g.server_us * 3 <= q.server_us)
                      << ", target <= x0.33)\n";
        }
        if (has(o.servers, ServerKind::colo_graph)) {
            const auto& g = sum[ServerKind::colo_graph];
            targets.check(c.name + " colo-graph releases in order, nothing lost, stops cleanly (" +
                              std::to_string(g.inversions) + " inversions, " + std::to_string(g.lost) + " lost, " +
                              std::to_string(g.unclean_stops) + " unclean stops)",
                          g.inversions == 0 && g.lost == 0 && g.duplicates == 0 && g.unclean_stops == 0);
            if (has(o.servers, ServerKind::min_relay)) {
                const auto& m = sum[ServerKind::min_relay];
                std::cout << "  colo-graph vs min-relay (the ceiling): pairs/s " << ratio(g.pairs_per_s, m.pairs_per_s)
                          << " ("
                          << targets.check(c.name + " pairs/s >= 0.8x min-relay's (" +
                                               ratio(g.pairs_per_s, m.pairs_per_s) + ")",
                                           g.pairs_per_s >= 0.8 * m.pairs_per_s)
                          << ", target >= x0.8), CPU/pair " << ratio(g.server_us, m.server_us) << "\n";
            }
            if (has(o.servers, ServerKind::relay)) {
                const auto& r = sum[ServerKind::relay];
                std::cout << "  colo-graph vs graph-relay (the engine without comparison): pairs/s "
                          << ratio(g.pairs_per_s, r.pairs_per_s) << ", CPU/pair " << ratio(g.server_us, r.server_us)
                          << "\n";
            }
            if (!o.perf_dir.empty()) {
                const std::string out = o.perf_dir + "/" + c.name + ".perf.data";
                stopped_cleanly(
                    ServerKind::colo_graph, "profile run",
                    run_throughput(ServerKind::colo_graph, o.server, *c.make(4 * o.count), o.window, out).stop_fault);
                std::cout << "  profile (an extra colo-graph run of " << 4 * o.count
                          << " pairs, not in the figures): " << out << "\n";
            }
        }
    }
}

// ---- latency ------------------------------------------------------------------

void latency_section(const Options& o, Targets& targets)
{
    section_header("latency: one UDP pair every " + fixed(1e6 / o.rate, 0) + " us (" + si(o.rate) + " pairs/s), " +
                   std::to_string(o.latency_pairs) + " pairs per run, first 1% skipped; servers interleaved, " +
                   std::to_string(o.latency_repeat) + " runs each");
    std::cout << "  latency = secondary twin written .. released frame read (driver clock); the relays\n"
                 "  release on the primary, so for them: primary written .. read (the socket path alone).\n"
                 "  Percentiles are medians over the runs; 'p99 range' is the lowest..highest run.\n";
    Table t({"size", "server", "p50 us", "p99 us", "p99 range", "p99.9 us", "max us", "missing", "inversions"});
    for (uint32_t size : {64u, 1400u}) {
        std::map<ServerKind, std::vector<LatencyResult>> runs;
        for (unsigned rep = 0; rep < o.latency_repeat; ++rep)
            for (ServerKind k : o.servers) runs[k].push_back(run_latency(k, o.server, size, o.latency_pairs, o.rate));
        std::map<ServerKind, double> p99;
        for (ServerKind k : o.servers) {
            std::vector<double> p50s, p99s, p999s, maxs;
            uint64_t missing = 0, inversions = 0, unclean_stops = 0;
            for (const LatencyResult& r : runs[k]) {
                unclean_stops += !stopped_cleanly(k, std::to_string(size) + " B latency run", r.stop_fault);
                p50s.push_back(r.p50_us);
                p99s.push_back(r.p99_us);
                p999s.push_back(r.p999_us);
                maxs.push_back(r.max_us);
                missing += r.missing;
                inversions += r.inversions;
            }
            p99[k] = median(p99s);
            const auto [lo, hi] = std::minmax_element(p99s.begin(), p99s.end());
            t.add({std::to_string(size), to_string(k), fixed(median(p50s), 1), fixed(p99[k], 1),
                   fixed(*lo, 0) + ".." + fixed(*hi, 0), fixed(median(p999s), 1), fixed(median(maxs), 0),
                   std::to_string(missing), std::to_string(inversions)});
            if (k == ServerKind::colo_graph)
                targets.check("latency " + std::to_string(size) + " B colo-graph in order, stops cleanly (" +
                                  std::to_string(inversions) + " inversions, " + std::to_string(unclean_stops) +
                                  " unclean stops)",
                              inversions == 0 && unclean_stops == 0);
        }
        if (p99.count(ServerKind::colo_graph) && p99.count(ServerKind::qemu)) {
            unsigned wins = 0;
            for (unsigned rep = 0; rep < o.latency_repeat; ++rep)
                wins += runs[ServerKind::colo_graph][rep].p99_us <= runs[ServerKind::qemu][rep].p99_us;
            targets.check("latency " + std::to_string(size) + " B p99 <= QEMU's (median " +
                              fixed(p99[ServerKind::colo_graph], 1) + " vs " + fixed(p99[ServerKind::qemu], 1) +
                              " us; lower or equal in " + std::to_string(wins) + " of " +
                              std::to_string(o.latency_repeat) + " back-to-back runs)",
                          p99[ServerKind::colo_graph] <= p99[ServerKind::qemu]);
        }
    }
    t.print(std::cout);
}

// ---- memory -------------------------------------------------------------------

void memory_section(const Options& o, Targets& targets)
{
    section_header("memory: " + std::to_string(o.connections) +
                   " UDP connections, one 64-byte primary queued on each, then their secondaries");
    Table t({"server", "RSS base MiB", "held MiB", "held B/conn", "idle MiB", "idle B/conn", "peak MiB", "released"});
    const auto per_conn = [&](uint64_t kib, uint64_t base) {
        return fixed((double(kib) - double(base)) * 1024 / o.connections, 0);
    };
    for (ServerKind k : o.servers) {
        if (releases_on_primary(k)) continue;
        const MemoryResult r = run_memory(k, o.server, o.connections);
        stopped_cleanly(k, "memory run", r.stop_fault);
        t.add({to_string(k), mib(r.base_kib), mib(r.held_kib), per_conn(r.held_kib, r.base_kib), mib(r.idle_kib),
               per_conn(r.idle_kib, r.base_kib), mib(r.peak_kib), std::to_string(r.released)});
    }
    t.print(std::cout);
    std::cout << "  (RSS deltas include buffers the process keeps for reuse after the pairs left)\n";
    const IdleConnectionCost c = measure_idle_connections(o.connections);
    std::cout << "  comparator heap per tracked connection (in process, mallinfo2, buffer pool warm): idle "
              << fixed(c.heap_bytes_per_connection, 0) << " B, with one queued 64-byte primary "
              << fixed(c.held_heap_bytes_per_connection, 0) << " B; " << c.connections << " tracked ("
              << targets.check("memory per idle tracked connection < 256 B (" + fixed(c.heap_bytes_per_connection, 0) +
                                   " B)",
                               c.heap_bytes_per_connection < 256 && c.connections == o.connections)
              << ", target < 256 B)\n";
    std::cout << "  for reference: sizeof(CompareConnection) " << sizeof(colo::CompareConnection)
              << " B, sizeof(QueuedPacket) " << sizeof(colo::QueuedPacket)
              << " B (a queue's ring starts at 4 slots on first use)\n";
}

// ---- scale --------------------------------------------------------------------

void scale_section(const Options& o, Targets& targets)
{
    section_header("scale: colo-graph's comparator tracking N UDP connections (max_connections raised to N); " +
                   std::to_string(o.scale_pairs) + " 64-byte pairs round-robin over them, one run per N");
    std::cout << "  open = one pair per connection until all came back (connections/s); idle RSS = VmRSS two\n"
                 "  scans later, every connection tracked and idle; then the timed pairs: pairs/s and server CPU\n"
                 "  per pair as in the throughput section; peak = VmHWM at the end.\n";
    Table t({"connections", "open conn/s", "RSS base MiB", "idle RSS MiB", "idle B/conn", "peak MiB", "pairs/s",
             "CPU us/pair", "CPU vs 256", "lost", "inversions", "stalled"});
    double cpu_256 = 0;
    for (uint32_t n : o.scale_connections) {
        const ScaleResult r = run_scale(o.server, n, o.scale_pairs, o.window);
        const bool clean = stopped_cleanly(ServerKind::colo_graph, std::to_string(n) + " connections", r.stop_fault);
        if (n == 256) cpu_256 = r.server_us_per_pair();
        const double per_conn = (double(r.idle_kib) - double(r.base_kib)) * 1024 / n;
        t.add({std::to_string(n), si(n / std::max(r.open_s, 1e-9)), mib(r.base_kib), mib(r.idle_kib),
               fixed(per_conn, 0), mib(r.peak_kib), si(r.pairs_per_s()), fixed(r.server_us_per_pair(), 3),
               cpu_256 > 0 ? ratio(r.server_us_per_pair(), cpu_256) : "-", std::to_string(r.lost),
               std::to_string(r.inversions), r.stalled ? "yes" : "no"});
        targets.check("scale " + std::to_string(n) + " connections: nothing lost, in order, stops cleanly (" +
                          std::to_string(r.lost) + " lost, " + std::to_string(r.inversions) + " inversions" +
                          (clean ? "" : ", " + r.stop_fault) + ")",
                      r.lost == 0 && r.inversions == 0 && !r.stalled && clean);
        if (n >= 1'000'000) {
            targets.check("scale " + std::to_string(n) + " idle connections in < 400 MiB RSS (" + mib(r.idle_kib) +
                              " MiB idle, " + mib(r.peak_kib) + " MiB peak)",
                          r.idle_kib < 400 * 1024);
            if (cpu_256 > 0)
                targets.check("scale CPU per pair at " + std::to_string(n) + " connections <= 2x that at 256 (" +
                                  ratio(r.server_us_per_pair(), cpu_256) + ")",
                              r.server_us_per_pair() <= 2 * cpu_256);
        }
    }
    t.print(std::cout);
}

// ---- replay -------------------------------------------------------------------

struct ReplayCase {
    std::string label, input, graph;
    std::string ahead_graph;            // the same with read_ahead on every pcap-source
    std::vector<std::string> sets;      // the timed run
    std::vector<std::string> tiny_sets; // the same graph on a tiny input: the fixed cost
    std::vector<std::string> files;     // what the raw read reads
    uint64_t packets;                   // read from the files
    uint64_t expect_released;
    bool target;                 // TCP mirror -> comparator: >= 50% of raw read
    std::string profile_name;    // with --perf-dir: profiled as DIR/NAME.perf.data
    std::string output_dir = {}; // emptied before every run
};

struct ReplayTiming {
    double seconds = 0, cpu_s = 0; // medians
    uint64_t released = 0;
};

struct ReplaySamples {
    std::vector<double> wall, cpu;
    uint64_t released = 0;
    void add(const ReplayRun& r)
    {
        wall.push_back(r.seconds);
        cpu.push_back(r.cpu_s);
        released = r.released;
    }
    ReplayTiming medians() const { return {median(wall), median(cpu), released}; }
};

void run_into(const Options& o, const ReplayCase& c, const std::string& graph, const std::vector<std::string>& sets,
              ReplaySamples& samples)
{
    // What the last run wrote (demo-replay: 433 MB) must be neither written
    // back nor truncated (as pcap-sink opens it) during this run.
    if (!c.output_dir.empty()) {
        std::filesystem::remove_all(c.output_dir);
        std::filesystem::create_directories(c.output_dir);
    }
    ::sync();
    const ReplayRun r = run_replay(o.server.colo_graph, graph, sets, "released", o.server.workdir + "/replay.log", "");
    if (r.exit_status != 0) std::cout << "  " << c.label << ": colo-graph exited with status " << r.exit_status << "\n";
    samples.add(r);
}

void replay_section(const Options& o, Targets& targets)
{
    section_header("replay (offline, --batch 256); medians of " + std::to_string(o.repeat));
    std::cout << "  raw = pcap_next_ex loop over the same file(s) through a 64 KiB stdio buffer like\n"
                 "  pcap-source's, page cache warm, one thread (wall = CPU). colo-graph net = packets / (time of\n"
                 "  the run - time of the same graph on a tiny input), i.e. without the fixed cost of start,\n"
                 "  graph load and exit ('fixed CPU ms').\n"
                 "  1 thread: the graph as written, by CPU time (the efficiency; a loaded machine disturbs it\n"
                 "  least). read-ahead: every pcap-source with read_ahead: true, reading on a thread of its\n"
                 "  own while the graph runs on the other core, by the wall clock (the throughput a user\n"
                 "  waits for; the target), and its CPU per packet against the 1-thread run.\n";
    const std::string dir = o.server.workdir;
    const PcapFile udp = write_generated_pcap(dir + "/udp64.pcap", o.replay_packets, 64, 256);
    const PcapFile udp_tiny = write_generated_pcap(dir + "/udp64-tiny.pcap", 1, 64, 256);
    const std::string mirror_compare = write_mirror_compare_graph(dir);
    const std::string read_only = write_read_only_graph(dir);
    const std::string mirror_compare_ahead = write_read_ahead_copy(mirror_compare, dir + "/mirror-compare-ahead.yaml");
    const std::string read_only_ahead = write_read_ahead_copy(read_only, dir + "/read-only-ahead.yaml");
    const std::string udp_label = "udp64 (" + si(double(udp.packets)) + " x 64 B, 256 flows)";
    std::vector<ReplayCase> cases = {
        {"pcap-source -> null-sink",
         udp_label,
         read_only,
         read_only_ahead,
         {"file=" + udp.path},
         {"file=" + udp_tiny.path},
         {udp.path},
         udp.packets,
         udp.packets,
         false,
         ""},
        {"mirror -> comparator",
         udp_label,
         mirror_compare,
         mirror_compare_ahead,
         {"file=" + udp.path},
         {"file=" + udp_tiny.path},
         {udp.path},
         udp.packets,
         udp.packets,
         false, // target retired (issue #17): docs/performance.md explains its ceiling
         "replay-mirror-compare-udp64"},
    };

    const std::string demo_graph = o.source_dir + "/graphs/demo-replay.yaml";
    if (std::filesystem::exists(demo_graph) && std::filesystem::exists(o.source_dir + "/graphs/data/primary.pcap")) {
        const DemoCopy demo = write_scaled_demo(o.source_dir + "/graphs/data", dir + "/demo", o.replicas);
        const DemoCopy once = write_scaled_demo(o.source_dir + "/graphs/data", dir + "/demo-once", 1);
        std::filesystem::create_directories(dir + "/demo-out");
        const std::string label = "demo x" + std::to_string(o.replicas);
        const std::string primary_label = label + " primary.pcap (" + si(double(demo.primary.packets)) + ", TCP)";
        const uint64_t both = demo.primary.packets + demo.secondary.packets;
        cases.push_back({"pcap-source -> null-sink",
                         primary_label,
                         read_only,
                         read_only_ahead,
                         {"file=" + demo.primary.path},
                         {"file=" + once.primary.path},
                         {demo.primary.path},
                         demo.primary.packets,
                         demo.primary.packets,
                         false,
                         ""});
        cases.push_back({"mirror -> comparator",
                         primary_label,
                         mirror_compare,
                         mirror_compare_ahead,
                         {"file=" + demo.primary.path},
                         {"file=" + once.primary.path},
                         {demo.primary.path},
                         demo.primary.packets,
                         demo.primary.packets,
                         true,
                         "replay-mirror-compare-demo"});
        cases.push_back({"graphs/demo-replay.yaml",
                         label + " primary+secondary (" + si(double(both)) + ")",
                         demo_graph,
                         write_read_ahead_copy(demo_graph, dir + "/demo-replay-ahead.yaml"),
                         {"graph_dir=" + dir + "/demo", "out=" + dir + "/demo-out"},
                         {"graph_dir=" + dir + "/demo-once", "out=" + dir + "/demo-out"},
                         {demo.primary.path, demo.secondary.path},
                         both,
                         demo.primary.packets,
                         false,
                         "replay-demo",
                         dir + "/demo-out"});
    } else {
        std::cout << "  graphs/demo-replay.yaml or its captures are missing: only the generated input is replayed\n";
    }

    // The inputs were just written: write them back to disk now, or the
    // kernel does it during the timed runs (seen: ratios 20 points lower).
    ::sync();
    Table t({"graph", "input", "raw Mpps", "1 thread: net Mpps", "of raw", "read-ahead: net Mpps", "of raw",
             "CPU/pkt vs 1 thread", "fixed CPU ms", "released", "expected"});
    for (const ReplayCase& c : cases) {
        raw_read(c.files); // warms the page cache
        // Interleaved, so that each figure sees the machine in the same states
        // (the raw read alone varied by 25 % between runs minutes apart).
        std::vector<double> raw_cpu, raw_wall;
        ReplaySamples runs, tinies, aheads, ahead_tinies;
        for (unsigned rep = 0; rep < o.repeat; ++rep) {
            const RawRead r = raw_read(c.files);
            raw_cpu.push_back(r.cpu_s);
            raw_wall.push_back(r.seconds);
            run_into(o, c, c.graph, c.sets, runs);
            run_into(o, c, c.graph, c.tiny_sets, tinies);
            run_into(o, c, c.ahead_graph, c.sets, aheads);
            run_into(o, c, c.ahead_graph, c.tiny_sets, ahead_tinies);
        }
        const ReplayTiming run = runs.medians(), tiny = tinies.medians();
        const ReplayTiming ahead = aheads.medians(), ahead_tiny = ahead_tinies.medians();
        const double mp = double(c.packets) / 1e6;
        const double raw_cpu_mpps = mp / median(raw_cpu), raw_wall_mpps = mp / median(raw_wall);
        const double net_cpu_s = std::max(run.cpu_s - tiny.cpu_s, 1e-6);
        const double net_mpps = mp / net_cpu_s;
        const double ahead_mpps = mp / std::max(ahead.seconds - ahead_tiny.seconds, 1e-6);
        const double ahead_cpu_ratio = std::max(ahead.cpu_s - ahead_tiny.cpu_s, 1e-6) / net_cpu_s;
        const std::string of_raw = fixed(100 * net_mpps / raw_cpu_mpps, 0) + "%";
        const std::string ahead_of_raw = fixed(100 * ahead_mpps / raw_wall_mpps, 0) + "%";
        t.add({c.label, c.input, fixed(raw_wall_mpps, 2), fixed(net_mpps, 2), of_raw, fixed(ahead_mpps, 2),
               ahead_of_raw, fixed(ahead_cpu_ratio, 2) + "x", fixed(tiny.cpu_s * 1e3, 0),
               std::to_string(run.released) +
                   (ahead.released == run.released ? "" : " / " + std::to_string(ahead.released)),
               std::to_string(c.expect_released)});
        if (c.target)
            targets.check("replay mirror -> comparator on " + c.input +
                              " >= 50% of raw libpcap, by the wall clock with "
                              "read-ahead (" +
                              ahead_of_raw + "; per CPU second, one thread: " + of_raw + ")",
                          ahead_mpps >= 0.5 * raw_wall_mpps);
        if (!o.perf_dir.empty() && !c.profile_name.empty())
            run_replay(o.server.colo_graph, c.graph, c.sets, "released", dir + "/replay.log",
                       o.perf_dir + "/" + c.profile_name + ".perf.data");
    }
    t.print(std::cout);
    if (!o.perf_dir.empty())
        std::cout << "  profiles of the replay graphs (extra runs): " << o.perf_dir << "/replay-*.perf.data\n";
}

// ---- hops ---------------------------------------------------------------------

void hops_section(const Options& o)
{
    constexpr unsigned kHops = 8;
    section_header("engine hop cost: generator -> 0 or " + std::to_string(kHops) +
                   " redirectors (status off, pass-through) -> null-sink, 64-byte frames, in process; medians of " +
                   std::to_string(o.repeat));
    std::cout << "  per hop = (8 hops - 0 hops) / 8. CPU = the process's CPU time (all threads, idle spinning\n"
                 "  included): the cost; wall = elapsed time, which a loaded machine inflates in concurrent mode.\n";
    Table t({"mode", "batch", "packets", "CPU ns/pkt 0 hops", "CPU ns/pkt 8 hops", "CPU ns/pkt/hop", "wall ns/pkt/hop",
             "stalled runs"});
    for (bool deterministic : {true, false}) {
        for (std::size_t batch : {std::size_t(1), std::size_t(16), std::size_t(256)}) {
            const uint64_t packets = batch == 1 ? 200'000 : batch == 16 ? 1'000'000 : 2'000'000;
            const std::string mode = deterministic ? "replay (1 thread)" : "concurrent (2 threads)";
            std::vector<double> cpu0, cpu8, wall0, wall8;
            unsigned stalls = 0;
            for (unsigned rep = 0; rep < o.repeat; ++rep) {
                for (unsigned hops : {0u, kHops}) {
                    const ChainTiming r = run_chain(packets, hops, batch, deterministic, 2);
                    if (r.stalled) {
                        ++stalls;
                        std::cout << "  " << mode << ", batch " << batch << ", " << hops << " hops: STALLED, run() had "
                                  << "not returned after " << kChainStallLimit.count() << " s; stopped\n";
                        continue;
                    }
                    (hops ? cpu8 : cpu0).push_back(r.cpu_s);
                    (hops ? wall8 : wall0).push_back(r.seconds);
                }
            }
            const auto ns = [&](const std::vector<double>& v) { return median(v) * 1e9 / double(packets); };
            t.add({mode, std::to_string(batch), si(double(packets)), fixed(ns(cpu0), 1), fixed(ns(cpu8), 1),
                   fixed((ns(cpu8) - ns(cpu0)) / kHops, 1), fixed((ns(wall8) - ns(wall0)) / kHops, 1),
                   std::to_string(stalls)});
        }
    }
    t.print(std::cout);
}

// ---- main ---------------------------------------------------------------------

int parse(int argc, char** argv, Options& o, bool& keep)
{
    std::string sections, cases, servers, workdir, colo_graph_args, scale;
    po::options_description opts("colo-bench options");
    opts.add_options()("help,h", "this help")(
        "sections", po::value(&sections)->default_value("throughput,latency,memory,scale,replay,hops"),
        "sections to run")(
        "cases", po::value(&cases)->default_value("all"),
        "throughput cases: all or a list of udp64-1flow, udp64-256flows, udp1400-1flow, udp1400-256flows, "
        "tcp-reseg-1flow, tcp-reseg-256flows")(
        "servers", po::value(&servers)->default_value("qemu,colo-graph,graph-relay,min-relay"),
        "servers to drive")("count", po::value(&o.count)->default_value(500000), "pairs per throughput run")(
        "repeat", po::value(&o.repeat)->default_value(3), "runs per figure; medians are reported")(
        "window", po::value(&o.window)->default_value(512), "pairs in flight (below max_queue_size 1024)")(
        "latency-pairs", po::value(&o.latency_pairs)->default_value(20000),
        "pairs per latency run")("rate", po::value(&o.rate)->default_value(10000), "latency: pairs per second")(
        "latency-repeat", po::value(&o.latency_repeat)->default_value(5), "latency: runs per server and size")(
        "connections", po::value(&o.connections)->default_value(10000),
        "memory: connections")("scale-connections", po::value(&scale)->default_value("1,256,65536,1000000"),
                               "scale: tracked connections, one run each")(
        "scale-pairs", po::value(&o.scale_pairs)->default_value(500000),
        "scale: timed pairs per run")("replicas", po::value(&o.replicas)->default_value(2000),
                                      "replay: copies of the demo captures (fewer give unstable ratios)")(
        "replay-packets", po::value(&o.replay_packets)->default_value(1000000), "replay: generated 64-byte frames")(
        "perf-dir", po::value(&o.perf_dir), "also record perf profiles of extra colo-graph runs into DIR")(
        "workdir", po::value(&workdir), "scratch directory (default: a new /tmp/colo-bench.XXXXXX, removed at exit)")(
        "colo-graph", po::value(&o.server.colo_graph)->default_value(COLO_BENCH_COLO_GRAPH), "colo-graph binary")(
        "min-relay", po::value(&o.server.min_relay)->default_value(COLO_BENCH_MIN_RELAY), "min-relay binary")(
        "colo-graph-args", po::value(&colo_graph_args),
        "extra options for the colo-graph and graph-relay servers, space-separated (e.g. --threads=1)")(
        "source-dir", po::value(&o.source_dir)->default_value(COLO_BENCH_SOURCE_DIR),
        "colo-graph source tree (graphs/)")("qemu", po::value(&o.server.qemu)->default_value("qemu-system-x86_64"),
                                            "QEMU binary");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, opts), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "colo-bench: " << e.what() << '\n';
        return EX_USAGE;
    }
    if (vm.count("help")) {
        std::cout << "Usage: colo-bench [OPTIONS]\n\nThe colo-graph benchmark suite (docs/performance.md).\n\n" << opts;
        return -1;
    }
    for (const auto& s : split(sections)) {
        if (s != "throughput" && s != "latency" && s != "memory" && s != "scale" && s != "replay" && s != "hops") {
            std::cerr << "colo-bench: unknown section '" << s << "'\n";
            return EX_USAGE;
        }
        o.sections.insert(s);
    }
    for (const auto& c : throughput_cases()) o.cases.push_back(c.name);
    if (cases != "all") {
        o.cases = split(cases);
        for (const auto& name : o.cases)
            if (std::none_of(throughput_cases().begin(), throughput_cases().end(),
                             [&](const auto& c) { return c.name == name; })) {
                std::cerr << "colo-bench: unknown case '" << name << "'\n";
                return EX_USAGE;
            }
    }
    for (const auto& s : split(servers)) {
        if (s == "qemu") o.servers.push_back(ServerKind::qemu);
        else if (s == "colo-graph") o.servers.push_back(ServerKind::colo_graph);
        else if (s == "graph-relay" || s == "relay") o.servers.push_back(ServerKind::relay);
        else if (s == "min-relay") o.servers.push_back(ServerKind::min_relay);
        else {
            std::cerr << "colo-bench: unknown server '" << s << "'\n";
            return EX_USAGE;
        }
    }
    if (o.repeat == 0 || o.latency_repeat == 0 || o.count == 0 || o.rate <= 0 || o.window == 0 ||
        o.window >= o.server.max_queue_size) {
        std::cerr << "colo-bench: --repeat, --latency-repeat, --count, --rate must be positive and --window in 1.."
                  << o.server.max_queue_size - 1 << '\n';
        return EX_USAGE;
    }
    for (const auto& n : split(scale)) {
        const unsigned long v = std::strtoul(n.c_str(), nullptr, 10);
        if (v == 0 || v > 16'000'000) {
            std::cerr << "colo-bench: --scale-connections: '" << n << "' is not in 1..16000000\n";
            return EX_USAGE;
        }
        o.scale_connections.push_back(uint32_t(v));
    }
    keep = !workdir.empty();
    if (workdir.empty()) {
        char tmpl[] = "/tmp/colo-bench.XXXXXX";
        if (!::mkdtemp(tmpl)) {
            std::cerr << "colo-bench: cannot create a scratch directory\n";
            return EX_CANTCREAT;
        }
        workdir = tmpl;
    }
    std::filesystem::create_directories(workdir);
    if (!o.perf_dir.empty()) std::filesystem::create_directories(o.perf_dir);
    o.server.workdir = workdir;
    std::istringstream args(colo_graph_args);
    for (std::string a; args >> a;) o.server.colo_graph_args.push_back(a);
    o.server.compare_graph = o.source_dir + "/graphs/colo-compare.yaml";
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    Options o;
    bool keep = false;
    if (int rc = parse(argc, argv, o, keep)) return rc < 0 ? 0 : rc;

    const std::string qemu_version = first_output_line(o.server.qemu + " --version 2>/dev/null");
    if (qemu_version.empty() && has(o.servers, ServerKind::qemu)) {
        std::cout << "colo-bench: " << o.server.qemu << " not found: QEMU is left out\n";
        o.servers.erase(std::find(o.servers.begin(), o.servers.end(), ServerKind::qemu));
    }
    std::cout << "colo-bench: " << o.server.colo_graph << "; " << (qemu_version.empty() ? "no QEMU" : qemu_version)
              << "; scratch " << o.server.workdir << "\n";

    Targets targets;
    try {
        if (o.sections.count("throughput")) throughput_section(o, targets);
        if (o.sections.count("latency")) latency_section(o, targets);
        if (o.sections.count("memory")) memory_section(o, targets);
        if (o.sections.count("scale")) scale_section(o, targets);
        if (o.sections.count("replay")) replay_section(o, targets);
        if (o.sections.count("hops")) hops_section(o);
    } catch (const std::exception& e) {
        std::cerr << "colo-bench: " << e.what() << " (scratch files kept in " << o.server.workdir << ")\n";
        return EX_SOFTWARE;
    }
    section_header("targets");
    targets.print(std::cout);
    if (!keep) std::filesystem::remove_all(o.server.workdir);
    return 0;
}
