// Comparator: UDP, ICMP and other protocols (QEMU: net/colo-compare.c
// colo_compare_packet()), unsupported frames (packet_enqueue()), IPv6, VLAN and
// bypass rules; docs/comparator.md.
#include <catch2/catch.hpp>

#include "tests/proto/test_comparator_harness.hh"

using namespace colo;
using namespace colo::testing;
using frames::Endpoints;

TEST_CASE("compare udp: identical datagrams match from the L4 header on", "[compare]")
{
    CompareHarness h;
    Endpoints p_ep, s_ep;
    s_ep.ip_id = 4242; // IP header fields are not compared
    s_ep.ttl = 1;
    const auto p = frames::udp(p_ep, "query");
    h.primary(p);
    CHECK(h.out.released.empty());
    h.secondary(frames::udp(s_ep, "query"));
    CHECK(h.take_released() == Frames{p});
    CHECK(h.counters().bytes_matched == 8 + 5);
}

TEST_CASE("compare udp: divergent datagrams request a checkpoint", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    ep.checksums = false; // else the UDP checksum (offset 6) differs first
    h.primary(frames::udp(ep, "ping"));
    h.secondary(frames::udp(ep, "pong"));
    CHECK(h.out.released.empty());
    auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == CheckpointReason::mismatch);
    CHECK(events[0].flow.to_string() == "udp 10.0.0.1:1234 > 10.0.0.2:80");
    REQUIRE(events[0].divergence);
    const Divergence& d = *events[0].divergence;
    CHECK_FALSE(d.tcp);
    CHECK(d.offset == 8 + 1);
    CHECK(d.lead == 8);
    CHECK(text(d.primary.data() + d.lead, d.primary_len - d.lead) == "ing");
    CHECK(text(d.secondary.data() + d.lead, d.secondary_len - d.lead) == "ong");

    SECTION("a different length diverges at the length field")
    {
        CompareHarness l;
        l.primary(frames::ip_proto(ep, 47, "abc"));
        l.secondary(frames::ip_proto(ep, 47, "abcd"));
        auto ev = l.take_events();
        REQUIRE(ev.size() == 1);
        CHECK(ev[0].divergence->offset == 17); // the IP total length differs first
        CompareHarness u;
        u.primary(frames::udp(ep, "abc"));
        u.secondary(frames::udp(ep, "abcd"));
        ev = u.take_events();
        REQUIRE(ev.size() == 1);
        CHECK(ev[0].divergence->offset == 5); // the UDP length field
    }
}

TEST_CASE("compare udp: Ethernet padding is not compared", "[compare]")
{
    CompareHarness h;
    Endpoints padded, plain;
    padded.pad_to = 60;
    const auto p = frames::udp(padded, "x");
    h.primary(p);
    h.secondary(frames::udp(plain, "x"));
    CHECK(h.take_released() == Frames{p});
    CHECK(h.counters().mismatches == 0);
}

TEST_CASE("compare icmp: identical and divergent echo requests", "[compare]")
{
    CompareHarness h;
    Endpoints ep;
    const auto p = frames::icmp_echo(ep, 7, 1, "abcdefgh");
    h.primary(p);
    h.secondary(frames::icmp_echo(ep, 7, 1, "abcdefgh"));
    CHECK(h.take_released() == Frames{p});

    Endpoints no_sum = ep;
    no_sum.checksums = false; // else the checksum differs first
    h.primary(frames::icmp_echo(no_sum, 7, 2, "abcdefgh"));
    h.secondary(frames::icmp_echo(no_sum, 7, 3, "abcdefgh"));
    auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].flow.to_string() == "icmp 10.0.0.1 > 10.0.0.2");
    CHECK(events[0].divergence->offset == 7); // low byte of the echo sequence number
}

TEST_CASE("compare: non-TCP traffic is matched and released first-in first-out", "[compare]")
{
    Endpoints ep;
    const auto a = frames::udp(ep, "A"), b = frames::udp(ep, "B");
    CompareHarness h;
    h.primary(a);
    h.primary(b);
    h.secondary(a);
    CHECK(h.take_released() == Frames{a}); // QEMU 7.x tries B first and requests a checkpoint
    CHECK(h.out.events.empty());
    h.secondary(b);
    CHECK(h.take_released() == Frames{b});

    SECTION("the oldest equal secondary is used")
    {
        h.secondary(b);
        h.secondary(a);
        h.primary(a);
        CHECK(h.take_released() == Frames{a});
        CHECK(h.counters().queued_secondary == 1);
        h.primary(b);
        CHECK(h.take_released() == Frames{b});
        CHECK(h.out.events.empty());
    }
    SECTION("an oldest primary without an equal secondary is a mismatch")
    {
        h.primary(a);
        h.both(b);
        CHECK(h.out.released.empty());
        CHECK(h.take_events().size() == 1);
    }
}

