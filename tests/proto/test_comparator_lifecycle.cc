// Comparator: queue limits, timeouts, connection expiry and eviction
// (QEMU: net/colo-compare.c packet_enqueue(), check_old_packet_regular(),
// net/colo.c connection_get(); docs/comparator.md, differences from QEMU).
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "tests/proto/test_comparator_harness.hh"

using namespace colo;
using namespace colo::testing;
using frames::Endpoints;

TEST_CASE("compare: a full queue drops the next packet and requests a checkpoint", "[compare]")
{
    CompareConfig c;
    c.max_queue_size = 2;
    CompareHarness h(c);
    Endpoints ep;
    h.primary(frames::udp(ep, "1"));
    h.primary(frames::udp(ep, "2"));
    CHECK(h.out.events.empty());
    h.primary(frames::udp(ep, "3"));
    CHECK(h.counters().primary_lost_queue_full == 1);
    CHECK(h.counters().queued_primary == 2);
    auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == CheckpointReason::queue_full);
    CHECK(events[0].side == CompareSide::primary);
    CHECK_FALSE(events[0].divergence);

    // The limit is per connection and side.
    h.primary(frames::udp(port(2), "other connection"));
    CHECK(h.counters().queued_primary == 3);
    h.secondary(frames::udp(ep, "x"));
    h.secondary(frames::udp(ep, "y"));
    h.secondary(frames::udp(ep, "z"));
    CHECK(h.counters().secondary_dropped_queue_full == 1);
    CHECK(h.out.events.empty()); // de-duplicated: one request is pending
    CHECK(h.counters().requests_suppressed >= 1);

    h.cmp.checkpoint_done(h.out);
    CHECK(h.take_released().size() == 3); // the lost primary never comes out
}

TEST_CASE("compare: timeouts are scanned once per cycle on the caller's clock", "[compare]")
{
    CompareConfig c;
    c.compare_timeout_ms = 500;
    c.expired_scan_cycle_ms = 200;
    CompareHarness h(c);
    const uint64_t t0 = h.now;
    Endpoints ep;
    const auto p = frames::udp(ep, "unanswered");
    h.primary(p);

    h.tick_at(t0 + 100 * kMs); // first scan: nothing old yet; the next is due at +300 ms
    CHECK(h.out.events.empty());
    h.tick_at(t0 + 520 * kMs); // scan: older than 500 ms
    auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == CheckpointReason::timeout);
    CHECK(events[0].side == CompareSide::primary);
    CHECK(events[0].time_ns == t0 + 520 * kMs);
    CHECK(events[0].flow.to_string() == "udp 10.0.0.1:1234 > 10.0.0.2:80");
    CHECK(h.out.released.empty()); // the scan releases nothing itself

    h.tick_at(t0 + 600 * kMs); // within the cycle: no scan
    CHECK(h.counters().timeouts == 1);
    h.tick_at(t0 + 720 * kMs); // next cycle: found again, but a request is pending
    CHECK(h.counters().timeouts == 2);
    CHECK(h.counters().requests_suppressed == 1);
    CHECK(h.out.events.empty());

    h.cmp.checkpoint_done(h.out);
    CHECK(h.take_released() == Frames{p});
    h.tick_at(t0 + 2000 * kMs);
    CHECK(h.out.events.empty());

    // After the flush a new old packet raises a new request; a secondary one counts too.
    h.secondary(frames::udp(ep, "only on the secondary"));
    h.tick_at(t0 + 2300 * kMs);
    CHECK(h.out.events.empty());
    h.tick_at(t0 + 2600 * kMs);
    events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].side == CompareSide::secondary);
}

TEST_CASE("compare: the scan skips its walk only while no queued packet can be old", "[compare]")
{
    // The walk for old packets waits until compare_timeout after the earliest
    // arrival still queued; a bound that were too late would miss these.
    CompareConfig c;
    c.compare_timeout_ms = 500;
    c.expired_scan_cycle_ms = 100;
    CompareHarness h(c);
    const uint64_t t0 = h.now;
    const auto a = frames::udp(port(1), "answered late");
    h.primary(a);
    h.now = t0 + 400 * kMs;
    h.primary(frames::udp(port(2), "never answered"));
    h.now = t0 + 450 * kMs;
    h.secondary(a);
    h.tick_at(t0 + 520 * kMs); // walks (port 1 arrived 520 ms ago), finds port 2 at 120 ms
    CHECK(h.out.events.empty());
    h.tick_at(t0 + 800 * kMs);
    CHECK(h.out.events.empty());
    h.tick_at(t0 + 920 * kMs); // port 2 is 520 ms old
    auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].flow.sport == 2);
    h.cmp.checkpoint_done(h.out);
    h.take_released();

    // A packet stamped earlier than those already seen (two sockets' clocks,
    // a capture's own timestamps) times out on its own stamp.
    h.now = t0 + 2000 * kMs;
    h.primary(frames::udp(port(3), "now"));
    h.now = t0 + 1000 * kMs;
    h.primary(frames::udp(port(4), "stamped a second earlier"));
    h.tick_at(t0 + 2100 * kMs);
    events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].flow.sport == 4);
}

