// Comparator operator control: bypass rules added and removed at run time,
// resume after failover, settings changed while running (docs/comparator.md,
// "Operator control").
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "tests/proto/test_comparator_harness.hh"

using namespace colo;
using namespace colo::testing;
using frames::Endpoints;
using Texts = std::vector<std::string>;

namespace {

// More than 2^31 bytes on from `seq`: wrap-aware, "before" it.
constexpr uint32_t kFarAhead = 3'000'000'000u;

// UDP on `ep` is compared: an identical pair matches (the primary waits for
// its twin), a different pair requests a checkpoint.
void check_compared(CompareHarness& h, const Endpoints& ep)
{
    const auto same = frames::udp(ep, "same");
    h.primary(same);
    CHECK(h.out.released.empty());
    h.secondary(same);
    CHECK(h.take_released() == Frames{same});
    h.primary(frames::udp(ep, "left"));
    h.secondary(frames::udp(ep, "righ"));
    const auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == CheckpointReason::mismatch);
}

} // namespace

TEST_CASE("bypass rule: equal rules ignore spacing, word order and host bits beyond the prefix", "[compare]")
{
    const auto rule = [](const char* text) { return BypassRule::parse(text); };
    CHECK(rule("tcp port 80 host 10.0.0.0/8") == rule("tcp  host 10.1.2.3/8 port 80"));
    CHECK(rule("any host 2001:db8::/32") == rule("any host 2001:db8:1::1/32"));
    CHECK(rule("udp") == rule("udp"));
    CHECK_FALSE(rule("tcp port 80") == rule("udp port 80"));
    CHECK_FALSE(rule("tcp") == rule("tcp port 80"));
    CHECK_FALSE(rule("tcp port 80") == rule("tcp port 81"));
    CHECK_FALSE(rule("any host 10.0.0.0/8") == rule("any host 10.0.0.0/16"));
    CHECK_FALSE(rule("any host 10.0.0.0/8") == rule("any host 11.0.0.0/8"));
    CHECK_FALSE(rule("any host 0.0.0.0/0") == rule("any host ::/0"));
    CHECK_FALSE(rule("any host 10.0.0.1") == rule("any"));
}

TEST_CASE("compare control: an added bypass rule releases a connection's queued primaries and drops its secondaries",
          "[compare]")
{
    CompareHarness h;
    const Endpoints rdp = port(1), web = port(2);
    Endpoints voice = port(1);
    voice.src = "10.0.0.7";
    const auto a = frames::tcp(rdp, 1, 1, kAck, "aa"), b = frames::tcp(rdp, 3, 1, kAck, "bb"),
               c = frames::tcp(rdp, 5, 1, kAck, "cc");
    h.primary(c);
    h.primary(a);
    h.primary(b);
    h.secondary(frames::tcp(rdp, 9, 1, kAck, "ee")); // beyond a gap: everything stays queued
    h.secondary(frames::tcp(rdp, 11, 1, kAck, "ff"));
    const auto page = frames::tcp(web, 1, 1, kAck, "page");
    h.primary(page);
    const auto u1 = frames::udp(voice, "u1"), u2 = frames::udp(voice, "u2");
    h.primary(u1);
    h.primary(u2);
    REQUIRE(h.out.released.empty());
    REQUIRE(h.out.events.empty());
    REQUIRE(h.counters().queued_primary == 6);

    // Port 1 covers the TCP and the UDP connection, not the web one.
    CHECK(h.cmp.add_bypass(BypassRule::parse("any port 1"), h.out));
    // Connections in first-seen order; TCP in sequence order, UDP in arrival order.
    CHECK(h.take_released() == Frames{a, b, c, u1, u2});
    CHECK(h.counters().released_bypass == 5);
    CHECK(h.counters().secondary_dropped_bypass == 2);
    CHECK(h.counters().released_flush == 0);
    CHECK(h.counters().queued_primary == 1);
    CHECK(h.counters().queued_secondary == 0);
    CHECK(h.out.events.empty());
    CHECK(h.cmp.bypass_rules() == Texts{"any port 1"});

    // Later packets bypass: released at once, or dropped.
    const auto d = frames::tcp(rdp, 7, 1, kAck, "dd");
    h.primary(d);
    CHECK(h.take_released() == Frames{d});
    h.secondary(d);
    CHECK(h.out.released.empty());
    CHECK(h.counters().released_bypass == 6);
    CHECK(h.counters().secondary_dropped_bypass == 3);

    // The rest is compared as before: the web page still waits for its twin.
    h.secondary(page);
    CHECK(h.take_released() == Frames{page});
    CHECK(h.counters().released_matched == 1);

    // An equal rule is not added twice, however it is written.
    CHECK_FALSE(h.cmp.add_bypass(BypassRule::parse("any  port  1"), h.out));
    CHECK(h.cmp.bypass_rules() == Texts{"any port 1"});
    CHECK(h.out.released.empty());
}

