#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <unordered_set>

#include "nodes/proto/bypass_rule.hh"
#include "nodes/proto/flow_key.hh"
#include "tests/proto/frames.hh"

using namespace colo;

namespace {
FlowKey key_of(const std::vector<uint8_t>& frame, uint32_t vnet_len = 0)
{
    const ParsedFrame f = parse_frame(frame.data(), frame.size(), vnet_len);
    REQUIRE(f.ok());
    return FlowKey::from_frame(f);
}
} // namespace

TEST_CASE("FlowKey: directional key and its text", "[flowkey]")
{
    frames::Endpoints ep;
    const FlowKey k = key_of(frames::tcp(ep, 1, 0, tcpflag::SYN, ""));
    CHECK(k.to_string() == "tcp 10.0.0.1:1234 > 10.0.0.2:80");
    CHECK(k.ip_version == 4);
    CHECK(k.proto == 6);

    const FlowKey reply = key_of(frames::tcp(ep.reversed(), 1, 2, tcpflag::SYN | tcpflag::ACK, ""));
    CHECK(reply.to_string() == "tcp 10.0.0.2:80 > 10.0.0.1:1234");
    CHECK_FALSE(reply == k);
    CHECK(reply == k.reversed());
    CHECK(reply.normalized() == k.normalized());
    CHECK(FlowKey::normalized_from_frame(parse_frame(frames::udp(ep, "x").data(), frames::udp(ep, "x").size(), 0)) ==
          key_of(frames::udp(ep.reversed(), "y")).normalized());
}

TEST_CASE("FlowKey: protocols without ports, IPv6 and VLAN", "[flowkey]")
{
    frames::Endpoints ep;
    CHECK(key_of(frames::icmp_echo(ep, 7, 1, "ping")).to_string() == "icmp 10.0.0.1 > 10.0.0.2");
    CHECK(key_of(frames::ip_proto(ep, 47, "gre")).to_string() == "proto 47 10.0.0.1 > 10.0.0.2");

    frames::Endpoints v6;
    v6.ip_version = 6;
    v6.src = "fe80::1";
    v6.dst = "2001:db8::2";
    v6.sport = 53;
    v6.dport = 5353;
    CHECK(key_of(frames::udp(v6, "q")).to_string() == "udp [fe80::1]:53 > [2001:db8::2]:5353");
    CHECK(key_of(frames::icmp_echo(v6, 1, 1, "")).to_string() == "icmp6 fe80::1 > 2001:db8::2");

    frames::Endpoints tagged = ep;
    tagged.vlan = 7;
    const FlowKey kt = key_of(frames::tcp(tagged, 1, 0, 0, "a"));
    CHECK(kt.vlan == 7);
    CHECK(kt.to_string() == "tcp 10.0.0.1:1234 > 10.0.0.2:80 vlan 7");
    CHECK_FALSE(kt == key_of(frames::tcp(ep, 1, 0, 0, "a")));

    frames::Endpoints with_vnet = ep;
    with_vnet.vnet_len = 12;
    CHECK(key_of(frames::tcp(with_vnet, 1, 0, 0, "a"), 12) == key_of(frames::tcp(ep, 1, 0, 0, "a")));
}

TEST_CASE("FlowKey: hashing distinguishes every field", "[flowkey]")
{
    frames::Endpoints ep;
    const FlowKey base = key_of(frames::tcp(ep, 1, 0, 0, ""));
    std::unordered_set<FlowKey> set{base};
    CHECK(set.count(key_of(frames::tcp(ep, 99, 5, tcpflag::ACK, "data"))) == 1); // same flow

    FlowKey other = base;
    other.sport = 1235;
    FlowKey v = base;
    v.vlan = 1;
    FlowKey p = base;
    p.proto = 17;
    FlowKey a = base;
    a.dst[3] = 3;
    for (const FlowKey& k : {other, v, p, a, base.reversed()}) {
        CHECK(set.count(k) == 0);
        CHECK(k.hash() != base.hash());
    }
}

