// Frame builders for protocol tests: Ethernet (optionally 802.1Q-tagged,
// optionally behind a zeroed virtio-net header) + IPv4/IPv6 + TCP, UDP, ICMP,
// ICMPv6 or any other protocol, and ARP. Checksums are correct unless turned
// off, so the same frames serve checksum-sensitive tests (the rewriter).
//
//     frames::Endpoints ep;                       // 10.0.0.1:1234 > 10.0.0.2:80
//     auto syn = frames::tcp(ep, 1000, 0, tcpflag::SYN, "");
//     Packet p = frames::packet(syn, ep.vnet_len);
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/packet.hh"
#include "nodes/proto/checksum.hh"
#include "nodes/proto/frame_parse.hh"

namespace colo::frames {

struct Endpoints {
    uint8_t ip_version = 4;
    std::string src = "10.0.0.1", dst = "10.0.0.2";
    uint16_t sport = 1234, dport = 80;
    std::optional<uint16_t> vlan; // 802.1Q tag with this VLAN id
    uint8_t ttl = 64;             // IPv6: hop limit
    uint16_t ip_id = 0;           // IPv4 only
    std::size_t pad_to = 0;       // Ethernet padding up to this frame length (e.g. 60)
    uint32_t vnet_len = 0;        // zero-filled virtio-net header in front
    bool checksums = true;        // compute IPv4, TCP, UDP, ICMP and ICMPv6 checksums

    // The reply direction: addresses and ports swapped.
    Endpoints reversed() const
    {
        Endpoints r = *this;
        std::swap(r.src, r.dst);
        std::swap(r.sport, r.dport);
        return r;
    }
};

inline std::vector<uint8_t> bytes(std::string_view s)
{
    return {s.begin(), s.end()};
}

namespace detail {

inline void put_addr(uint8_t* at, const std::string& text, uint8_t ip_version)
{
    if (inet_pton(ip_version == 6 ? AF_INET6 : AF_INET, text.c_str(), at) != 1)
        throw std::invalid_argument("frames: bad address " + text);
}

inline uint16_t icmp6_checksum(const uint8_t* ip6, const uint8_t* msg, std::size_t len)
{
    uint8_t pseudo_tail[8] = {0, 0, 0, 0, 0, 0, 0, 58};
    store_be32(pseudo_tail, uint32_t(len));
    uint64_t sum = ones_complement_add(0, ip6 + 8, 32); // source + destination
    sum = ones_complement_add(sum, pseudo_tail, 8);
    sum = ones_complement_add(sum, msg, len);
    return uint16_t(~fold_ones_complement(sum));
}

// vnet + Ethernet (+ tag) + IP header around an L4 message, then padding and
// checksums.
inline std::vector<uint8_t> ip_packet(const Endpoints& ep, uint8_t proto, const std::vector<uint8_t>& l4)
{
    std::vector<uint8_t> f(ep.vnet_len, 0);
    const uint8_t macs[12] = {0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1};
    f.insert(f.end(), macs, macs + 12);
    if (ep.vlan) f.insert(f.end(), {0x81, 0x00, uint8_t(*ep.vlan >> 8 & 0x0f), uint8_t(*ep.vlan)});
    const bool v6 = ep.ip_version == 6;
    f.insert(f.end(), {uint8_t(v6 ? 0x86 : 0x08), uint8_t(v6 ? 0xdd : 0x00)});

    const std::size_t ip = f.size();
    const std::size_t ip_hlen = v6 ? 40 : 20;
    f.resize(ip + ip_hlen, 0);
    uint8_t* h = f.data() + ip;
    if (v6) {
        h[0] = 0x60;
        store_be16(h + 4, uint16_t(l4.size()));
        h[6] = proto;
        h[7] = ep.ttl;
        put_addr(h + 8, ep.src, 6);
        put_addr(h + 24, ep.dst, 6);
    } else {
        h[0] = 0x45;
        store_be16(h + 2, uint16_t(20 + l4.size()));
        store_be16(h + 4, ep.ip_id);
        h[8] = ep.ttl;
        h[9] = proto;
        put_addr(h + 12, ep.src, 4);
        put_addr(h + 16, ep.dst, 4);
        if (ep.checksums) store_be16(h + 10, internet_checksum(h, 20));
    }
    f.insert(f.end(), l4.begin(), l4.end());
    if (f.size() - ep.vnet_len < ep.pad_to) f.resize(ep.vnet_len + ep.pad_to, 0);

    if (ep.checksums) {
        uint8_t* m = f.data() + ip + ip_hlen;
        if (proto == 6 || proto == 17) {
            const ParsedFrame pf = parse_frame(f.data(), f.size(), ep.vnet_len);
            if (auto c = l4_checksum(f.data(), pf)) store_be16(m + l4_checksum_field(proto), *c);
        } else if (proto == 1 && !v6) {
            store_be16(m + 2, internet_checksum(m, l4.size()));
        } else if (proto == 58 && v6) {
            store_be16(m + 2, icmp6_checksum(f.data() + ip, m, l4.size()));
        }
    }
    return f;
}

} // namespace detail

// TCP segment. `options` is padded with zeros (EOL) to a multiple of 4 bytes.
inline std::vector<uint8_t> tcp(const Endpoints& ep, uint32_t seq, uint32_t ack, uint8_t flags,
                                std::string_view payload, std::vector<uint8_t> options = {}, uint16_t window = 65535)
{
    options.resize((options.size() + 3) / 4 * 4, 0);
    std::vector<uint8_t> l4;
    l4.reserve(20 + options.size() + payload.size()); // one allocation (and no GCC 12 -Warray-bounds false positive)
    l4.resize(20, 0);
    store_be16(&l4[0], ep.sport);
    store_be16(&l4[2], ep.dport);
    store_be32(&l4[4], seq);
    store_be32(&l4[8], ack);
    l4[12] = uint8_t((20 + options.size()) / 4 << 4);
    l4[13] = flags;
    store_be16(&l4[14], window);
    l4.insert(l4.end(), options.begin(), options.end());
    l4.insert(l4.end(), payload.begin(), payload.end());
    return detail::ip_packet(ep, 6, l4);
}

inline std::vector<uint8_t> udp(const Endpoints& ep, std::string_view payload)
{
    std::vector<uint8_t> l4(8 + payload.size(), 0);
    store_be16(&l4[0], ep.sport);
    store_be16(&l4[2], ep.dport);
    store_be16(&l4[4], uint16_t(l4.size()));
    std::copy(payload.begin(), payload.end(), l4.begin() + 8);
    return detail::ip_packet(ep, 17, l4);
}

// ICMP echo request (IPv4) or ICMPv6 echo request (IPv6).
inline std::vector<uint8_t> icmp_echo(const Endpoints& ep, uint16_t id, uint16_t seq, std::string_view payload)
{
    const bool v6 = ep.ip_version == 6;
    std::vector<uint8_t> l4(8, 0);
    l4[0] = v6 ? 128 : 8;
    store_be16(&l4[4], id);
    store_be16(&l4[6], seq);
    l4.insert(l4.end(), payload.begin(), payload.end());
    return detail::ip_packet(ep, v6 ? 58 : 1, l4);
}

// Any other IP protocol (e.g. 47 GRE) with `payload` right after the IP header.
inline std::vector<uint8_t> ip_proto(const Endpoints& ep, uint8_t proto, std::string_view payload)
{
    return detail::ip_packet(ep, proto, bytes(payload));
}

// ARP request "who has target? tell sender", padded to 60 bytes.
inline std::vector<uint8_t> arp_request(const std::string& sender = "10.0.0.1", const std::string& target = "10.0.0.2",
                                        uint32_t vnet_len = 0)
{
    std::vector<uint8_t> f(vnet_len, 0);
    f.insert(f.end(), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0x06});
    f.insert(f.end(), {0, 1, 0x08, 0x00, 6, 4, 0, 1, 0x52, 0x54, 0, 0, 0, 1});
    f.resize(f.size() + 4);
    detail::put_addr(f.data() + f.size() - 4, sender, 4);
    f.resize(f.size() + 6 + 4, 0);
    detail::put_addr(f.data() + f.size() - 4, target, 4);
    f.resize(vnet_len + 60, 0);
    return f;
}

