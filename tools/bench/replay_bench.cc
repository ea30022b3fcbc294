#include "tools/bench/replay_bench.hh"

#include "engine/runtime.hh"
#include "nodes/io/buffered_file.hh"
#include "nodes/proto/checksum.hh"
#include "nodes/proto/frame_parse.hh"
#include "tools/bench/process.hh"

#include <pcap/pcap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace colo::bench {

namespace {

struct Record {
    timeval ts;
    std::vector<uint8_t> bytes;
};

std::vector<Record> read_all(const std::string& path)
{
    char err[PCAP_ERRBUF_SIZE];
    std::unique_ptr<pcap_t, decltype(&pcap_close)> p(pcap_open_offline(path.c_str(), err), pcap_close);
    if (!p) throw std::runtime_error(path + ": " + err);
    std::vector<Record> out;
    pcap_pkthdr* hdr;
    const u_char* data;
    while (pcap_next_ex(p.get(), &hdr, &data) == 1) out.push_back({hdr->ts, {data, data + hdr->caplen}});
    return out;
}

int64_t micros(const timeval& t)
{
    return int64_t(t.tv_sec) * 1'000'000 + t.tv_usec;
}

// Moves a TCP/UDP frame's ports up by `shift`, patching the checksum.
void shift_ports(std::vector<uint8_t>& f, uint16_t shift)
{
    const ParsedFrame p = parse_frame(f.data(), f.size(), 0);
    if (!(p.is_tcp() || p.is_udp())) return;
    uint8_t* l4 = f.data() + p.l4_off;
    uint8_t* sum = l4 + l4_checksum_field(p.l4_proto);
    uint16_t checksum = load_be16(sum);
    for (int i = 0; i < 2; ++i) {
        const uint16_t old_port = load_be16(l4 + 2 * i), new_port = uint16_t(old_port + shift);
        store_be16(l4 + 2 * i, new_port);
        checksum = checksum_update16(checksum, old_port, new_port);
    }
    if (!(p.is_udp() && load_be16(sum) == 0)) store_be16(sum, checksum); // UDP 0 = no checksum
}

uint64_t write_replicas(const std::vector<Record>& in, const std::string& path, unsigned replicas, int64_t period_us)
{
    std::unique_ptr<pcap_t, decltype(&pcap_close)> dead(pcap_open_dead(DLT_EN10MB, 262144), pcap_close);
    pcap_dumper_t* d = pcap_dump_open(dead.get(), path.c_str());
    if (!d) throw std::runtime_error(path + ": " + pcap_geterr(dead.get()));
    uint64_t n = 0;
    for (unsigned r = 0; r < replicas; ++r) {
        for (Record rec : in) {
            const int64_t t = micros(rec.ts) + int64_t(r) * period_us;
            rec.ts = {time_t(t / 1'000'000), suseconds_t(t % 1'000'000)};
            shift_ports(rec.bytes, uint16_t(r));
            pcap_pkthdr hdr{rec.ts, uint32_t(rec.bytes.size()), uint32_t(rec.bytes.size())};
            pcap_dump(reinterpret_cast<u_char*>(d), &hdr, rec.bytes.data());
            ++n;
        }
    }
    pcap_dump_close(d);
    return n;
}

uint64_t stats_packets_in(const std::string& log, const std::string& node)
{
    std::ifstream f(log);
    for (std::string line; std::getline(f, line);) {
        std::istringstream words(line);
        std::string name, type, calls, in;
        if (words >> name >> type >> calls >> in && name == node) return std::stoull(in);
    }
    return 0;
}

} // namespace

PcapFile write_generated_pcap(const std::string& path, uint64_t count, uint32_t frame_size, uint32_t flows)
{
    const std::string yaml = "nodes:\n  gen: { type: generator, count: " + std::to_string(count) +
                             ", size: " + std::to_string(frame_size) + ", flows: " + std::to_string(flows) +
                             " }\n  file: { type: pcap-sink, file: '" + path + "' }\nlinks:\n  - gen -> file\n";
    Diagnostics diags;
    const GraphDecl g = parse_graph(yaml, "generate.yaml", {}, diags);
    if (!diags.ok()) throw std::logic_error("write_generated_pcap: invalid graph");
    Runtime rt(g, RunOptions{});
    rt.run();
    return {path, count};
}

