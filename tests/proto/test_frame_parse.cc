#include <catch2/catch.hpp>

#include "nodes/proto/frame_parse.hh"

#include <vector>

using namespace colo;

namespace {
// Ethernet + IPv4 + TCP with `payload` bytes, optional Ethernet padding.
std::vector<uint8_t> tcp_frame(std::size_t payload, std::size_t pad = 0)
{
    std::vector<uint8_t> f(14 + 20 + 20 + payload + pad, 0);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t* ip = f.data() + 14;
    ip[0] = 0x45;
    store_be16(ip + 2, uint16_t(40 + payload));
    ip[8] = 64;
    ip[9] = 6;
    ip[12] = 10;
    ip[15] = 1;
    ip[16] = 10;
    ip[19] = 2;
    uint8_t* tcp = ip + 20;
    store_be16(tcp, 1234);
    store_be16(tcp + 2, 80);
    store_be32(tcp + 4, 1000);
    store_be32(tcp + 8, 2000);
    tcp[12] = 5 << 4;
    tcp[13] = tcpflag::ACK | tcpflag::PSH;
    return f;
}
} // namespace

TEST_CASE("parse_frame: IPv4 TCP fields and payload extent", "[parse]")
{
    auto f = tcp_frame(10);
    auto p = parse_frame(f.data(), f.size(), 0);
    REQUIRE(p.is_tcp());
    CHECK(p.sport == 1234);
    CHECK(p.dport == 80);
    CHECK(p.seq == 1000);
    CHECK(p.ack == 2000);
    CHECK(p.payload_off == 54);
    CHECK(p.payload_len == 10);
    CHECK(format_ip(p.src, 4) == "10.0.0.1");
}

TEST_CASE("parse_frame: Ethernet padding is not payload", "[parse]")
{
    auto f = tcp_frame(0, 6); // a 60-byte padded pure ACK
    auto p = parse_frame(f.data(), f.size(), 0);
    REQUIRE(p.is_tcp());
    CHECK(p.payload_len == 0);
    CHECK(p.l3_end == 54);
}

TEST_CASE("parse_frame: malformed inputs never read out of bounds", "[parse]")
{
    auto f = tcp_frame(4);
    SECTION("IHL below 5")
    {
        f[14] = 0x44;
        CHECK(parse_frame(f.data(), f.size(), 0).status == ParseStatus::bad_ip);
    }
    SECTION("total length longer than frame is clamped and flagged")
    {
        store_be16(f.data() + 16, 2000);
        auto p = parse_frame(f.data(), f.size(), 0);
        CHECK(p.ip_len_mismatch);
        CHECK(p.l3_end == f.size());
    }
    SECTION("truncated TCP header")
    {
        auto p = parse_frame(f.data(), 14 + 20 + 10, 0);
        CHECK(p.ok());
        CHECK_FALSE(p.has_l4);
        CHECK_FALSE(p.is_tcp());
    }
    SECTION("vnet header larger than 20 or than the frame")
    {
        CHECK(parse_frame(f.data(), f.size(), 21).status == ParseStatus::bad_vnet);
        CHECK(parse_frame(f.data(), 8, 10).status == ParseStatus::bad_vnet);
    }
    SECTION("every truncation parses without crashing")
    {
        for (std::size_t n = 0; n <= f.size(); ++n) (void)parse_frame(f.data(), n, 0);
    }
}

TEST_CASE("parse_frame: 802.1Q tag and ARP", "[parse]")
{
    auto f = tcp_frame(3);
    std::vector<uint8_t> tagged(f.begin(), f.begin() + 12);
    tagged.insert(tagged.end(), {0x81, 0x00, 0x00, 0x05});
    tagged.insert(tagged.end(), f.begin() + 12, f.end());
    auto p = parse_frame(tagged.data(), tagged.size(), 0);
    REQUIRE(p.is_tcp());
    CHECK(p.vlan_tags == 1);
    CHECK((p.vlan_tci & 0x0fff) == 5);
    CHECK(p.payload_len == 3);

    f[12] = 0x08;
    f[13] = 0x06;
    CHECK(parse_frame(f.data(), f.size(), 0).status == ParseStatus::not_ip);
}
