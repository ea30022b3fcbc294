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
    const uint64_t chunk = workload.chunk_pairs();
    std::vector<uint8_t> primary, secondary;
    const double cpu0 = process_cpu_seconds(server.pid());
    const double writer0 = thread_cpu_seconds();
    const double t0 = monotonic_seconds();
    for (uint64_t c = 0; c < workload.chunks() && !r.stalled; ++c) {
        const uint64_t after = r.pairs + chunk;
        if (after > window && client.released() < after - window)
            r.stalled = !client.wait_released(after - window, kStallSeconds);
        if (r.stalled) break;
        workload.fill(c, primary, secondary);
        client.write_primary(primary);
        client.write_secondary(secondary);
        r.pairs = after;
    }
    if (!r.stalled) r.stalled = !client.wait_released(r.pairs, kStallSeconds);
    r.server_cpu_s = process_cpu_seconds(server.pid()) - cpu0;
    r.writer_cpu_s = thread_cpu_seconds() - writer0;
    perf.reset();
    r.tally = client.finish();
    r.seconds = r.tally.last_frame_s - t0;
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
        // The relay releases on the primary, the comparators on the secondary.
        if (kind == ServerKind::relay) client.stamp(i);
        client.write_primary(record);
        if (kind != ServerKind::relay) client.stamp(i);
        client.write_secondary(record);
    }
    client.wait_released(pairs, kStallSeconds);
    ReleaseTally tally = client.finish();

    LatencyResult r;
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
    return r;
}

} // namespace colo::bench