TEST_CASE("BypassRule: matching", "[flowkey]")
{
    frames::Endpoints ep;
    const FlowKey web = key_of(frames::tcp(ep, 1, 0, 0, ""));
    ep.dport = 3389;
    const FlowKey rdp = key_of(frames::tcp(ep, 1, 0, 0, ""));
    const FlowKey rdp_reply = rdp.reversed();
    const FlowKey udp_rdp = key_of(frames::udp(ep, ""));
    frames::Endpoints far = ep;
    far.src = "192.168.1.1";
    far.dst = "172.16.0.9";
    const FlowKey outside = key_of(frames::udp(far, ""));
    const FlowKey ping = key_of(frames::icmp_echo(ep, 1, 1, ""));
    frames::Endpoints v6;
    v6.ip_version = 6;
    v6.src = "2001:db8::1";
    v6.dst = "2001:db9::1";
    const FlowKey ping6 = key_of(frames::icmp_echo(v6, 1, 1, ""));

    const auto tcp_rdp = BypassRule::parse("tcp port 3389");
    CHECK(tcp_rdp.matches(rdp));
    CHECK(tcp_rdp.matches(rdp_reply)); // port matches either side
    CHECK_FALSE(tcp_rdp.matches(web));
    CHECK_FALSE(tcp_rdp.matches(udp_rdp));

    const auto all_udp = BypassRule::parse("udp");
    CHECK(all_udp.matches(udp_rdp));
    CHECK(all_udp.matches(outside));
    CHECK_FALSE(all_udp.matches(web));

    const auto ten = BypassRule::parse("any host 10.0.0.0/8");
    CHECK(ten.matches(web));
    CHECK(ten.matches(ping));
    CHECK_FALSE(ten.matches(outside));
    CHECK(BypassRule::parse("any host 172.16.0.9").matches(outside)); // destination side

    CHECK(BypassRule::parse("icmp").matches(ping6));
    CHECK(BypassRule::parse("icmp host 2001:db8::/32").matches(ping6));
    CHECK_FALSE(BypassRule::parse("icmp host 2001:db8::/33").matches(outside));
    CHECK_FALSE(BypassRule::parse("any host 2001:db8::/32").matches(web)); // family differs
    CHECK(BypassRule::parse("  tcp   host 10.0.0.2  port 80 ").matches(web));
    CHECK(BypassRule::parse("tcp port 80 host 10.0.0.2").matches(web));
    CHECK_FALSE(BypassRule::parse("any port 80").matches(ping)); // ICMP has no ports

    const std::vector<BypassRule> rules{tcp_rdp, all_udp};
    CHECK(bypassed(rules, rdp));
    CHECK(bypassed(rules, outside));
    CHECK_FALSE(bypassed(rules, web));
}

TEST_CASE("BypassRule: parse errors name the problem", "[flowkey]")
{
    const auto error_of = [](const char* text) {
        try {
            BypassRule::parse(text);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error_of("") == "bypass rule '': empty rule (expected e.g. \"tcp port 3389\")");
    CHECK(error_of("sctp") == "bypass rule 'sctp': unknown protocol 'sctp' (expected tcp, udp, icmp or any)");
    CHECK(error_of("tcp port") == "bypass rule 'tcp port': missing value after 'port'");
    CHECK(error_of("tcp port 70000") == "bypass rule 'tcp port 70000': invalid port '70000' (expected 0-65535)");
    CHECK(error_of("tcp port 8x") == "bypass rule 'tcp port 8x': invalid port '8x' (expected 0-65535)");
    CHECK(error_of("udp host 10.0.0.0/33") ==
          "bypass rule 'udp host 10.0.0.0/33': invalid prefix length in '10.0.0.0/33' (expected 0-32)");
    CHECK(error_of("udp host ::1/129") ==
          "bypass rule 'udp host ::1/129': invalid prefix length in '::1/129' (expected 0-128)");
    CHECK(error_of("any host example.com") ==
          "bypass rule 'any host example.com': invalid address 'example.com' (expected IPv4 or IPv6)");
    CHECK(error_of("icmp port 1") == "bypass rule 'icmp port 1': 'port' does not apply to icmp");
    CHECK(error_of("tcp port 1 port 2") == "bypass rule 'tcp port 1 port 2': 'port' given twice");
    CHECK(error_of("tcp host 1.2.3.4 host 1.2.3.5") ==
          "bypass rule 'tcp host 1.2.3.4 host 1.2.3.5': 'host' given twice");
    CHECK(error_of("tcp dst 1.2.3.4") == "bypass rule 'tcp dst 1.2.3.4': unexpected 'dst' (expected 'host' or 'port')");
    CHECK(BypassRule::parse("tcp port 3389").text() == "tcp port 3389");
}
