#include "nodes/proto/frame_parse.hh"

#include <arpa/inet.h>
#include <cstring>

namespace colo {

const char* to_string(ParseStatus s)
{
    switch (s) {
    case ParseStatus::ok: return "ok";
    case ParseStatus::not_ip: return "not_ip";
    case ParseStatus::runt: return "runt";
    case ParseStatus::bad_vnet: return "bad_vnet";
    case ParseStatus::bad_ip: return "bad_ip";
    }
    return "?";
}

namespace {

constexpr uint16_t kEthIPv4 = 0x0800, kEthIPv6 = 0x86dd, kEthVlan = 0x8100, kEthQinQ = 0x88a8;

bool has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 33 || proto == 132 || proto == 136;
}

// Fills the L4 fields once l4_off, l3_end and l4_proto are known.
void parse_l4(const uint8_t* d, ParsedFrame& f)
{
    const uint32_t avail = f.l3_end > f.l4_off ? f.l3_end - f.l4_off : 0;
    const uint8_t* l4 = d + f.l4_off;
    if (f.is_fragment) return; // only a first fragment has L4 bytes, and they are incomplete
    if (f.l4_proto == 6) {
        if (avail < 20) return;
        uint32_t doff = uint32_t(l4[12] >> 4) * 4;
        if (doff < 20 || doff > avail) return;
        f.sport = load_be16(l4);
        f.dport = load_be16(l4 + 2);
        f.seq = load_be32(l4 + 4);
        f.ack = load_be32(l4 + 8);
        f.tcp_flags = l4[13];
        f.window = load_be16(l4 + 14);
        f.payload_off = f.l4_off + doff;
        f.payload_len = f.l3_end - f.payload_off;
        f.has_l4 = true;
    } else if (f.l4_proto == 17 || f.l4_proto == 136) {
        if (avail < 8) return;
        f.sport = load_be16(l4);
        f.dport = load_be16(l4 + 2);
        f.payload_off = f.l4_off + 8;
        f.payload_len = f.l3_end - f.payload_off;
        f.has_l4 = true;
    } else if (has_ports(f.l4_proto)) {
        if (avail < 4) return;
        f.sport = load_be16(l4);
        f.dport = load_be16(l4 + 2);
        f.payload_off = f.l4_off;
        f.payload_len = avail;
        f.has_l4 = true;
    } else {
        // ICMP, ICMPv6 and anything else: payload is the whole L4 part.
        f.payload_off = f.l4_off;
        f.payload_len = avail;
        f.has_l4 = (f.l4_proto == 1 || f.l4_proto == 58) ? avail >= 4 : true;
    }
}

void parse_ipv4(const uint8_t* d, std::size_t len, ParsedFrame& f)
{
    const uint32_t off = f.l3_off;
    if (len < off + 20) {
        f.status = ParseStatus::bad_ip;
        return;
    }
    const uint8_t* ip = d + off;
    if ((ip[0] >> 4) != 4) {
        f.status = ParseStatus::bad_ip;
        return;
    }
    uint32_t ihl = uint32_t(ip[0] & 0x0f) * 4;
    if (ihl < 20 || len < off + ihl) {
        f.status = ParseStatus::bad_ip;
        return;
    }
    uint32_t total = load_be16(ip + 2);
    if (total < ihl) {
        f.status = ParseStatus::bad_ip;
        return;
    }
    f.ip_version = 4;
    f.l3_end = off + total;
    if (f.l3_end > len) {
        f.ip_len_mismatch = true;
        f.l3_end = uint32_t(len);
    }
    uint16_t frag = load_be16(ip + 6);
    f.is_fragment = (frag & 0x2000) || (frag & 0x1fff);
    f.l4_proto = ip[9];
    std::memcpy(f.src.data(), ip + 12, 4);
    std::memcpy(f.dst.data(), ip + 16, 4);
    f.l4_off = off + ihl;
    f.status = ParseStatus::ok;
    parse_l4(d, f);
}

bool is_ipv6_ext(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44;
}

void parse_ipv6(const uint8_t* d, std::size_t len, ParsedFrame& f)
{
    const uint32_t off = f.l3_off;
    if (len < off + 40) {
        f.status = ParseStatus::bad_ip;
        return;
    }
    const uint8_t* ip = d + off;
    if ((ip[0] >> 4) != 6) {
        f.status = ParseStatus::bad_ip;
        return;
    }
    f.ip_version = 6;
    f.l3_end = off + 40 + load_be16(ip + 4);
    if (f.l3_end > len) {
        f.ip_len_mismatch = true;
        f.l3_end = uint32_t(len);
    }
    std::memcpy(f.src.data(), ip + 8, 16);
    std::memcpy(f.dst.data(), ip + 24, 16);
    uint8_t nh = ip[6];
    uint32_t p = off + 40;
    // Walk extension headers, bounded by the datagram and a small hop count.
    for (int hops = 0; is_ipv6_ext(nh) && hops < 8; ++hops) {
        if (p + 8 > f.l3_end) {
            f.status = ParseStatus::bad_ip;
            return;
        }
        uint32_t hlen = nh == 51 ? (uint32_t(d[p + 1]) + 2) * 4 : nh == 44 ? 8 : (uint32_t(d[p + 1]) + 1) * 8;
        if (nh == 44 && (load_be16(d + p + 2) & 0xfff9)) f.is_fragment = true;
        nh = d[p];
        p += hlen;
    }
    if (is_ipv6_ext(nh) || p > f.l3_end) {
        f.status = ParseStatus::bad_ip;
        return;
    }
    f.l4_proto = nh;
    f.l4_off = p;
    f.status = ParseStatus::ok;
    parse_l4(d, f);
}

} // namespace

ParsedFrame parse_frame(const uint8_t* data, std::size_t len, uint32_t vnet_len)
{
    ParsedFrame f;
    f.vnet_len = vnet_len;
    if (vnet_len > kMaxVnetHdrLen || vnet_len > len) {
        f.status = ParseStatus::bad_vnet;
        return f;
    }
    if (len < vnet_len + 14) {
        f.status = ParseStatus::runt;
        return f;
    }
    uint32_t off = vnet_len + 12;
    uint16_t type = load_be16(data + off);
    while ((type == kEthVlan || type == kEthQinQ) && f.vlan_tags < 2) {
        if (len < off + 6) {
            f.status = ParseStatus::runt;
            return f;
        }
        if (f.vlan_tags == 0) f.vlan_tci = load_be16(data + off + 2);
        ++f.vlan_tags;
        off += 4;
        type = load_be16(data + off);
    }
    f.ethertype = type;
    f.l3_off = off + 2;
    if (type == kEthIPv4) parse_ipv4(data, len, f);
    else if (type == kEthIPv6) parse_ipv6(data, len, f);
    else f.status = ParseStatus::not_ip;
    return f;
}

std::string format_ip(const std::array<uint8_t, 16>& addr, uint8_t ip_version)
{
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(ip_version == 6 ? AF_INET6 : AF_INET, addr.data(), buf, sizeof buf);
    return buf;
}

} // namespace colo
