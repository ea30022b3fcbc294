#include "nodes/dump.hh"

#include "engine/registry.hh"
#include "nodes/proto/frame_parse.hh"

namespace colo {

namespace {

namespace port {
constexpr InPortId in{0, "in"};
}
namespace prop {
constexpr StringProperty file{"file"};
}
namespace counter {
constexpr CounterId packets{0, "packets"};
}

uint32_t fnv1a(const uint8_t* p, std::size_t n)
{
    uint32_t h = 2166136261u;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
    return h;
}

std::string endpoint(const ParsedFrame& f, const std::array<uint8_t, 16>& a, uint16_t port, bool with_port)
{
    std::string ip = format_ip(a, f.ip_version);
    if (!with_port) return ip;
    return (f.ip_version == 6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

std::string tcp_flags(uint8_t fl)
{
    std::string s;
    if (fl & tcpflag::SYN) s += 'S';
    if (fl & tcpflag::FIN) s += 'F';
    if (fl & tcpflag::RST) s += 'R';
    if (fl & tcpflag::PSH) s += 'P';
    if (fl & tcpflag::URG) s += 'U';
    if (fl & tcpflag::ACK) s += '.';
    return s.empty() ? "none" : s;
}

} // namespace

std::string describe_packet(const Packet& p, uint64_t base_ts_ns)
{
    char buf[320];
    const uint64_t rel = p.ts_ns >= base_ts_ns ? p.ts_ns - base_ts_ns : 0;
    int n = std::snprintf(buf, sizeof buf, "%llu.%06llu ", (unsigned long long)(rel / 1'000'000'000ull),
                          (unsigned long long)(rel % 1'000'000'000ull / 1000));
    std::string s(buf, std::size_t(n));
    if (p.vnet_len) s += "vnet=" + std::to_string(p.vnet_len) + " ";
    const ParsedFrame f = parse_frame(p.data(), p.len, p.vnet_len);
    if (f.vlan_tags) s += "vlan=" + std::to_string(f.vlan_tci & 0x0fff) + " ";
    const uint8_t* d = p.data();
    if (!f.ok()) {
        if (f.status == ParseStatus::not_ip)
            std::snprintf(buf, sizeof buf, "ether 0x%04x len=%u hash=%08x", f.ethertype, p.frame_len(),
                          fnv1a(p.frame(), p.frame_len()));
        else
            std::snprintf(buf, sizeof buf, "malformed(%s) len=%u hash=%08x", to_string(f.status), p.frame_len(),
                          fnv1a(p.frame(), p.frame_len()));
        return s + buf;
    }
    const bool ports = f.has_l4 && (f.sport || f.dport);
    const std::string src = endpoint(f, f.src, f.sport, ports), dst = endpoint(f, f.dst, f.dport, ports);
    if (f.is_tcp()) {
        std::snprintf(buf, sizeof buf, "tcp %s > %s [%s] seq=%u ack=%u len=%u hash=%08x", src.c_str(), dst.c_str(),
                      tcp_flags(f.tcp_flags).c_str(), f.seq, f.ack, f.payload_len,
                      fnv1a(d + f.payload_off, f.payload_len));
    } else if (f.is_udp()) {
        std::snprintf(buf, sizeof buf, "udp %s > %s len=%u hash=%08x", src.c_str(), dst.c_str(), f.payload_len,
                      fnv1a(d + f.payload_off, f.payload_len));
    } else if ((f.l4_proto == 1 || f.l4_proto == 58) && f.has_l4) {
        std::snprintf(buf, sizeof buf, "%s %s > %s type=%u code=%u len=%u hash=%08x",
                      f.l4_proto == 1 ? "icmp" : "icmp6", src.c_str(), dst.c_str(), d[f.l4_off], d[f.l4_off + 1],
                      f.l3_end - f.l4_off, fnv1a(d + f.l4_off, f.l3_end - f.l4_off));
    } else {
        std::snprintf(buf, sizeof buf, "ip proto=%u %s > %s%s len=%u hash=%08x", f.l4_proto, src.c_str(), dst.c_str(),
                      f.is_fragment ? " frag" : "", f.l3_end - f.l4_off, fnv1a(d + f.l4_off, f.l3_end - f.l4_off));
    }
    return s + buf;
}

DumpSink::DumpSink(const Properties& p) : out_(p.get(prop::file)) {}

void DumpSink::push(int, const Batch& batch, Emit&)
{
    for (const auto& p : batch.packets) {
        if (!base_ts_) base_ts_ = p.ts_ns;
        out_.line(describe_packet(p, base_ts_));
    }
    count(counter::packets, batch.size());
}

namespace {
NodeSpec spec()
{
    return {
        .type = "dump",
        .summary = "Write one text line per packet (golden-test format)",
        .description = "Writes a line per packet with relative time, protocol, addresses and ports, TCP flags, "
                       "sequence and acknowledgment numbers, payload length and a payload hash. Golden replay tests "
                       "compare these lines.",
        .ports = {declare(port::in, "packets to describe", Link::required)},
        .properties = {declare(prop::file, {.default_value = "-", .doc = "output file; - for standard output"})},
        .counters = {declare(counter::packets, "lines written")},
        .factory = construct<DumpSink>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
