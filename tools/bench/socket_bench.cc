#include "tools/bench/socket_bench.hh"

#include "tools/bench/process.hh"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <optional>

namespace colo::bench {

namespace {

constexpr double kStallSeconds = 3;

double percentile(const std::vector<int64_t>& sorted_ns, double q)
{
    if (sorted_ns.empty()) return 0;
    const std::size_t i = std::min(sorted_ns.size() - 1, std::size_t(q * double(sorted_ns.size())));
    return double(sorted_ns[i]) * 1e-3;
}

// `perf record` attached to a running process, stopped (and its file
// written) when this goes out of scope.
class PerfRecording {
public:
    PerfRecording(pid_t target, const std::string& output)
    {
        pid_ = spawn({"perf", "record", "-q", "-e", "cpu-clock", "--call-graph", "fp", "-p", std::to_string(target),
                      "-o", output},
                     output + ".log");
        ::usleep(300'000); // let perf attach before the traffic starts
    }
    ~PerfRecording() { stop_process(pid_, SIGINT, std::chrono::seconds(30)); }

private:
    pid_t pid_;
};

// Writes chunks [first, end) of `workload`, never more than `window` pairs
// ahead of the releases; `pairs` counts the pairs written (all chunks so far).
// False when the releases stalled.
bool drive(PairClient& client, const Workload& workload, uint32_t window, uint64_t first, uint64_t end, uint64_t& pairs)
{
    const uint64_t chunk = workload.chunk_pairs();
    std::vector<uint8_t> primary, secondary;
    for (uint64_t c = first; c < end; ++c) {
        const uint64_t after = pairs + chunk;
        if (after > window && client.released() < after - window &&
            !client.wait_released(after - window, kStallSeconds))
            return false;
        workload.fill(c, primary, secondary);
        client.write_primary(primary);
        client.write_secondary(secondary);
        pairs = after;
    }
    return client.wait_released(pairs, kStallSeconds);
}

} // namespace

ThroughputResult run_throughput(ServerKind kind, const ServerConfig& config, const Workload& workload, uint32_t window,
                                const std::string& perf_data)
{
    Server server(kind, config);
    server.start();
    PairClient client(server.primary_in(), server.secondary_in(), server.outdev(), workload, false);
    client.warm_up();
    std::optional<PerfRecording> perf;
    if (!perf_data.empty()) perf.emplace(server.pid(), perf_data);

    ThroughputResult r;
    const double cpu0 = process_cpu_seconds(server.pid());
    const double writer0 = thread_cpu_seconds();
    const double t0 = monotonic_seconds();
    r.stalled = !drive(client, workload, window, 0, workload.chunks(), r.pairs);
    r.server_cpu_s = process_cpu_seconds(server.pid()) - cpu0;
    r.writer_cpu_s = thread_cpu_seconds() - writer0;
    perf.reset();
    r.tally = client.finish();
    r.seconds = r.tally.last_frame_s - t0;
    r.stop_fault = server.stop();
    return r;
}

ScaleResult run_scale(const ServerConfig& base_config, uint32_t connections, uint64_t pairs, uint32_t window)
{
    ServerConfig config = base_config;
    // Room for every flow and the warm-up's, so that none is evicted.
    config.max_connections = std::max<uint32_t>(65536, connections + 16);
    Server server(ServerKind::colo_graph, config);
    server.start();
    const UdpPairs workload(64, connections, uint64_t(connections) + pairs, 32);
    const uint64_t open_chunks = (connections + workload.chunk_pairs() - 1) / workload.chunk_pairs();
    PairClient client(server.primary_in(), server.secondary_in(), server.outdev(), workload, false);
    client.warm_up();

    ScaleResult r;
    r.connections = connections;
    r.base_kib = process_memory_kib(server.pid(), "VmRSS");
    uint64_t written = 0;
    const double open0 = monotonic_seconds();
    r.stalled = !drive(client, workload, window, 0, open_chunks, written);
    r.open_s = monotonic_seconds() - open0;
    // Two scans later every queue went idle and gave its ring back.
    ::usleep(2'200'000);
    r.idle_kib = process_memory_kib(server.pid(), "VmRSS");

    const double cpu0 = process_cpu_seconds(server.pid());
    const double t0 = monotonic_seconds();
    const uint64_t opened = written;
    if (!r.stalled) r.stalled = !drive(client, workload, window, open_chunks, workload.chunks(), written);
    r.server_cpu_s = process_cpu_seconds(server.pid()) - cpu0;
    r.peak_kib = process_memory_kib(server.pid(), "VmHWM");
    const ReleaseTally tally = client.finish();
    r.pairs = written - opened;
    r.seconds = tally.last_frame_s - t0;
    r.lost = written - tally.distinct;
    r.inversions = tally.inversions;
    r.stop_fault = server.stop();
    return r;
}

LatencyResult run_latency(ServerKind kind, const ServerConfig& config, uint32_t frame_size, uint64_t pairs, double rate)
{
    Server server(kind, config);
    server.start();
    const UdpPairs workload(frame_size, 1, pairs, 1);
    PairClient client(server.primary_in(), server.secondary_in(), server.outdev(), workload, true);
    client.warm_up();

    std::vector<uint8_t> record;
    timespec next;
    ::clock_gettime(CLOCK_MONOTONIC, &next);
    const long period_ns = long(1e9 / rate);
    for (uint64_t i = 0; i < pairs; ++i) {
        next.tv_nsec += period_ns;
        while (next.tv_nsec >= 1'000'000'000) {
            next.tv_nsec -= 1'000'000'000;
            ++next.tv_sec;
        }
        ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
        record.clear();
        workload.record(i, record);
        if (releases_on_primary(kind)) client.stamp(i);
        client.write_primary(record);
        if (!releases_on_primary(kind)) client.stamp(i);
        client.write_secondary(record);
    }
    client.wait_released(pairs, kStallSeconds);
    ReleaseTally tally = client.finish();

    LatencyResult r;
    r.stop_fault = server.stop();
    r.inversions = tally.inversions;
    std::vector<int64_t> lat;
    // The first 1% are a warm-up (caches, thread wake-up patterns).
    for (uint64_t i = pairs / 100; i < pairs; ++i) {
        if (tally.latency_ns[i] < 0) ++r.missing;
        else lat.push_back(tally.latency_ns[i]);
    }
    std::sort(lat.begin(), lat.end());
    r.samples = lat.size();
    r.p50_us = percentile(lat, 0.50);
    r.p99_us = percentile(lat, 0.99);
    r.p999_us = percentile(lat, 0.999);
    r.max_us = lat.empty() ? 0 : double(lat.back()) * 1e-3;
    return r;
}

MemoryResult run_memory(ServerKind kind, const ServerConfig& config, uint32_t connections)
{
    Server server(kind, config);
    server.start();
    const UdpPairs workload(64, connections, connections, connections);
    PairClient client(server.primary_in(), server.secondary_in(), server.outdev(), workload, false);
    client.warm_up();
    ::usleep(200'000);

    MemoryResult r;
    r.base_kib = process_memory_kib(server.pid(), "VmRSS");
    std::vector<uint8_t> primary, secondary;
    workload.fill(0, primary, secondary);
    client.write_primary(primary);
    ::usleep(500'000); // the server reads and queues them (well under compare_timeout)
    r.held_kib = process_memory_kib(server.pid(), "VmRSS");
    client.write_secondary(secondary);
    client.wait_released(connections, kStallSeconds);
    ::usleep(200'000);
    r.idle_kib = process_memory_kib(server.pid(), "VmRSS");
    r.peak_kib = process_memory_kib(server.pid(), "VmHWM");
    r.released = client.finish().distinct;
    r.stop_fault = server.stop();
    return r;
}

} // namespace colo::bench
