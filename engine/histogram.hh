// Histogram: a latency distribution a node records from its serial context
// and any thread reads, in Prometheus's shape (cumulative buckets, count and
// sum), so that the metrics endpoint and `ctl stats` expose it as is.
//
// Every histogram shares one bucket layout, 50 us to 10 s: the durations a
// COLO proxy measures (how long a packet is held, how long a checkpoint
// takes) span that range, and a fixed layout keeps a record to a few
// compares and two stores.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace colo {

// Upper bounds of the buckets, in nanoseconds; a last, implicit bucket is +Inf.
inline constexpr std::array<uint64_t, 17> kLatencyBoundsNs{
    50'000,      100'000,       250'000,       500'000,       1'000'000,     2'500'000,
    5'000'000,   10'000'000,    25'000'000,    50'000'000,    100'000'000,   250'000'000,
    500'000'000, 1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

struct HistogramSnapshot {
    std::vector<uint64_t> cumulative; // per bound of kLatencyBoundsNs, then +Inf (= count)
    uint64_t count = 0;
    uint64_t sum_ns = 0;
};

class Histogram {
public:
    // One writer (the node's serial body): plain loads and stores, no locked
    // read-modify-write; readers on other threads see whole values.
    void record(uint64_t ns)
    {
        std::size_t i = 0;
        while (i < kLatencyBoundsNs.size() && ns > kLatencyBoundsNs[i]) ++i;
        bump(buckets_[i], 1);
        bump(sum_ns_, ns);
        bump(count_, 1); // last: a reader that sees the count sees its bucket
    }

    HistogramSnapshot snapshot() const
    {
        HistogramSnapshot s;
        s.count = count_.load(std::memory_order_acquire);
        uint64_t running = 0;
        for (const auto& b : buckets_) s.cumulative.push_back(running += b.load(std::memory_order_relaxed));
        s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
        // A record in progress may show in its bucket before the count: keep
        // the snapshot consistent (+Inf equals the count) as Prometheus expects.
        for (auto& c : s.cumulative) c = c < s.count ? c : s.count;
        s.cumulative.back() = s.count;
        return s;
    }

private:
    static void bump(std::atomic<uint64_t>& a, uint64_t n)
    {
        a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_release);
    }
    std::array<std::atomic<uint64_t>, kLatencyBoundsNs.size() + 1> buckets_{};
    std::atomic<uint64_t> count_{0}, sum_ns_{0};
};

} // namespace colo