TEST_CASE("compare control: bypass rules are listed, and removed by rule or by text", "[compare]")
{
    CompareConfig config;
    config.bypass = {BypassRule::parse("udp"), BypassRule::parse("tcp port 3389")};
    CompareHarness h(config);
    CHECK(h.cmp.add_bypass(BypassRule::parse("icmp host 10.9.0.0/16"), h.out));
    CHECK(h.cmp.bypass_rules() == Texts{"udp", "tcp port 3389", "icmp host 10.9.0.0/16"});

    const Endpoints ep;
    h.primary(frames::udp(ep, "passes"));
    CHECK(h.take_released().size() == 1);

    // Removing a configured rule: its flows are compared from their next packet.
    CHECK(h.cmp.remove_bypass("udp", h.out));
    CHECK(h.cmp.bypass_rules() == Texts{"tcp port 3389", "icmp host 10.9.0.0/16"});
    CHECK(h.cmp.config().bypass.size() == 2);
    check_compared(h, ep);

    // By an equal rule; a rule that is not there, or not a rule at all.
    CHECK(h.cmp.remove_bypass(BypassRule::parse("icmp host 10.9.1.1/16"), h.out));
    CHECK_FALSE(h.cmp.remove_bypass("udp", h.out));
    CHECK_FALSE(h.cmp.remove_bypass(BypassRule::parse("tcp port 22"), h.out));
    CHECK_THROWS_AS(h.cmp.remove_bypass("tcp port none", h.out), std::invalid_argument);
    CHECK(h.cmp.bypass_rules() == Texts{"tcp port 3389"});
    CHECK(h.out.released.empty());
}

TEST_CASE("compare control: a removed bypass rule compares its connections again from a clean state", "[compare]")
{
    CompareHarness h;
    const Endpoints ep = port(1);
    const auto hello = frames::tcp(ep, 1001, 1, kAck, "hello");
    h.both(hello);
    CHECK(h.take_released() == Frames{hello}); // verified up to 1006

    const auto rule = BypassRule::parse("tcp port 1");
    REQUIRE(h.cmp.add_bypass(rule, h.out));
    h.primary(frames::tcp(ep, 1006, 1, kAck, "unseen"));
    h.secondary(frames::tcp(ep, 1006, 1, kAck, "unseen"));
    h.take_released();
    REQUIRE(h.cmp.remove_bypass(rule, h.out));

    // What the comparator knew of the stream (verified up to 1006) no longer
    // holds: bytes it missed may have taken the stream anywhere.
    uint32_t seq = 0;
    SECTION("past 2^31 bytes of bypassed traffic")
    {
        seq = 1006 + kFarAhead;
    }
    SECTION("a new incarnation of the tuple whose SYN was bypassed")
    {
        seq = 501;
    }

    // Identical streams match; nothing is taken for verified data.
    const auto p1 = frames::tcp(ep, seq, 7, kAck, "again");
    h.primary(p1);
    CHECK(h.out.released.empty()); // held for the secondary's copy, not a retransmission
    h.secondary(p1);
    CHECK(h.take_released() == Frames{p1});
    CHECK(h.counters().released_retransmit == 0);
    CHECK(h.counters().bytes_matched == 10);
    CHECK(h.out.events.empty());
    CHECK(h.counters().mismatches == 0);

    // A divergence is found, at a stream offset counted from the first byte
    // compared since.
    h.primary(frames::tcp(ep, seq + 5, 7, kAck, "abcd"));
    h.secondary(frames::tcp(ep, seq + 5, 7, kAck, "abXd"));
    const auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == CheckpointReason::mismatch);
    REQUIRE(events[0].divergence);
    CHECK(events[0].divergence->offset == 7);
    CHECK(events[0].divergence->seq == seq + 7);
}