inline Packet packet(const std::vector<uint8_t>& frame, uint32_t vnet_len = 0, uint64_t ts_ns = 0)
{
    return Packet::copy_of(frame.data(), uint32_t(frame.size()), vnet_len, ts_ns);
}

// What a virtio-net device gets from a stack with TSO: `f` (a TCP frame with
// a vnet header of vnet_len >= 10 bytes) becomes one large segment for the
// device to cut at `mss`. The header (struct virtio_net_hdr, little-endian)
// says NEEDS_CSUM, GSO TCPV4/TCPV6, and where the checksum starts and sits;
// the TCP checksum field holds only the folded pseudo-header sum.
inline void as_tso(std::vector<uint8_t>& f, uint32_t vnet_len, uint16_t mss)
{
    const ParsedFrame pf = parse_frame(f.data(), f.size(), vnet_len);
    if (vnet_len < 10 || !pf.is_tcp()) throw std::invalid_argument("as_tso: not a TCP frame with a vnet header");
    const bool v6 = pf.ip_version == 6;
    const uint8_t* ip = f.data() + pf.l3_off;
    uint64_t pseudo = v6 ? ones_complement_add(0, ip + 8, 32) : ones_complement_add(0, ip + 12, 8);
    pseudo += 6 + (pf.l3_end - pf.l4_off);
    store_be16(&f[pf.l4_off + l4_checksum_field(6)], fold_ones_complement(pseudo));
    const auto le16 = [&](std::size_t at, uint32_t v) {
        f[at] = uint8_t(v);
        f[at + 1] = uint8_t(v >> 8);
    };
    f[0] = 0x01;                        // VIRTIO_NET_HDR_F_NEEDS_CSUM
    f[1] = v6 ? 4 : 1;                  // VIRTIO_NET_HDR_GSO_TCPV6 / TCPV4
    le16(2, pf.payload_off - vnet_len); // hdr_len
    le16(4, mss);                       // gso_size
    le16(6, pf.l4_off - vnet_len);      // csum_start
    le16(8, l4_checksum_field(6));      // csum_offset
}

// What the device does with NEEDS_CSUM: sums from csum_start to the end and
// stores the complement at csum_start + csum_offset.
inline void complete_partial_checksum(uint8_t* data, std::size_t len, uint32_t vnet_len)
{
    const uint32_t start = vnet_len + (data[6] | data[7] << 8), field = start + (data[8] | data[9] << 8);
    store_be16(data + field, uint16_t(~fold_ones_complement(ones_complement_add(0, data + start, len - start))));
}

} // namespace colo::frames
