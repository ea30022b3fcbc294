// frame_parse: bounds-checked parsing of one COLO chardev payload
// (optional virtio-net header + Ethernet frame) down to L4.
//
// Plain code: no TBB, no engine types. Shared by the comparator, the rewriter
// and the dump sink. QEMU's parse_packet_early() (net/colo.c) accepts only
// untagged IPv4; this parser also understands 802.1Q/802.1ad tags and IPv6 so
// that callers can choose (the comparator's `ipv6`/`vlan` properties).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace colo {

// virtio_net_hdr_v1_hash is the largest header QEMU accepts (net/colo.c
// parse_packet_early()).
constexpr uint32_t kMaxVnetHdrLen = 20;

enum class ParseStatus : uint8_t {
    ok,       // IPv4 or IPv6 header parsed; l4 fields valid when has_l4
    not_ip,   // ARP or another non-IP ethertype
    runt,     // shorter than an Ethernet header (+vnet)
    bad_vnet, // vnet_hdr_len > 20 or larger than the frame
    bad_ip,   // IP header malformed or truncated (IHL < 5, version mismatch...)
};

const char* to_string(ParseStatus s);

namespace tcpflag {
constexpr uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20;
}

struct ParsedFrame {
    ParseStatus status = ParseStatus::runt;
    uint32_t vnet_len = 0;        // bytes of virtio-net header before Ethernet
    uint32_t l3_off = 0;          // offset of the IP header in the buffer
    uint16_t ethertype = 0;       // innermost ethertype (after VLAN tags)
    uint16_t vlan_tci = 0;        // outermost tag's TCI when vlan_tags > 0
    uint8_t vlan_tags = 0;        // number of 802.1Q/802.1ad tags seen
    uint8_t ip_version = 0;       // 4 or 6 when status == ok
    uint8_t l4_proto = 0;         // IPv4 protocol / IPv6 final next-header
    bool is_fragment = false;     // IPv4 MF or offset != 0; IPv6 fragment header
    bool has_l4 = false;          // L4 header fully present (TCP: incl. options)
    uint32_t l4_off = 0;          // offset of the L4 header in the buffer
    uint32_t l3_end = 0;          // end of the IP datagram (IP total length), <= buffer len;
                                  // bytes after it are Ethernet padding, never payload
    bool ip_len_mismatch = false; // IP total length disagreed with the frame (clamped)

    // Addresses: IPv4 uses the first 4 bytes, the rest zero.
    std::array<uint8_t, 16> src{}, dst{};
    uint16_t sport = 0, dport = 0; // TCP/UDP/SCTP/UDP-Lite/DCCP ports, else 0

    // TCP only (valid when l4_proto == 6 && has_l4)
    uint32_t seq = 0, ack = 0;
    uint8_t tcp_flags = 0;
    uint16_t window = 0;
    uint32_t payload_off = 0; // first payload byte (TCP/UDP: after L4 header)
    uint32_t payload_len = 0; // l3_end - payload_off (never counts padding)

    bool ok() const { return status == ParseStatus::ok; }
    bool is_tcp() const { return ok() && l4_proto == 6 && has_l4 && !is_fragment; }
    bool is_udp() const { return ok() && l4_proto == 17 && has_l4 && !is_fragment; }
};

// Parse `len` bytes starting at `data`; the first `vnet_len` bytes are the
// virtio-net header. Never reads outside [data, data+len).
ParsedFrame parse_frame(const uint8_t* data, std::size_t len, uint32_t vnet_len);

// "10.0.0.1" / "fe80::1" for the parsed address of the given IP version.
std::string format_ip(const std::array<uint8_t, 16>& addr, uint8_t ip_version);

inline uint16_t load_be16(const uint8_t* p)
{
    return uint16_t(p[0] << 8 | p[1]);
}
inline uint32_t load_be32(const uint8_t* p)
{
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void store_be16(uint8_t* p, uint16_t v)
{
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}
inline void store_be32(uint8_t* p, uint32_t v)
{
    p[0] = uint8_t(v >> 24);
    p[1] = uint8_t(v >> 16);
    p[2] = uint8_t(v >> 8);
    p[3] = uint8_t(v);
}

} // namespace colo
