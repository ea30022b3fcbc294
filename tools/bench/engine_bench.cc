#include "tools/bench/engine_bench.hh"

#include "engine/runtime.hh"
#include "nodes/proto/compare.hh"
#include "tools/bench/process.hh"
#include "tools/bench/workload.hh"

#include <malloc.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace colo::bench {

GraphDecl pass_through_chain(uint64_t count, uint32_t frame_size, unsigned hops)
{
    std::string yaml = "nodes:\n  gen: { type: generator, count: " + std::to_string(count) +
                       ", size: " + std::to_string(frame_size) + " }\n  sink: { type: null-sink }\n";
    for (unsigned i = 0; i < hops; ++i) yaml += "  hop" + std::to_string(i) + ": { type: redirector, status: 'off' }\n";
    yaml += "links:\n";
    std::string from = "gen.out";
    for (unsigned i = 0; i < hops; ++i) {
        yaml += "  - " + from + " -> hop" + std::to_string(i) + ".in\n";
        from = "hop" + std::to_string(i) + ".out";
    }
    yaml += "  - " + from + " -> sink\n";
    Diagnostics diags;
    GraphDecl g = parse_graph(yaml, "pass-through-chain.yaml", {}, diags);
    if (!diags.ok()) throw std::logic_error("pass_through_chain: invalid graph");
    return g;
}

ChainTiming run_chain(uint64_t count, unsigned hops, std::size_t batch, bool deterministic, unsigned threads)
{
    RunOptions options;
    options.batch_size = batch;
    options.mode = deterministic ? RunMode::replay : RunMode::live;
    options.threads = threads;
    Runtime rt(pass_through_chain(count, 64, hops), options);
    // A run that stops making progress is reported, not waited for forever.
    std::mutex mu;
    std::condition_variable cv;
    bool finished = false, stalled = false;
    std::thread watchdog([&] {
        std::unique_lock lock(mu);
        if (!cv.wait_for(lock, kChainStallLimit, [&] { return finished; })) {
            stalled = true;
            rt.stop();
        }
    });
    const double t0 = monotonic_seconds(), cpu0 = process_cpu_seconds();
    rt.run();
    const ChainTiming t{monotonic_seconds() - t0, process_cpu_seconds() - cpu0, stalled};
    {
        std::lock_guard lock(mu);
        finished = true;
    }
    cv.notify_one();
    watchdog.join();
    if (!t.stalled && rt.node("sink")->counter(0) != count) throw std::runtime_error("pass-through chain lost packets");
    return t;
}

IdleConnectionCost measure_idle_connections(uint32_t connections)
{
    const UdpPairs workload(64, connections, connections, connections);
    std::vector<Packet> frames;
    {
        std::vector<uint8_t> record;
        for (uint32_t i = 0; i < connections; ++i) {
            record.clear();
            workload.record(i, record);
            frames.push_back(Packet::copy_of(record.data() + 4, uint32_t(record.size() - 4)));
        }
    }
    // Take and give back twice as many buffers as the run needs, so the
    // pool's growth is not counted as connection state.
    {
        std::vector<Packet> warm;
        for (uint32_t i = 0; i < 2 * connections; ++i) warm.push_back(Packet::with_capacity(64));
    }
    CompareOutput out;
    out.released.reserve(connections);
    // Likewise the queues' spare rings (a fixed 1024 per thread): fill them
    // with a scratch comparator's, so that they are not counted either.
    {
        Comparator scratch{CompareConfig{}};
        const uint32_t n = std::min<uint32_t>(connections, 2048);
        for (uint32_t i = 0; i < n; ++i) scratch.primary(Packet::copy_of(frames[i].data(), frames[i].len), 1, out);
        for (uint32_t i = 0; i < n; ++i) scratch.secondary(Packet::copy_of(frames[i].data(), frames[i].len), 2, out);
        out.released.clear();
    }
    Comparator comparator{CompareConfig{}};
    // Small chunks plus mmapped ones: the connection slab grows past the mmap threshold.
    const auto heap = [] {
        const auto m = mallinfo2();
        return double(m.uordblks + m.hblkhd);
    };
    const double base = heap();

    IdleConnectionCost cost;
    for (uint32_t i = 0; i < connections; ++i)
        comparator.primary(Packet::copy_of(frames[i].data(), frames[i].len), 1, out);
    cost.held_heap_bytes_per_connection = (heap() - base) / connections;
    for (uint32_t i = 0; i < connections; ++i)
        comparator.secondary(Packet::copy_of(frames[i].data(), frames[i].len), 2, out);
    if (out.released.size() != connections) throw std::runtime_error("comparator did not release every pair");
    out.released.clear();
    // Idle: after a scan cycle with empty queues the comparator gives the
    // queues' storage back; well before idle_timeout forgets the connection.
    for (uint64_t t = 1; t <= 3; ++t) comparator.tick(t * 1'000'000'000ull + 2, out);
    cost.heap_bytes_per_connection = (heap() - base) / connections;
    cost.connections = comparator.counters().connections_active;
    return cost;
}

} // namespace colo::bench