TEST_CASE("compare control: resume after failover compares again", "[compare]")
{
    CompareHarness h;
    const Endpoints ep;
    CHECK_FALSE(h.cmp.resume(h.out)); // already comparing
    CHECK_FALSE(h.cmp.passing_through());

    const auto queued = frames::udp(ep, "queued");
    h.primary(queued);
    h.cmp.failover(h.out);
    CHECK(h.take_released() == Frames{queued});
    const auto passed = frames::udp(ep, "passed");
    h.primary(passed);
    h.secondary(frames::udp(ep, "different"));
    CHECK(h.take_released() == Frames{passed});
    CHECK(h.counters().released_passthrough == 1);

    CHECK(h.cmp.resume(h.out));
    CHECK_FALSE(h.cmp.passing_through());
    CHECK_FALSE(h.cmp.checkpoint_pending());
    CHECK(h.out.released.empty());
    CHECK_FALSE(h.cmp.resume(h.out));

    // Compared again: a pair matches, a mismatch requests a checkpoint.
    check_compared(h, ep);
    CHECK(h.counters().released_passthrough == 1);
    CHECK(h.counters().secondary_dropped_passthrough == 1);

    // And pass-through again after the next failover.
    h.cmp.failover(h.out);
    h.take_released();
    h.primary(passed);
    CHECK(h.take_released() == Frames{passed});
    CHECK(h.cmp.resume(h.out));
}

TEST_CASE("compare control: resume forgets TCP state the pass-through made stale", "[compare]")
{
    CompareHarness h;
    const Endpoints ep;
    const auto hello = frames::tcp(ep, 1001, 1, kAck, "hello");
    h.both(hello);
    CHECK(h.take_released() == Frames{hello}); // verified up to 1006
    h.cmp.failover(h.out);
    h.primary(frames::tcp(ep, 1006, 1, kAck, "passed"));
    h.take_released();
    REQUIRE(h.cmp.resume(h.out));

    // The guests went on far beyond what the comparator saw (here past 2^31
    // bytes, "before" its old verified point): compared, not taken as verified.
    const uint32_t seq = 1006 + kFarAhead;
    h.primary(frames::tcp(ep, seq, 9, kAck, "abcd"));
    CHECK(h.out.released.empty());
    h.secondary(frames::tcp(ep, seq, 9, kAck, "abXd"));
    CHECK(h.out.released.empty());
    const auto events = h.take_events();
    REQUIRE(events.size() == 1);
    REQUIRE(events[0].divergence);
    CHECK(events[0].divergence->offset == 2);
    CHECK(h.counters().released_retransmit == 0);
}

