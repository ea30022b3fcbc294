// Comparator::arrive_batch(): a batch handled with its look-ahead (parse and
// prefetch a few packets early) gives exactly what primary() / secondary() one
// packet at a time give, in the same order, however the table changes within
// the batch (new connections, eviction, queue_full, mismatches); and so does a
// batch whose packets it takes instead of sharing.
#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tests/proto/test_comparator_harness.hh"

using namespace colo;
using namespace colo::testing;
using frames::Endpoints;

namespace {

// What a run leaves behind, packet by packet.
struct Trace {
    std::vector<std::size_t> released_after, events_after; // totals after each packet, in arrival order
    std::vector<uint64_t> done_ts;                         // the packets done() saw (batch mode only)
    Frames released;
    std::vector<uint64_t> released_ts;
    std::vector<std::string> events;
    std::vector<uint64_t> counters;
    std::vector<std::string> connections;
};

struct Workload {
    std::vector<std::vector<Packet>> batches; // alternately primary, secondary
};

Packet at(const std::vector<uint8_t>& frame, uint64_t ts)
{
    return frames::packet(frame, 0, ts);
}

// 60 UDP flows over 40 tracked connections beyond the idle ones (eviction
// within a batch), queues of 3 (queue_full), a divergent pair, TCP with a SYN,
// an ARP frame, a bypassed flow and IPv6; batches of 1 to 33 packets, shorter
// and longer than the look-ahead.
Workload make_workload()
{
    Workload w;
    uint64_t ts = 1'000 * kMs, rng = 12345;
    const auto next = [&] { return (rng = rng * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
    const std::size_t sizes[] = {1, 2, 5, 6, 9, 33, 4, 17};
    for (int round = 0; round < 40; ++round) {
        const std::size_t n = sizes[round % std::size(sizes)];
        std::vector<Packet> primary, secondary;
        for (std::size_t i = 0; i < n; ++i) {
            ++ts;
            const uint64_t r = next();
            Endpoints ep;
            ep.sport = uint16_t(1000 + r % 60);
            std::vector<uint8_t> frame, twin;
            switch (r % 11) {
            case 0: frame = twin = frames::tcp(ep, 100, 0, tcpflag::SYN, ""); break;
            case 1: frame = twin = frames::arp_request(); break;
            case 2:
                ep.dport = 53; // bypassed
                frame = twin = frames::udp(ep, "dns");
                break;
            case 3:
                ep.ip_version = 6;
                ep.src = "fe80::1";
                ep.dst = "fe80::2";
                frame = twin = frames::udp(ep, "six");
                break;
            case 4:
                frame = frames::udp(ep, "left");
                twin = frames::udp(ep, "right"); // mismatch
                break;
            default: frame = twin = frames::udp(ep, "pair " + std::to_string(r % 5));
            }
            primary.push_back(at(frame, ts));
            if (r % 7 != 0) secondary.push_back(at(twin, ts + 1)); // some primaries wait
        }
        Endpoints stuck; // its secondary never answers: its queue fills
        stuck.sport = 999;
        primary.insert(primary.begin() + std::ptrdiff_t(n / 2), at(frames::udp(stuck, "waits"), ts));
        w.batches.push_back(std::move(primary));
        w.batches.push_back(std::move(secondary));
    }
    return w;
}

// How run() hands over the packets: one by one, or in batches whose packets
// the comparator shares (a const span) or takes (a mutable span).
enum class Feed { one_by_one, batch_shared, batch_taken };

Trace run(const Workload& w, Feed feed, uint32_t idle_connections)
{
    CompareConfig config;
    config.max_connections = idle_connections + 40;
    config.max_queue_size = 3;
    config.report_history = 16;
    config.bypass.push_back(BypassRule::parse("udp port 53"));
    Comparator cmp(config);
    add_idle_connections(cmp, idle_connections, 7);
    CompareOutput out;
    Trace t;
    const auto after_one = [&] {
        t.released_after.push_back(out.released.size());
        t.events_after.push_back(out.events.size());
    };
    for (std::size_t b = 0; b < w.batches.size(); ++b) {
        const CompareSide side = b % 2 == 0 ? CompareSide::primary : CompareSide::secondary;
        const std::vector<Packet>& batch = w.batches[b];
        const auto done = [&](const Packet& p) {
            t.done_ts.push_back(p.ts_ns);
            after_one();
        };
        if (feed == Feed::batch_shared) {
            cmp.arrive_batch(side, std::span<const Packet>(batch), out, done);
        } else if (feed == Feed::batch_taken) {
            std::vector<Packet> own = batch; // this copy's references are the comparator's to take
            cmp.arrive_batch(side, std::span<Packet>(own), out, done);
            for (const Packet& p : own) REQUIRE_FALSE(p.buf); // taken, not shared
        } else {
            for (const Packet& p : batch) {
                if (side == CompareSide::primary) cmp.primary(p, p.ts_ns, out);
                else cmp.secondary(p, p.ts_ns, out);
                after_one();
            }
        }
        if (b % 10 == 9) cmp.checkpoint_done(out);
    }
    for (const Packet& p : out.released) {
        t.released.emplace_back(p.data(), p.data() + p.len);
        t.released_ts.push_back(p.ts_ns);
    }
    for (const CheckpointRequest& e : out.events)
        t.events.push_back(std::string(to_string(e.reason)) + " " + to_string(e.side) + " " + e.flow.to_string() + " " +
                           std::to_string(e.time_ns));
    for (const CounterInfo& info : compare_counter_info()) t.counters.push_back(cmp.counters().*info.field);
    for (const ConnectionReport& c : cmp.report())
        t.connections.push_back(c.key.to_string() + (c.active ? " active " : " gone ") +
                                std::to_string(c.primary_packets) + "/" + std::to_string(c.matched_packets));
    return t;
}

} // namespace

TEST_CASE("compare: a batch gives what its packets one by one give", "[compare]")
{
    // A small table (packets one by one) and a large one (the look-ahead).
    const uint32_t idle = GENERATE(0u, Comparator::kLookAheadFrom);
    CAPTURE(idle);
    const Workload w = make_workload();
    const Feed feed = GENERATE(Feed::batch_shared, Feed::batch_taken);
    CAPTURE(feed == Feed::batch_taken);
    const Trace one = run(w, Feed::one_by_one, idle), batch = run(w, feed, idle);

    // The workload reaches what it is meant to.
    const std::vector<uint64_t>& c = one.counters;
    const auto counter = [&](const char* name) {
        std::size_t i = 0;
        for (const CounterInfo& info : compare_counter_info()) {
            if (std::string(info.name) == name) return c.at(i);
            ++i;
        }
        FAIL("no counter " << name);
        return uint64_t(0);
    };
    CHECK(counter("released_matched") > 50);
    CHECK(counter("mismatches") > 0);
    CHECK(counter("released_bypass") > 0);
    CHECK(counter("released_unsupported") > 0);
    CHECK(counter("primary_lost_queue_full") + counter("secondary_dropped_queue_full") > 0);
    CHECK(counter("connections_evicted") > 0);

    CHECK(batch.released_after == one.released_after);
    CHECK(batch.events_after == one.events_after);
    CHECK(batch.released == one.released);
    CHECK(batch.released_ts == one.released_ts);
    CHECK(batch.events == one.events);
    CHECK(batch.counters == one.counters);
    CHECK(batch.connections == one.connections);
    // done() once per packet, in order.
    std::vector<uint64_t> all_ts;
    for (const auto& b : w.batches)
        for (const Packet& p : b) all_ts.push_back(p.ts_ns);
    CHECK(batch.done_ts == all_ts);
}
