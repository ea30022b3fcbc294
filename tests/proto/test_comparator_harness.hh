// Drives a Comparator with frames from frames.hh and an explicit clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nodes/proto/compare.hh"
#include "tests/proto/frames.hh"

namespace colo::testing {

constexpr uint64_t kMs = 1'000'000;

using Frames = std::vector<std::vector<uint8_t>>;

// `n` connections that each saw one matched pair at time 1 (the first in
// line for eviction), then nothing; ports 0..n-1 to `dport`.
inline void add_idle_connections(Comparator& cmp, uint32_t n, uint16_t dport)
{
    CompareOutput out;
    frames::Endpoints idle;
    idle.dport = dport;
    for (uint32_t i = 0; i < n; ++i) {
        idle.sport = uint16_t(i);
        const auto frame = frames::udp(idle, "idle");
        cmp.primary(frames::packet(frame, 0, 1), 1, out);
        cmp.secondary(frames::packet(frame, 0, 1), 1, out);
    }
}

struct CompareHarness {
    Comparator cmp;
    CompareOutput out;
    uint64_t now = 1'000 * kMs;

    explicit CompareHarness(CompareConfig config = {}) : cmp(std::move(config)) {}

    void primary(const std::vector<uint8_t>& frame, uint32_t vnet_len = 0)
    {
        cmp.primary(frames::packet(frame, vnet_len), now, out);
    }
    void secondary(const std::vector<uint8_t>& frame, uint32_t vnet_len = 0)
    {
        cmp.secondary(frames::packet(frame, vnet_len), now, out);
    }
    // The same frame from both guests, primary first.
    void both(const std::vector<uint8_t>& frame)
    {
        primary(frame);
        secondary(frame);
    }
    void tick_at(uint64_t t)
    {
        now = t;
        cmp.tick(now, out);
    }

    // The bytes of the packets released so far, in order; clears them.
    Frames take_released()
    {
        Frames r;
        for (const Packet& p : out.released) r.emplace_back(p.data(), p.data() + p.len);
        out.released.clear();
        return r;
    }
    std::vector<CheckpointRequest> take_events()
    {
        auto e = std::move(out.events);
        out.events.clear();
        return e;
    }
    const CompareCounters& counters() const { return cmp.counters(); }
};

inline std::string text(const uint8_t* p, std::size_t n)
{
    return std::string(p, p + n);
}

// n bytes of "abc...zabc...", starting `from` letters in.
inline std::string pattern(std::size_t n, std::size_t from = 0)
{
    std::string s;
    for (std::size_t i = from; i < from + n; ++i) s += char('a' + i % 26);
    return s;
}

inline constexpr uint8_t kAck = tcpflag::ACK;

// Endpoints that differ only in the source port: one connection per port.
inline frames::Endpoints port(uint16_t sport)
{
    frames::Endpoints ep;
    ep.sport = sport;
    return ep;
}

} // namespace colo::testing
