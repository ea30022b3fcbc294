// Micro-benchmarks of the engine: pooled buffers and the cost of a
// flow-graph hop at several batch sizes.
#include "engine/packet.hh"
#include "tools/bench/engine_bench.hh"

#include <benchmark/benchmark.h>

#include <vector>

using namespace colo;

namespace {

void BM_BufferPoolTakeGive(benchmark::State& state)
{
    for (auto _ : state) benchmark::DoNotOptimize(Packet::with_capacity(uint32_t(state.range(0))));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BufferPoolTakeGive)->ArgName("capacity")->Arg(1514)->Arg(65536);

// A batch's worth taken, then given back: the thread cache trades with the
// shared free list in bulk.
void BM_BufferPoolBatch(benchmark::State& state)
{
    const auto n = std::size_t(state.range(0));
    std::vector<Packet> held;
    held.reserve(n);
    for (auto _ : state) {
        for (std::size_t i = 0; i < n; ++i) held.push_back(Packet::with_capacity(1514));
        held.clear();
    }
    state.SetItemsProcessed(state.iterations() * int64_t(n));
}
BENCHMARK(BM_BufferPoolBatch)->ArgName("batch")->Arg(256)->Arg(2048);

// generator -> HOPS pass-through nodes -> null-sink in replay mode; ns_per_pkt
// is the whole chain's cost per packet, generator included.
void BM_EngineChain(benchmark::State& state)
{
    const auto hops = unsigned(state.range(0));
    const auto batch = std::size_t(state.range(1));
    const uint64_t packets = batch == 1 ? 100'000 : 1'000'000;
    double total = 0;
    for (auto _ : state) {
        const bench::ChainTiming t = bench::run_chain(packets, hops, batch, true, 1);
        if (t.stalled) {
            state.SkipWithError("the engine stalled");
            break;
        }
        state.SetIterationTime(t.seconds);
        total += t.seconds;
    }
    state.SetItemsProcessed(state.iterations() * int64_t(packets));
    state.counters["ns_per_pkt"] = total * 1e9 / double(state.iterations() * packets);
}
BENCHMARK(BM_EngineChain)
    ->ArgNames({"hops", "batch"})
    ->ArgsProduct({{0, 8}, {1, 16, 256}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

} // namespace
