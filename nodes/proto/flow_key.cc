#include "nodes/proto/flow_key.hh"

#include <cstring>
#include <type_traits>

namespace colo {

// Hashing reads the key as raw words, so it must have no padding bytes.
static_assert(sizeof(FlowKey) == 40 && std::has_unique_object_representations_v<FlowKey>);

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
    uint64_t words[5];
    std::memcpy(words, this, sizeof words);
    uint64_t h = 0x243f6a8885a308d3ull;
    for (uint64_t w : words) {
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    // murmur3 finaliser: every input bit affects the low bits used for buckets
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return std::size_t(h);
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