TEST_CASE("compare control: a lowered compare_timeout times out a queued packet at the new value", "[compare]")
{
    CompareHarness h; // compare_timeout 3000 ms, expired_scan_cycle 1000 ms
    const uint64_t t0 = h.now;
    h.primary(frames::udp(Endpoints{}, "alone"));
    h.tick_at(t0 + 600 * kMs);
    CHECK(h.out.events.empty());

    h.cmp.set_setting("compare_timeout", 500, h.out);
    CHECK(h.cmp.config().compare_timeout_ms == 500);
    h.tick_at(t0 + 1600 * kMs);
    const auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == CheckpointReason::timeout);
    CHECK(h.counters().queued_primary == 1); // timed out, still queued

    // Raised: a packet younger than the new value does not time out.
    h.cmp.checkpoint_done(h.out);
    h.take_released();
    h.cmp.set_setting("compare_timeout", 10'000, h.out);
    h.primary(frames::udp(Endpoints{}, "later"));
    h.tick_at(h.now + 5'000 * kMs);
    CHECK(h.out.events.empty());
    h.tick_at(h.now + 5'001 * kMs);
    CHECK(h.take_events().size() == 1);
}

TEST_CASE("compare control: a changed expired_scan_cycle moves the next scan", "[compare]")
{
    CompareConfig config;
    config.compare_timeout_ms = 100;
    CompareHarness h(config); // expired_scan_cycle 1000 ms
    const uint64_t t0 = h.now;
    h.primary(frames::udp(Endpoints{}, "alone"));
    h.tick_at(t0 + 50 * kMs); // scans: not old yet; the next scan is due at t0 + 1050 ms

    SECTION("shorter: due one new cycle after the last scan")
    {
        h.cmp.set_setting("expired_scan_cycle", 100, h.out);
        h.tick_at(t0 + 140 * kMs);
        CHECK(h.out.events.empty());
        h.tick_at(t0 + 150 * kMs);
        CHECK(h.take_events().size() == 1);
    }
    SECTION("longer")
    {
        h.cmp.set_setting("expired_scan_cycle", 5'000, h.out);
        h.tick_at(t0 + 1'050 * kMs);
        CHECK(h.out.events.empty());
        h.tick_at(t0 + 5'050 * kMs);
        CHECK(h.take_events().size() == 1);
    }
}

TEST_CASE("compare control: a lowered max_queue_size keeps what is queued and refuses more", "[compare]")
{
    CompareConfig config;
    config.max_queue_size = 4;
    CompareHarness h(config);
    const Endpoints ep;
    const auto u1 = frames::udp(ep, "1"), u2 = frames::udp(ep, "2"), u3 = frames::udp(ep, "3");
    h.primary(u1);
    h.primary(u2);
    h.primary(u3);

    h.cmp.set_setting("max_queue_size", 2, h.out);
    CHECK(h.counters().queued_primary == 3);
    CHECK(h.counters().primary_lost_queue_full == 0);
    h.primary(frames::udp(ep, "4"));
    CHECK(h.counters().primary_lost_queue_full == 1);
    const auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == CheckpointReason::queue_full);

    h.cmp.checkpoint_done(h.out);
    CHECK(h.take_released() == Frames{u1, u2, u3});
    h.primary(u1);
    h.primary(u2);
    h.primary(u3);
    CHECK(h.counters().primary_lost_queue_full == 2);
    CHECK(h.counters().queued_primary == 2);
}

TEST_CASE("compare control: lowered idle_timeout and max_connections apply to tracked connections", "[compare]")
{
    CompareHarness h;
    for (uint16_t i = 1; i <= 3; ++i) h.both(frames::udp(port(i), "x"));
    CHECK(h.take_released().size() == 3);
    CHECK(h.counters().connections_active == 3);

    SECTION("max_connections: nothing evicted at once, a new connection evicts one")
    {
        h.cmp.set_setting("max_connections", 1, h.out);
        CHECK(h.counters().connections_active == 3);
        CHECK(h.counters().connections_evicted == 0);
        h.primary(frames::udp(port(4), "new"));
        CHECK(h.counters().connections_evicted == 1);
        CHECK(h.counters().connections_active == 3);
        CHECK(h.out.released.empty());
    }
    SECTION("idle_timeout: idle connections expire at the next scan")
    {
        h.tick_at(h.now + 600 * kMs);
        CHECK(h.counters().connections_expired == 0);
        h.cmp.set_setting("idle_timeout", 500, h.out);
        h.tick_at(h.now + 1'000 * kMs);
        CHECK(h.counters().connections_expired == 3);
        CHECK(h.counters().connections_active == 0);
    }
}

TEST_CASE("compare control: settings are checked against the node properties' ranges", "[compare]")
{
    CompareHarness h;
    const CompareConfig before = h.cmp.config();
    const auto message = [&](const char* name, int64_t value) {
        try {
            h.cmp.set_setting(name, value, h.out);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK(message("compare_timeout", 0) == "'compare_timeout': 0 is out of range [1, 4294967295]");
    CHECK(message("max_queue_size", -1) == "'max_queue_size': -1 is out of range [1, 4294967295]");
    CHECK(message("idle_timeout", 4294967296) == "'idle_timeout': 4294967296 is out of range [1, 4294967295]");
    CHECK(message("max_connections", 16777217) == "'max_connections': 16777217 is out of range [1, 16777216]");
    CHECK(message("ipv6", 0) == "'ipv6' is not a setting that can change at run time (compare_timeout, "
                                "expired_scan_cycle, max_queue_size, idle_timeout, max_connections)");
    CHECK(message("compare-timeout", 5) != "accepted");
    CHECK(h.cmp.config().compare_timeout_ms == before.compare_timeout_ms);
    CHECK(h.cmp.config().max_queue_size == before.max_queue_size);
    CHECK(h.cmp.config().idle_timeout_ms == before.idle_timeout_ms);
    CHECK(h.cmp.config().max_connections == before.max_connections);

    CHECK(message("compare_timeout", 4294967295) == "accepted");
    CHECK(message("expired_scan_cycle", 1) == "accepted");
    CHECK(message("max_connections", 16777216) == "accepted");
    CHECK(h.cmp.config().compare_timeout_ms == 4294967295u);
    CHECK(h.cmp.config().expired_scan_cycle_ms == 1);
    CHECK(h.cmp.config().max_connections == 16777216);

    // The configuration is checked against the same ranges.
    CompareConfig config;
    config.max_connections = 16777217;
    CHECK(config.validate() == "'max_connections' requires a value of at most 16777216");
    CHECK_THROWS_AS(Comparator(config), std::invalid_argument);
}
