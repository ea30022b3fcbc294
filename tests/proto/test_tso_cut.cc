// Cutting TSO frames (nodes/proto/tso_cut.hh).
#include <catch2/catch.hpp>

#include "nodes/proto/checksum.hh"
#include "nodes/proto/tso_cut.hh"
#include "tests/proto/frames.hh"

#include <string>
#include <vector>

using namespace colo;

namespace {

constexpr uint32_t kVnet = 12;
constexpr uint16_t kMss = 1448;
constexpr uint8_t kCwr = 0x80;

std::string payload_of(const Packet& p)
{
    const ParsedFrame f = parse_frame(p.data(), p.len, p.vnet_len);
    return std::string(reinterpret_cast<const char*>(p.data() + f.payload_off), f.payload_len);
}

// The frame as the receiver checks it, once the device completed a partial
// checksum: valid TCP checksum, and a valid IPv4 header checksum.
bool checksums_ok(const Packet& p)
{
    std::vector<uint8_t> d(p.data(), p.data() + p.len);
    if (d[0] & 0x01) frames::complete_partial_checksum(d.data(), d.size(), p.vnet_len);
    const ParsedFrame f = parse_frame(d.data(), d.size(), p.vnet_len);
    if (f.ip_version == 4 && internet_checksum(d.data() + f.l3_off, f.l4_off - f.l3_off) != 0) return false;
    return f.is_tcp() && l4_checksum_ok(d.data(), f);
}

// Bytes whose position shows: no period a misplaced cut could hide behind.
std::string numbered(std::size_t n)
{
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += char(i * 7 + i / 251);
    return s;
}

uint16_t gso_size(const Packet& p)
{
    return uint16_t(p.data()[4] | p.data()[5] << 8);
}

} // namespace

TEST_CASE("tso cut: front and rest carry the stream, headers and checksums right", "[tso]")
{
    for (const bool ipv6 : {false, true})
        for (const bool partial : {true, false}) {
            INFO((ipv6 ? "IPv6" : "IPv4") << (partial ? ", partial checksum" : ", full checksum"));
            frames::Endpoints ep;
            ep.vnet_len = kVnet;
            if (ipv6) {
                ep.ip_version = 6;
                ep.src = "fd00::2";
                ep.dst = "fd00::1";
            }
            const std::string data = numbered(60000);
            std::vector<uint8_t> bytes =
                frames::tcp(ep, 0xfffff000, 77, tcpflag::ACK | tcpflag::PSH | tcpflag::FIN | kCwr, data);
            frames::as_tso(bytes, kVnet, kMss);
            if (!partial) {
                bytes[0] = 0; // no NEEDS_CSUM: the frame carries its full checksum
                const ParsedFrame f = parse_frame(bytes.data(), bytes.size(), kVnet);
                store_be16(&bytes[f.l4_off + 16], *l4_checksum(bytes.data(), f));
            }
            Packet p = frames::packet(bytes, kVnet, 123);
            REQUIRE(is_tso_frame(p));
            REQUIRE(checksums_ok(p));
            const auto* buffer = p.buf.get();

            std::optional<Packet> front = cut_tso_front(p, 20000);
            REQUIRE(front);
            CHECK(p.buf.get() == buffer); // the rest stays where it was
            const ParsedFrame ff = parse_frame(front->data(), front->len, kVnet);
            const ParsedFrame rf = parse_frame(p.data(), p.len, kVnet);
            CHECK(payload_of(*front) == data.substr(0, 20000));
            CHECK(payload_of(p) == data.substr(20000));
            CHECK(ff.seq == 0xfffff000);
            CHECK(rf.seq == 0xfffff000 + 20000); // across the wrap
            CHECK(ff.tcp_flags == (tcpflag::ACK | kCwr));
            CHECK(rf.tcp_flags == (tcpflag::ACK | tcpflag::PSH | tcpflag::FIN));
            CHECK(front->ts_ns == 123);
            CHECK(checksums_ok(*front));
            CHECK(checksums_ok(p));
            CHECK(is_tso_frame(*front));
            CHECK(gso_size(*front) == kMss);

            // A part no longer than the MSS is a plain frame.
            std::optional<Packet> small = cut_tso_front(p, kMss);
            REQUIRE(small);
            CHECK_FALSE(is_tso_frame(*small));
            CHECK(small->data()[1] == 0);
            CHECK(payload_of(*small) == data.substr(20000, kMss));
            CHECK(checksums_ok(*small));
            CHECK(payload_of(p) == data.substr(20000 + kMss));
            CHECK(checksums_ok(p));
        }
}

TEST_CASE("tso cut: anything but a TSO frame, or a cut outside its payload, is left alone", "[tso]")
{
    frames::Endpoints ep;
    ep.vnet_len = kVnet;
    std::vector<uint8_t> bytes = frames::tcp(ep, 1000, 77, tcpflag::ACK, std::string(5000, 'x'));
    const std::vector<uint8_t> plain = bytes;
    frames::as_tso(bytes, kVnet, kMss);
    for (const uint32_t at : {0u, 5000u, 6000u}) {
        Packet p = frames::packet(bytes, kVnet);
        CHECK_FALSE(cut_tso_front(p, at));
        CHECK(std::equal(bytes.begin(), bytes.end(), p.data(), p.data() + p.len));
    }
    Packet not_gso = frames::packet(plain, kVnet); // a vnet header without GSO
    CHECK_FALSE(is_tso_frame(not_gso));
    CHECK_FALSE(cut_tso_front(not_gso, 100));
    Packet no_vnet = frames::packet(std::vector<uint8_t>(plain.begin() + kVnet, plain.end()));
    CHECK_FALSE(cut_tso_front(no_vnet, 100));

    // A shared buffer (a mirror's copy) is not changed by the cut.
    Packet shared = frames::packet(bytes, kVnet);
    const Packet other = shared;
    REQUIRE(cut_tso_front(shared, 100));
    CHECK(std::equal(bytes.begin(), bytes.end(), other.data(), other.data() + other.len));
}
