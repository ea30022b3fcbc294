// Comparator: checkpoint flushes, failover, shutdown and reports (QEMU:
// net/colo-compare.c colo_flush_packets(), colo_compare_finalize();
// docs/comparator.md, "Flush, failover, shutdown").
#include <catch2/catch.hpp>

#include <string>

#include "tests/proto/test_comparator_harness.hh"

using namespace colo;
using namespace colo::testing;
using frames::Endpoints;

TEST_CASE("compare: checkpoint flush order and surviving TCP state", "[compare]")
{
    CompareHarness h;
    Endpoints tcp_ep = port(1), udp_ep = port(2);
    // Connection 1 (TCP) is seen first, connection 2 (UDP) second.
    const auto hello = frames::tcp(tcp_ep, 1000, 1, kAck, "hello");
    h.both(hello);
    CHECK(h.take_released().size() == 1); // compare_seq is now 1005

    const auto u1 = frames::udp(udp_ep, "u1"), u2 = frames::udp(udp_ep, "u2");
    const auto t2 = frames::tcp(tcp_ep, 1010, 1, kAck, "later"), t1 = frames::tcp(tcp_ep, 1005, 1, kAck, "abcde");
    h.primary(u1);
    h.primary(t2);
    h.primary(u2);
    h.primary(t1);
    h.secondary(frames::udp(udp_ep, "zz"));
    h.take_events();

    h.cmp.checkpoint_done(h.out);
    CHECK(h.take_released() == Frames{t1, t2, u1, u2});
    CHECK(h.counters().secondary_dropped_flush == 1);
    CHECK(h.counters().released_flush == 4);
    CHECK(h.counters().checkpoints_done == 1);
    CHECK_FALSE(h.cmp.checkpoint_pending());

    // compare_seq (1005) survived: a retransmitted "hello" counts as verified.
    h.primary(hello);
    h.secondary(frames::tcp(tcp_ep, 1015, 1, kAck, ""));
    CHECK(h.take_released() == Frames{hello});
    CHECK(h.counters().released_retransmit == 1);
}

TEST_CASE("compare: the ACK gate state survives a flush", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    h.secondary(frames::tcp(ep, 1, 950, kAck, ""));
    h.cmp.checkpoint_done(h.out);
    const auto p = frames::tcp(ep, 1, 900, kAck, "ab");
    h.primary(p);
    // The highest secondary ACK is still 950 from before the flush, so 900 passes the gate.
    h.secondary(frames::tcp(ep, 1, 700, kAck, "abcd"));
    CHECK(h.take_released() == Frames{p});
    CHECK(h.counters().ack_gate_holds == 0);
}

TEST_CASE("compare: failover flushes, then passes primaries through", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    const auto queued = frames::udp(ep, "queued");
    h.primary(queued);
    h.secondary(frames::udp(ep, "different"));
    CHECK(h.take_events().size() == 1);

    h.cmp.failover(h.out);
    CHECK(h.take_released() == Frames{queued});
    CHECK(h.cmp.passing_through());
    CHECK_FALSE(h.cmp.checkpoint_pending());

    const auto later = frames::tcp(ep, 1, 1, kAck, "later");
    h.primary(later);
    CHECK(h.take_released() == Frames{later});
    h.secondary(later);
    CHECK(h.out.released.empty());
    CHECK(h.counters().released_passthrough == 1);
    CHECK(h.counters().secondary_dropped_passthrough == 1);
    h.tick_at(h.now + 10'000 * kMs);
    CHECK(h.out.events.empty());
}

TEST_CASE("compare: shutdown flushes queued primaries instead of losing them", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    const auto a = frames::tcp(ep, 1, 1, kAck, "a"), b = frames::udp(ep, "b");
    h.primary(a);
    h.primary(b);
    h.secondary(frames::udp(ep, "c"));
    h.take_events();
    h.cmp.shutdown(h.out);
    CHECK(h.take_released() == Frames{a, b});
    CHECK(h.counters().secondary_dropped_flush == 1);
    h.primary(a);
    CHECK(h.take_released() == Frames{a});
}

TEST_CASE("compare: report lists per-connection traffic and the first divergence", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    h.primary(frames::tcp(ep, 1, 1, kAck, "same"));
    h.secondary(frames::tcp(ep, 1, 1, kAck, "same"));
    h.primary(frames::tcp(ep, 5, 1, kAck, "left"));
    h.secondary(frames::tcp(ep, 5, 1, kAck, "lefT"));
    h.primary(frames::udp(port(9), "u"));

    const auto reports = h.cmp.report();
    REQUIRE(reports.size() == 2);
    const ConnectionReport& t = reports[0];
    CHECK(t.key.to_string() == "tcp 10.0.0.1:1234 > 10.0.0.2:80");
    CHECK(t.primary_packets == 2);
    CHECK(t.secondary_packets == 2);
    CHECK(t.primary_bytes == 2 * (14 + 20 + 20 + 4));
    CHECK(t.matched_packets == 1);
    CHECK(t.matched_bytes == 4);
    CHECK(t.queued_primary == 1);
    REQUIRE(t.first_divergence);
    CHECK(t.first_divergence->offset == 7);
    CHECK(t.first_divergence->seq == 8);
    CHECK(reports[1].key.sport == 9);
    CHECK_FALSE(reports[1].first_divergence);
}

TEST_CASE("compare: every packet buffer is released or freed", "[compare]")
{
    const uint64_t before = buffer_pool_stats().allocated;
    {
        CompareConfig c;
        c.max_queue_size = 4;
        c.max_connections = 3;
        CompareHarness h(c);
        for (uint16_t i = 0; i < 40; ++i) {
            Endpoints ep = port(uint16_t(i % 5));
            h.primary(frames::tcp(ep, 100 + i, 1, kAck, std::string(1, char('a' + i % 3))));
            h.secondary(frames::tcp(ep, 100 + i, 1, kAck, std::string(1, char('a' + i % 2))));
            h.primary(frames::udp(ep, "u"));
            if (i % 7 == 0) h.cmp.checkpoint_done(h.out);
            h.tick_at(h.now + 400 * kMs);
        }
        h.out.clear();
        CHECK(buffer_pool_stats().allocated > before); // some are still queued
    }
    CHECK(buffer_pool_stats().allocated == before);
}