TEST_CASE("compare other protocols: the whole frame after the vnet header", "[compare]")
{
    CompareHarness h;
    Endpoints ep, vnet;
    vnet.vnet_len = 12;
    const auto p = frames::ip_proto(vnet, 47, "tunnel");
    h.primary(p, 12);
    h.secondary(frames::ip_proto(ep, 47, "tunnel"));
    CHECK(h.take_released() == Frames{p});

    Endpoints other_id = ep;
    other_id.ip_id = 0x0900;
    h.primary(frames::ip_proto(ep, 47, "tunnel"));
    h.secondary(frames::ip_proto(other_id, 47, "tunnel"));
    auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].flow.to_string() == "proto 47 10.0.0.1 > 10.0.0.2");
    CHECK(events[0].divergence->offset == 14 + 4); // the IP id
}

TEST_CASE("compare: unsupported frames pass on the primary and are dropped on the secondary", "[compare]")
{
    CompareHarness h;
    const auto arp = frames::arp_request();
    h.primary(arp);
    CHECK(h.take_released() == Frames{arp});
    h.secondary(arp);
    CHECK(h.out.released.empty());

    const std::vector<uint8_t> runt(10, 0xab);
    h.primary(runt);
    CHECK(h.take_released() == Frames{runt});

    Endpoints ep;
    const auto odd_vnet = frames::udp(ep, "x");
    h.cmp.primary(frames::packet(odd_vnet, 30), h.now, h.out); // vnet header longer than 20
    REQUIRE(h.out.released.size() == 1);
    CHECK(h.out.released[0].vnet_len == 30);
    h.out.clear();

    CHECK(h.counters().released_unsupported == 3);
    CHECK(h.counters().secondary_dropped_unsupported == 1);
    CHECK(h.counters().connections_created == 0);
    CHECK(h.out.events.empty());
}

TEST_CASE("compare: IPv6 TCP, UDP and ICMPv6 are compared", "[compare]")
{
    Endpoints v6;
    v6.ip_version = 6;
    v6.src = "2001:db8::1";
    v6.dst = "2001:db8::2";
    const auto p1 = frames::tcp(v6, 10, 1, tcpflag::ACK, "hello ");
    const auto p2 = frames::tcp(v6, 16, 1, tcpflag::ACK, "world");
    const auto u = frames::udp(v6, "dns");
    const auto ping = frames::icmp_echo(v6, 1, 1, "ping");

    SECTION("enabled (default)")
    {
        CompareHarness h;
        h.primary(p1);
        h.primary(p2);
        h.primary(u);
        h.primary(ping);
        CHECK(h.out.released.empty());
        h.secondary(frames::tcp(v6, 10, 1, tcpflag::ACK, "hello world"));
        h.secondary(u);
        h.secondary(frames::icmp_echo(v6, 1, 1, "pong"));
        CHECK(h.take_released() == Frames{p1, p2, u});
        auto events = h.take_events();
        REQUIRE(events.size() == 1);
        CHECK(events[0].flow.to_string() == "icmp6 2001:db8::1 > 2001:db8::2");
        CHECK(h.counters().connections_created == 3);
    }
    SECTION("disabled: passed through like QEMU")
    {
        CompareConfig c;
        c.ipv6 = false;
        CompareHarness h(c);
        h.both(p1);
        CHECK(h.take_released() == Frames{p1});
        CHECK(h.counters().released_unsupported == 1);
        CHECK(h.counters().secondary_dropped_unsupported == 1);
    }
}

TEST_CASE("compare: 802.1Q frames are compared per VLAN", "[compare]")
{
    Endpoints v5, v6;
    v5.vlan = 5;
    v6.vlan = 6;
    const auto p = frames::tcp(v5, 1, 1, tcpflag::ACK, "tagged");

    SECTION("enabled (default)")
    {
        CompareHarness h;
        h.primary(p);
        h.secondary(frames::tcp(v6, 1, 1, tcpflag::ACK, "tagged")); // another VLAN: another connection
        CHECK(h.out.released.empty());
        h.secondary(frames::tcp(v5, 1, 1, tcpflag::ACK, "tagged"));
        CHECK(h.take_released() == Frames{p});
    }
    SECTION("disabled: passed through like QEMU")
    {
        CompareConfig c;
        c.vlan = false;
        CompareHarness h(c);
        h.primary(p);
        CHECK(h.take_released() == Frames{p});
        CHECK(h.counters().released_unsupported == 1);
    }
}

TEST_CASE("compare: bypass rules release uncompared and drop the secondary", "[compare]")
{
    CompareConfig c;
    c.bypass = {BypassRule::parse("tcp port 3389"), BypassRule::parse("udp host 192.168.0.0/16")};
    CompareHarness h(c);
    Endpoints rdp;
    rdp.dport = 3389;
    const auto p = frames::tcp(rdp, 1, 1, tcpflag::ACK, "screen");
    h.primary(p);
    CHECK(h.take_released() == Frames{p});
    h.secondary(frames::tcp(rdp, 1, 1, tcpflag::ACK, "different screen"));

    Endpoints lan;
    lan.dst = "192.168.4.4";
    const auto u = frames::udp(lan, "x");
    h.primary(u);
    CHECK(h.take_released() == Frames{u});

    Endpoints web;
    h.primary(frames::tcp(web, 1, 1, tcpflag::ACK, "page")); // not bypassed: held
    CHECK(h.out.released.empty());

    CHECK(h.counters().released_bypass == 2);
    CHECK(h.counters().secondary_dropped_bypass == 1);
    CHECK(h.counters().connections_created == 1);
    CHECK(h.out.events.empty());
}
