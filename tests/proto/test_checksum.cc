#include <catch2/catch.hpp>

#include "nodes/proto/checksum.hh"

#include <random>
#include <string>
#include <vector>

using namespace colo;

namespace {

std::vector<uint8_t> from_hex(const std::string& hex)
{
    std::vector<uint8_t> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(uint8_t(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

// Frames built by a small Python script; tshark 4.0 reported every IP, TCP
// and UDP checksum in them as good, so the stored values are independent
// known answers.
struct KnownFrame {
    const char* what;
    const char* hex;
    uint16_t checksum;
};
const KnownFrame kKnown[] = {
    {"IPv4 (IHL 6) TCP, odd-aligned timestamp option, odd payload",
     "02000000000202000000000108004600004512344000400659c5c0a8010a0a000007010101009c400050deadbeef"
     "010203048018faf088ed000001080a112233445566778800000068656c6c6f20776f726c64",
     0x88ed},
    {"IPv6 TCP",
     "02000000000202000000000186dd600000000017064020010db800000000000000000000000120010db800000000"
     "00000000000000029c4101bb00001b580000c3515010faf018630000616263",
     0x1863},
    {"IPv4 UDP", "0200000000020200000000010800450000221234400040115cdec0a8010a0a00000714e90035000ecef1717565727921",
     0xcef1},
    {"IPv6 UDP",
     "02000000000202000000000186dd60000000000a114020010db800000000000000000000000120010db800000000"
     "000000000000000214e90035000a1e117136",
     0x1e11},
};

} // namespace

TEST_CASE("internet_checksum: RFC 1071 worked example", "[checksum]")
{
    const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK(fold_ones_complement(ones_complement_add(0, bytes, sizeof bytes)) == 0xddf2);
    CHECK(internet_checksum(bytes, sizeof bytes) == 0x220d);
    // An odd tail counts as the high byte of a zero-padded word.
    const uint8_t odd[] = {0x12, 0x34, 0x56};
    CHECK(internet_checksum(odd, sizeof odd) == uint16_t(~(0x1234 + 0x5600)));
}

TEST_CASE("l4_checksum: known answers for IPv4/IPv6 TCP/UDP", "[checksum]")
{
    for (const auto& k : kKnown) {
        INFO(k.what);
        auto frame = from_hex(k.hex);
        const ParsedFrame f = parse_frame(frame.data(), frame.size(), 0);
        REQUIRE(f.ok());
        REQUIRE(l4_checksum(frame.data(), f) == k.checksum);
        CHECK(l4_checksum_ok(frame.data(), f));
        frame.back() ^= 0x01; // corrupt one payload bit
        CHECK_FALSE(l4_checksum_ok(frame.data(), f));
    }
}

TEST_CASE("l4_checksum: UDP special cases", "[checksum]")
{
    auto v4 = from_hex(kKnown[2].hex);
    const ParsedFrame f4 = parse_frame(v4.data(), v4.size(), 0);
    const uint32_t field = f4.l4_off + l4_checksum_field(17);
    SECTION("IPv4 UDP checksum 0 means not computed")
    {
        store_be16(v4.data() + field, 0);
        CHECK(l4_checksum_ok(v4.data(), f4));
    }
    SECTION("IPv6 UDP checksum 0 is invalid")
    {
        auto v6 = from_hex(kKnown[3].hex);
        const ParsedFrame f6 = parse_frame(v6.data(), v6.size(), 0);
        store_be16(v6.data() + f6.l4_off + 6, 0);
        CHECK_FALSE(l4_checksum_ok(v6.data(), f6));
    }
}

TEST_CASE("l4_checksum: refuses what it cannot compute", "[checksum]")
{
    auto frame = from_hex(kKnown[0].hex);
    SECTION("fragment")
    {
        frame[14 + 6] |= 0x20; // MF
        const ParsedFrame f = parse_frame(frame.data(), frame.size(), 0);
        CHECK_FALSE(l4_checksum(frame.data(), f));
        CHECK_FALSE(l4_checksum_ok(frame.data(), f));
    }
    SECTION("datagram truncated by the frame")
    {
        const ParsedFrame f = parse_frame(frame.data(), frame.size() - 3, 0);
        REQUIRE(f.ip_len_mismatch);
        CHECK_FALSE(l4_checksum(frame.data(), f));
    }
    SECTION("not TCP/UDP")
    {
        frame[14 + 9] = 1; // ICMP
        const ParsedFrame f = parse_frame(frame.data(), frame.size(), 0);
        CHECK_FALSE(l4_checksum(frame.data(), f));
    }
}

TEST_CASE("l4_checksum: honours a vnet header and Ethernet padding", "[checksum]")
{
    const auto plain = from_hex(kKnown[0].hex);
    std::vector<uint8_t> framed(12, 0);
    framed.insert(framed.end(), plain.begin(), plain.end());
    framed.insert(framed.end(), 6, 0xee); // padding is not part of the segment
    const ParsedFrame f = parse_frame(framed.data(), framed.size(), 12);
    CHECK(l4_checksum(framed.data(), f) == kKnown[0].checksum);
}

TEST_CASE("checksum_update: RFC 1624 matches full recomputation", "[checksum]")
{
    std::mt19937 rng(1624);
    auto byte = [&] { return uint8_t(rng()); };
    for (int round = 0; round < 2000; ++round) {
        // A random IPv4 or IPv6 TCP segment with a correct checksum.
        const bool v6 = round % 2;
        const uint32_t options = 4 * (rng() % 11), payload = rng() % 64;
        const uint32_t l3 = 14, l4 = l3 + (v6 ? 40 : 20), tcp_len = 20 + options + payload;
        std::vector<uint8_t> fr(l4 + tcp_len);
        for (auto& b : fr) b = byte();
        fr[12] = v6 ? 0x86 : 0x08;
        fr[13] = v6 ? 0xdd : 0x00;
        if (v6) {
            fr[l3] = 0x60;
            store_be16(&fr[l3 + 4], uint16_t(tcp_len));
            fr[l3 + 6] = 6;
        } else {
            fr[l3] = 0x45;
            store_be16(&fr[l3 + 2], uint16_t(20 + tcp_len));
            store_be16(&fr[l3 + 6], 0); // not a fragment
            fr[l3 + 9] = 6;
        }
        fr[l4 + 12] = uint8_t((5 + options / 4) << 4);
        const ParsedFrame f = parse_frame(fr.data(), fr.size(), 0);
        REQUIRE(f.is_tcp());
        store_be16(&fr[l4 + 16], *l4_checksum(fr.data(), f));

        // Change a random 16- or 32-bit field (32-bit ones at any byte
        // offset, like TCP options), sparing the checksum and data offset.
        const bool wide = rng() % 2;
        const uint32_t width = wide ? 4 : 2;
        uint32_t off;
        do {
            off = rng() % (tcp_len - width + 1);
            if (!wide) off &= ~1u; // 16-bit header fields are word aligned
        } while ((off <= 17 && off + width > 16) || (off <= 12 && off + width > 12));
        uint8_t* field = &fr[l4 + off];
        uint16_t checksum = load_be16(&fr[l4 + 16]);
        if (wide) {
            const uint32_t old_value = load_be32(field), new_value = uint32_t(rng());
            store_be32(field, new_value);
            checksum = checksum_update32(checksum, old_value, new_value, off & 1);
        } else {
            const uint16_t old_value = load_be16(field), new_value = uint16_t(rng());
            store_be16(field, new_value);
            checksum = checksum_update16(checksum, old_value, new_value);
        }
        INFO("round " << round << " offset " << off << " width " << width);
        REQUIRE(checksum == *l4_checksum(fr.data(), f));
    }
}

TEST_CASE("checksum_update: unchanged value keeps the checksum", "[checksum]")
{
    CHECK(checksum_update32(0x1234, 0xdeadbeef, 0xdeadbeef) == 0x1234);
    CHECK(checksum_update16(0x1234, 0xbeef, 0xbeef) == 0x1234);
}
