// A packet byte-identical to a waiting packet of the other side is matched
// without being parsed or looked up (Comparator::meets_waiting_twin()), a
// secondary that meets its primary as a primary that meets its secondary.
// That shortcut must decide nothing the full path would decide otherwise: a
// workload whose secondaries are exact twins gives what the same workload
// gives when every secondary differs from its primary only outside the
// compared bytes (a virtio-net header in front, and its IP TTL or hop limit),
// which the shortcut never takes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tests/proto/test_comparator_harness.hh"

using namespace colo;
using namespace colo::testing;
using frames::Endpoints;

namespace {

struct Step {
    enum Kind { primaries, secondaries, tick, checkpoint } kind;
    std::vector<Packet> packets;
    uint64_t now = 0;
};

// 24 UDP flows (IPv4 and IPv6) and 2 TCP streams over up to 20 connections
// (eviction), queues of 6 (queue_full); secondaries mostly in the primaries'
// order, sometimes swapped with the next, late, missing, doubled or
// different, and in a quarter of the rounds before their primaries;
// timeouts and checkpoints between batches.
std::vector<Step> make_workload(bool twins_identical)
{
    std::vector<Step> steps;
    uint64_t ts = 1'000 * kMs, rng = 777;
    const auto next = [&] { return (rng = rng * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
    uint32_t tcp_seq[2] = {1000, 5000};
    Endpoints changed; // what the secondaries' frames change, when they do
    changed.ttl = twins_identical ? 64 : 63;
    changed.vnet_len = twins_identical ? 0 : 12;
    std::vector<std::vector<uint8_t>> late; // secondaries held back to a later batch
    for (int round = 0; round < 300; ++round) {
        const std::size_t n = 1 + next() % 12;
        Step primary{Step::primaries, {}, 0}, secondary{Step::secondaries, {}, 0};
        std::vector<std::vector<uint8_t>> twins;
        for (std::size_t i = 0; i < n; ++i) {
            const uint64_t r = next();
            Endpoints ep;
            ep.sport = uint16_t(2000 + r % 24);
            if (r % 5 == 0) {
                ep.ip_version = 6;
                ep.src = "fe80::1";
                ep.dst = "fe80::2";
            }
            std::vector<uint8_t> frame, twin;
            const std::string payload = "datagram " + std::to_string(r % 4);
            if (r % 13 == 0) {
                const int s = int(r / 13 % 2);
                ep.sport = uint16_t(40000 + s);
                const std::string data = "segment " + std::to_string(tcp_seq[s]);
                frame = frames::tcp(ep, tcp_seq[s], 1, tcpflag::ACK, data);
                Endpoints other = ep;
                other.ttl = changed.ttl;
                other.vnet_len = changed.vnet_len;
                twin = frames::tcp(other, tcp_seq[s], 1, tcpflag::ACK, data);
                tcp_seq[s] += uint32_t(data.size());
            } else {
                frame = frames::udp(ep, payload);
                Endpoints other = ep;
                other.ttl = changed.ttl;
                other.vnet_len = changed.vnet_len;
                twin = frames::udp(other, r % 29 == 0 ? "datagram X" : payload); // same length, other bytes
            }
            primary.packets.push_back(frames::packet(frame, 0, ++ts));
            if (r % 17 == 0) continue;             // never answered
            if (r % 19 == 0) late.push_back(twin); // answered a batch later
            else twins.push_back(twin);
            if (r % 23 == 0) twins.push_back(twin); // answered twice
        }
        for (std::size_t i = 0; i + 1 < twins.size(); ++i)
            if (next() % 6 == 0) std::swap(twins[i], twins[i + 1]);
        if (round % 3 == 0) {
            twins.insert(twins.begin(), late.begin(), late.end());
            late.clear();
        }
        for (const auto& t : twins) secondary.packets.push_back(frames::packet(t, changed.vnet_len, ++ts));
        if (round % 4 == 1) std::swap(primary, secondary);
        steps.push_back(std::move(primary));
        steps.push_back(std::move(secondary));
        if (round % 11 == 10) steps.push_back(Step{Step::tick, {}, ts += 4'000 * kMs}); // past compare_timeout
        if (round % 37 == 36) steps.push_back(Step{Step::checkpoint, {}, 0});
    }
    return steps;
}

struct Trace {
    std::vector<std::size_t> released_after; // after each step
    Frames released;
    std::vector<std::string> events;
    std::vector<uint64_t> counters;
    std::vector<std::string> connections;
};

Trace run(const std::vector<Step>& steps, bool batches, uint32_t idle_connections)
{
    CompareConfig config;
    config.max_connections = idle_connections + 20;
    config.max_queue_size = 6;
    config.report_history = 64;
    Comparator cmp(config);
    add_idle_connections(cmp, idle_connections, 9);
    CompareOutput out;
    Trace t;
    for (const Step& s : steps) {
        if (s.kind == Step::tick) cmp.tick(s.now, out);
        else if (s.kind == Step::checkpoint) cmp.checkpoint_done(out);
        else {
            const CompareSide side = s.kind == Step::primaries ? CompareSide::primary : CompareSide::secondary;
            if (batches) {
                std::vector<Packet> own = s.packets;
                cmp.arrive_batch(side, std::span<Packet>(own), out, [](const Packet&) {});
            } else {
                for (const Packet& p : s.packets) {
                    if (side == CompareSide::primary) cmp.primary(p, p.ts_ns, out);
                    else cmp.secondary(p, p.ts_ns, out);
                }
            }
        }
        t.released_after.push_back(out.released.size());
    }
    for (const Packet& p : out.released) t.released.emplace_back(p.data(), p.data() + p.len);
    for (const CheckpointRequest& e : out.events)
        t.events.push_back(std::string(to_string(e.reason)) + " " + to_string(e.side) + " " + e.flow.to_string() + " " +
                           std::to_string(e.time_ns));
    for (const CounterInfo& info : compare_counter_info()) t.counters.push_back(cmp.counters().*info.field);
    for (const ConnectionReport& c : cmp.report()) {
        std::string line = c.key.to_string() + (c.active ? " active " : " gone ");
        for (uint64_t v :
             {c.primary_packets, c.primary_bytes, c.secondary_packets, c.secondary_bytes, c.matched_packets,
              c.matched_bytes, uint64_t(c.queued_primary), uint64_t(c.queued_secondary)})
            line += std::to_string(v) + " ";
        if (c.first_divergence) line += "diverged at " + std::to_string(c.first_divergence->offset);
        t.connections.push_back(line);
    }
    return t;
}

uint64_t counter(const Trace& t, const char* name)
{
    std::size_t i = 0;
    for (const CounterInfo& info : compare_counter_info()) {
        if (std::string(info.name) == name) return t.counters.at(i);
        ++i;
    }
    FAIL("no counter " << name);
    return 0;
}

} // namespace

TEST_CASE("compare: identical secondaries give what secondaries differing outside the compared bytes give", "[compare]")
{
    const uint32_t idle = GENERATE(0u, Comparator::kLookAheadFrom); // one by one, and the look-ahead
    const bool batches = GENERATE(false, true);
    CAPTURE(idle, batches);
    const Trace twins = run(make_workload(true), batches, idle), others = run(make_workload(false), batches, idle);

    // The workload reaches what it is meant to.
    CHECK(counter(twins, "released_matched") > 500);
    CHECK(counter(twins, "mismatches") > 0);
    CHECK(counter(twins, "timeouts") > 0);
    CHECK(counter(twins, "released_flush") > 0);
    CHECK(counter(twins, "primary_lost_queue_full") > 0);
    CHECK(counter(twins, "connections_evicted") > 0);

    CHECK(twins.released_after == others.released_after);
    CHECK(twins.released == others.released);
    CHECK(twins.events == others.events);
    CHECK(twins.counters == others.counters);
    CHECK(twins.connections == others.connections);
}

TEST_CASE("compare: a twin of a later primary of its flow is not matched ahead of the first", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    const auto first = frames::udp(ep, "pair 1"), second = frames::udp(ep, "pair 2"); // the same length
    h.primary(first);
    h.primary(second);
    h.secondary(second); // identical to a waiting primary, but not to the one it must answer
    CHECK(h.take_released().empty());
    CHECK(h.counters().mismatches == 1);
    CHECK(h.counters().queued_secondary == 1);
}

TEST_CASE("compare: the same bytes behind another virtio-net header length are not a twin", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    const auto frame = frames::udp(ep, "pair 1");
    h.primary(frame);
    h.secondary(frame, 12); // a 12-byte header, then bytes that are no IP frame
    CHECK(h.take_released().empty());
    CHECK(h.counters().secondary_dropped_unsupported == 1);
    CHECK(h.counters().queued_primary == 1);
}

TEST_CASE("compare: more packets waiting than the twin ring holds are all matched, in order", "[compare]")
{
    const CompareSide waiting = GENERATE(CompareSide::primary, CompareSide::secondary);
    CAPTURE(to_string(waiting));
    CompareConfig config;
    config.max_queue_size = 2000;
    CompareHarness h(config);
    const auto arrive = [&](CompareSide side, const std::vector<uint8_t>& frame) {
        if (side == CompareSide::primary) h.primary(frame);
        else h.secondary(frame);
    };
    const CompareSide other = waiting == CompareSide::primary ? CompareSide::secondary : CompareSide::primary;
    Frames primaries;
    for (int i = 0; i < 1500; ++i) { // three flows, 1,500 waiting: the ring records the first 1,024
        Endpoints ep;
        ep.sport = uint16_t(1000 + i % 3);
        const std::string payload = "datagram " + std::to_string(i);
        primaries.push_back(frames::udp(ep, payload));
        arrive(waiting, primaries.back());
    }
    for (const auto& f : primaries) arrive(other, f);
    CHECK(h.take_released() == primaries);
    CHECK(h.counters().released_matched == 1500);
    CHECK(h.counters().queued_primary == 0);
    CHECK(h.counters().queued_secondary == 0);
    CHECK(h.counters().mismatches == 0);
}

TEST_CASE("compare: a twin of a later secondary of its flow is not matched ahead of the first", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    const auto first = frames::udp(ep, "pair 1"), second = frames::udp(ep, "pair 2"); // the same length
    h.secondary(first);
    h.secondary(second);
    h.primary(second); // the full path: matched with the secondary that is its twin, the other stays
    CHECK(h.take_released() == Frames{second});
    CHECK(h.counters().mismatches == 0);
    CHECK(h.counters().queued_secondary == 1);
    h.primary(first);
    CHECK(h.take_released() == Frames{first});
    CHECK(h.counters().queued_secondary == 0);
}

TEST_CASE("compare: a primary behind another virtio-net header length is not a waiting secondary's twin", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    const auto frame = frames::udp(ep, "pair 1");
    h.secondary(frame);
    h.primary(frame, 12); // a 12-byte header, then bytes that are no IP frame: passed on unsupported
    CHECK(h.take_released() == Frames{frame});
    CHECK(h.counters().released_unsupported == 1);
    CHECK(h.counters().queued_secondary == 1);
}