TEST_CASE("compare: the timeout names the first connection in first-seen order", "[compare]")
{
    CompareHarness h;
    const uint64_t t0 = h.now;
    h.primary(frames::udp(port(1), "first"));
    h.now += 10 * kMs;
    h.primary(frames::udp(port(2), "second"));
    h.tick_at(t0 + 4000 * kMs);
    auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].flow.sport == 1);
    CHECK(h.counters().timeouts == 1); // one per scan, not one per connection
}

TEST_CASE("compare: first-seen order holds when a connection takes an expired one's place", "[compare]")
{
    CompareConfig c;
    c.idle_timeout_ms = 1000;
    CompareHarness h(c);
    const uint64_t t0 = h.now;
    const auto done = frames::udp(port(1), "answered");
    h.both(done);
    h.now = t0 + 500 * kMs;
    h.primary(frames::udp(port(2), "waiting"));
    h.tick_at(t0 + 1500 * kMs);
    REQUIRE(h.counters().connections_expired == 1); // port 1's storage is free again
    h.primary(frames::udp(port(3), "waiting too"));

    h.tick_at(t0 + 5000 * kMs); // both waited longer than compare_timeout (3 s)
    auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].flow.sport == 2);
}

TEST_CASE("compare: idle connections expire, busy ones do not", "[compare]")
{
    CompareConfig c;
    c.idle_timeout_ms = 5000;
    CompareHarness h(c);
    const uint64_t t0 = h.now;
    const auto done = frames::udp(port(1), "answered");
    h.both(done);
    h.primary(frames::udp(port(2), "waiting"));
    CHECK(h.counters().connections_active == 2);

    h.tick_at(t0 + 4999 * kMs);
    CHECK(h.counters().connections_expired == 0);
    h.tick_at(t0 + 6000 * kMs);
    CHECK(h.counters().connections_expired == 1); // the answered one
    CHECK(h.counters().connections_active == 1);

    const auto reports = h.cmp.report();
    REQUIRE(reports.size() == 2);
    CHECK_FALSE(reports[0].active);
    CHECK(reports[0].matched_packets == 1);
    CHECK(reports[1].active);
    CHECK(reports[1].queued_primary == 1);
}

TEST_CASE("compare: a connection expires one scan cycle after FIN or RST", "[compare]")
{
    const uint8_t closing_flag = GENERATE(tcpflag::FIN, tcpflag::RST);
    CompareHarness h;
    const uint64_t t0 = h.now;
    Endpoints ep;
    const auto close = frames::tcp(ep, 50, 1, uint8_t(kAck | closing_flag), "");
    h.both(close);
    CHECK(h.take_released().size() == 1);

    h.tick_at(t0 + 500 * kMs);
    CHECK(h.counters().connections_expired == 0);
    h.tick_at(t0 + 1500 * kMs);
    CHECK(h.counters().connections_expired == 1);
    CHECK(h.counters().connections_active == 0);
}

TEST_CASE("compare: the scan finds closing and idle connections behind newer ones", "[compare]")
{
    // A scan looks only at the two ends of the activity order; a closing
    // connection with many newer ones still expires one cycle after its last
    // packet, and the newer ones expire after idle_timeout.
    CompareHarness h;
    const uint64_t t0 = h.now;
    h.tick_at(t0); // the first scan, which looks at everything
    h.now = t0 + 200 * kMs;
    const auto fin = frames::tcp(port(1), 50, 1, uint8_t(kAck | tcpflag::FIN), "");
    h.both(fin);
    for (uint16_t i = 0; i < 50; ++i) {
        h.now = t0 + (300 + 10 * i) * kMs;
        const auto datagram = frames::udp(port(uint16_t(100 + i)), "answered");
        h.both(datagram);
    }
    CHECK(h.take_released().size() == 51);

    h.tick_at(t0 + 1000 * kMs); // the FIN is 800 ms old: not yet
    CHECK(h.counters().connections_expired == 0);
    h.tick_at(t0 + 2100 * kMs);
    CHECK(h.counters().connections_expired == 1);
    CHECK(h.counters().connections_active == 50);
    for (uint64_t s = 3; s <= 60; ++s) h.tick_at(t0 + s * 1000 * kMs + 100 * kMs);
    CHECK(h.counters().connections_expired == 1); // idle_timeout is 60 s
    h.tick_at(t0 + 62000 * kMs);
    CHECK(h.counters().connections_expired == 51);
    CHECK(h.counters().connections_active == 0);
}