DemoCopy write_scaled_demo(const std::string& demo_data, const std::string& out_dir, unsigned replicas)
{
    const auto primary = read_all(demo_data + "/primary.pcap");
    const auto secondary = read_all(demo_data + "/secondary.pcap");
    if (primary.empty() || secondary.empty()) throw std::runtime_error(demo_data + ": empty demo capture");
    int64_t first = micros(primary.front().ts), last = first;
    for (const auto* v : {&primary, &secondary})
        for (const auto& r : *v) {
            first = std::min(first, micros(r.ts));
            last = std::max(last, micros(r.ts));
        }
    const int64_t period_us = last - first + 1000;
    std::filesystem::create_directories(out_dir + "/data");
    DemoCopy copy;
    copy.primary.path = out_dir + "/data/primary.pcap";
    copy.secondary.path = out_dir + "/data/secondary.pcap";
    copy.primary.packets = write_replicas(primary, copy.primary.path, replicas, period_us);
    copy.secondary.packets = write_replicas(secondary, copy.secondary.path, replicas, period_us);
    return copy;
}

RawRead raw_read(const std::vector<std::string>& files)
{
    RawRead r;
    const double t0 = monotonic_seconds(), cpu0 = thread_cpu_seconds();
    std::vector<char> buffer;
    for (const auto& path : files) {
        char err[PCAP_ERRBUF_SIZE];
        // Opened as pcap-source opens it, so the yardstick reads alike.
        FILE* f = fopen_buffered(path, "rb", buffer);
        if (!f) throw std::runtime_error(path + ": " + std::strerror(errno));
        pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
        if (!p) {
            std::fclose(f);
            throw std::runtime_error(path + ": " + err);
        }
        pcap_pkthdr* hdr;
        const u_char* data;
        while (pcap_next_ex(p, &hdr, &data) == 1) ++r.packets;
        pcap_close(p);
    }
    r.seconds = monotonic_seconds() - t0;
    r.cpu_s = thread_cpu_seconds() - cpu0;
    return r;
}

ReplayRun run_replay(const std::string& colo_graph, const std::string& graph, const std::vector<std::string>& sets,
                     const std::string& count_node, const std::string& log_path, const std::string& perf_data)
{
    std::vector<std::string> argv;
    if (!perf_data.empty())
        argv = {"perf", "record", "-q", "-e", "cpu-clock", "--call-graph", "fp", "-o", perf_data, "--"};
    argv.insert(argv.end(), {colo_graph, "run", graph, "--stats"});
    for (const auto& s : sets) argv.insert(argv.end(), {"--set", s});
    ::unlink(log_path.c_str());
    ReplayRun r;
    const double t0 = monotonic_seconds();
    const pid_t pid = spawn(argv, log_path);
    rusage usage{};
    r.exit_status = wait_process(pid, usage);
    r.seconds = monotonic_seconds() - t0;
    r.cpu_s = double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
              double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
    r.released = stats_packets_in(log_path, count_node);
    return r;
}

std::string write_mirror_compare_graph(const std::string& dir)
{
    const std::string path = dir + "/mirror-compare.yaml";
    std::ofstream(path) << "description: every packet compared with its own mirror copy\n"
                           "variables: { file: '' }\n"
                           "nodes:\n"
                           "  capture:  { type: pcap-source, file: '${file}' }\n"
                           "  mirror:   { type: mirror }\n"
                           "  compare:  { type: comparator }\n"
                           "  released: { type: null-sink }\n"
                           "links:\n"
                           "  - capture -> mirror\n"
                           "  - mirror.out -> compare.primary\n"
                           "  - mirror.mirror -> compare.secondary\n"
                           "  - compare.out -> released\n";
    return path;
}

std::string write_read_only_graph(const std::string& dir)
{
    const std::string path = dir + "/read-only.yaml";
    std::ofstream(path) << "description: the engine's pcap read floor, no processing\n"
                           "variables: { file: '' }\n"
                           "nodes:\n"
                           "  capture:  { type: pcap-source, file: '${file}' }\n"
                           "  released: { type: null-sink }\n"
                           "links:\n"
                           "  - capture -> released\n";
    return path;
}

std::string write_read_ahead_copy(const std::string& graph, const std::string& out)
{
    std::ifstream in(graph);
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    const std::string from = "type: pcap-source, ", to = "type: pcap-source, read_ahead: true, ";
    std::size_t sources = 0;
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()), ++sources)
        s.replace(at, from.size(), to);
    if (sources == 0) throw std::runtime_error(graph + ": no '" + from + "' to read ahead");
    std::ofstream(out) << s;
    return out;
}

} // namespace colo::bench
