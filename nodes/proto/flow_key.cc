#include "nodes/proto/flow_key.hh"

#include <cstring>

namespace colo {

bool ip_proto_has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 33 || proto == 132 || proto == 136;
}

std::string ip_proto_name(uint8_t proto)
{
    switch (proto) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 33: return "dccp";
    case 58: return "icmp6";
    case 132: return "sctp";
    case 136: return "udplite";
    }
    return "proto " + std::to_string(proto);
}

FlowKey FlowKey::from_frame(const ParsedFrame& f)
{
    FlowKey k;
    k.src = f.src;
    k.dst = f.dst;
    k.sport = f.sport;
    k.dport = f.dport;
    k.vlan = f.vlan_tags ? uint16_t(f.vlan_tci & 0x0fff) : 0;
    k.ip_version = f.ip_version;
    k.proto = f.l4_proto;
    return k;
}

FlowKey FlowKey::reversed() const
{
    FlowKey r = *this;
    std::swap(r.src, r.dst);
    std::swap(r.sport, r.dport);
    return r;
}

FlowKey FlowKey::normalized() const
{
    const int c = std::memcmp(src.data(), dst.data(), src.size());
    const bool swap = c > 0 || (c == 0 && sport > dport);
    return swap ? reversed() : *this;
}

std::size_t FlowKey::hash() const
{
    uint64_t w[5];
    std::memcpy(w, this, sizeof w);
    // Independent multiplies (they run in parallel, unlike a chain through
    // every word), then one 64x64->128 multiply folds the high bits into the
    // low ones the table indexes by. Odd multipliers: a change in any single
    // word always changes the sum.
    const uint64_t sum = w[0] * 0x9e3779b97f4a7c15ull + w[1] * 0xc2b2ae3d27d4eb4full + w[2] * 0x165667b19e3779f9ull +
                         w[3] * 0xd6e8feb86659fd93ull + w[4] * 0xff51afd7ed558ccdull;
    const unsigned __int128 p = (unsigned __int128)(sum ^ (sum >> 32)) * 0xc4ceb9fe1a85ec53ull;
    return std::size_t(uint64_t(p) ^ uint64_t(p >> 64));
}

namespace {
std::string endpoint(const std::array<uint8_t, 16>& addr, uint8_t ip_version, bool ports, uint16_t port)
{
    std::string ip = format_ip(addr, ip_version);
    if (!ports) return ip;
    return (ip_version == 6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}
} // namespace

std::string FlowKey::to_string() const
{
    const bool ports = ip_proto_has_ports(proto) && (sport || dport);
    std::string s = ip_proto_name(proto) + " " + endpoint(src, ip_version, ports, sport) + " > " +
                    endpoint(dst, ip_version, ports, dport);
    if (vlan) s += " vlan " + std::to_string(vlan);
    return s;
}

} // namespace colo