TEST_CASE("compare: a closing connection emptied by a checkpoint long after its last packet expires at the next scan",
          "[compare]")
{
    CompareHarness h;
    const uint64_t t0 = h.now;
    h.primary(frames::tcp(port(1), 50, 1, uint8_t(kAck | tcpflag::FIN), "unanswered")); // held: no secondary
    for (uint64_t s = 1; s <= 10; ++s) h.tick_at(t0 + s * 1000 * kMs);                  // idle, but holding a packet
    CHECK(h.counters().connections_expired == 0);
    h.take_events();
    h.cmp.checkpoint_done(h.out);
    CHECK(h.take_released().size() == 1);
    h.tick_at(t0 + 11000 * kMs);
    CHECK(h.counters().connections_expired == 1);
}

TEST_CASE("compare: a SYN starts a new incarnation of the tuple", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    const auto old_data = frames::tcp(ep, 1000, 1, kAck, "hello");
    h.both(old_data);
    CHECK(h.take_released().size() == 1); // compare_seq 1005

    h.primary(frames::tcp(ep, 500, 0, tcpflag::SYN, ""));
    h.secondary(frames::tcp(ep, 500, 0, tcpflag::SYN, ""));
    CHECK(h.take_released().size() == 1);
    // seq 501..506 lies before the old compare_seq; it must be compared, not
    // taken for an already verified retransmission.
    h.primary(frames::tcp(ep, 501, 1, kAck, "new!!"));
    h.secondary(frames::tcp(ep, 501, 1, kAck, "NEW!!"));
    CHECK(h.out.released.empty());
    CHECK(h.take_events().size() == 1);
}

TEST_CASE("compare: max_connections evicts idle connections first", "[compare]")
{
    CompareConfig c;
    c.max_connections = 2;
    CompareHarness h(c);
    const auto waiting = frames::udp(port(1), "waiting");
    h.primary(waiting); // conn 1: least recently active, holds a packet
    h.now += kMs;
    const auto idle = frames::udp(port(2), "idle");
    h.both(idle); // conn 2: empty queues
    CHECK(h.take_released().size() == 1);

    h.primary(frames::udp(port(3), "new")); // evicts conn 2, not conn 1
    CHECK(h.counters().connections_evicted == 1);
    CHECK(h.counters().evict_flushed == 0);
    CHECK(h.out.released.empty());

    // Now every connection holds packets: the least active one is flushed.
    h.secondary(frames::udp(port(1), "mismatch"));
    h.take_events();
    h.now += kMs;
    h.primary(frames::udp(port(3), "again")); // conn 3 is now the most recently active
    h.primary(frames::udp(port(4), "newest"));
    CHECK(h.counters().connections_evicted == 2);
    CHECK(h.counters().evict_flushed == 1);
    CHECK(h.counters().secondary_dropped_evicted == 1);
    CHECK(h.take_released() == Frames{waiting});
    CHECK(h.counters().connections_active == 2);

    std::set<uint16_t> active_ports;
    for (const auto& r : h.cmp.report())
        if (r.active) active_ports.insert(r.key.sport);
    CHECK(active_ports == std::set<uint16_t>{3, 4});
}

TEST_CASE("a pending request that no checkpoint answered is repeated after compare_timeout", "[compare]")
{
    CompareConfig c;
    c.compare_timeout_ms = 500;
    c.expired_scan_cycle_ms = 200;
    CompareHarness h(c);
    const uint64_t t0 = h.now;
    Endpoints ep;
    h.primary(frames::udp(ep, "unanswered"));
    h.tick_at(t0 + 520 * kMs);
    REQUIRE(h.take_events().size() == 1); // first request: perhaps lost
    h.tick_at(t0 + 720 * kMs);
    h.tick_at(t0 + 920 * kMs);
    CHECK(h.out.events.empty()); // de-duplicated while recent
    CHECK(h.counters().requests_suppressed == 2);
    h.tick_at(t0 + 1120 * kMs); // next scan, 600 ms after the first: ask again
    auto again = h.take_events();
    REQUIRE(again.size() == 1);
    CHECK(again[0].reason == CheckpointReason::timeout);
    CHECK(h.counters().requests_repeated == 1);
    CHECK(h.counters().checkpoint_requests == 2);
}

TEST_CASE("IP fragments are compared datagram by datagram, never parsed as TCP or UDP", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    auto fragment = [&](std::string_view payload) {
        auto f = frames::udp(ep, payload);
        f[14 + 6] |= 0x20; // more fragments: a first fragment
        return f;
    };
    const auto same = fragment("first fragment of a large datagram");
    h.both(same);
    CHECK(h.take_released() == Frames{same});
    CHECK(h.take_events().empty());

    h.primary(fragment("AAAA fragment"));
    h.secondary(fragment("AAAB fragment"));
    CHECK(h.take_released().empty());
    auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == CheckpointReason::mismatch);
    CHECK(events[0].flow.sport == 0); // ports are not read from a fragment
}
