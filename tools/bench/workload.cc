#include "tools/bench/workload.hh"

#include "nodes/proto/checksum.hh"
#include "nodes/proto/frame_parse.hh"

#include <cstring>
#include <stdexcept>

namespace colo::bench {

namespace {

constexpr uint32_t kEthIpLen = 14 + 20;
constexpr uint32_t kUdpPayloadOff = kEthIpLen + 8;
constexpr uint32_t kTcpPayloadOff = kEthIpLen + 20;
constexpr uint16_t kFirstSourcePort = 10000, kDataPort = 5001, kWarmupPort = 5002;
// UDP flows beyond this many ports move to the next source address.
constexpr uint32_t kPortsPerAddress = 50000, kMaxUdpFlows = 1u << 24;

// Ethernet + IPv4 header, guest 10.0.0.2 -> client 10.0.0.1, DF, TTL 64.
void put_eth_ipv4(uint8_t* f, uint8_t proto, uint32_t frame_len)
{
    const uint8_t eth[14] = {0x52, 0x54, 0, 0x65, 0x43, 0x21, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x00};
    std::memcpy(f, eth, sizeof eth);
    uint8_t* ip = f + 14;
    std::memset(ip, 0, 20);
    ip[0] = 0x45;
    store_be16(ip + 2, uint16_t(frame_len - 14));
    store_be16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = proto;
    const uint8_t src[4] = {10, 0, 0, 2}, dst[4] = {10, 0, 0, 1};
    std::memcpy(ip + 12, src, 4);
    std::memcpy(ip + 16, dst, 4);
    store_be16(ip + 10, internet_checksum(ip, 20));
}

// [u32 BE length][UDP frame of `frame_size` bytes], payload zero.
std::vector<uint8_t> udp_record(uint32_t frame_size, uint16_t sport, uint16_t dport)
{
    std::vector<uint8_t> r(4 + frame_size, 0);
    store_be32(r.data(), frame_size);
    uint8_t* f = r.data() + 4;
    put_eth_ipv4(f, 17, frame_size);
    store_be16(f + kEthIpLen, sport);
    store_be16(f + kEthIpLen + 2, dport);
    store_be16(f + kEthIpLen + 4, uint16_t(frame_size - kEthIpLen));
    return r;
}

bool is_ipv4_to(const uint8_t* f, uint32_t len, uint8_t proto, uint32_t min_len, uint16_t dport)
{
    return len >= min_len && load_be16(f + 12) == 0x0800 && f[14] == 0x45 && f[23] == proto &&
           load_be16(f + kEthIpLen + 2) == dport;
}

// Stream content at byte `offset` of a TCP chunk: deterministic, not constant,
// so a comparator that matched the wrong offsets would see a difference.
uint8_t stream_byte(uint32_t offset)
{
    return uint8_t(offset * 131 + (offset >> 8));
}

// One chunk's segments of `segment` payload bytes, sequence relative to 0.
std::vector<uint8_t> tcp_chunk(uint32_t chunk_bytes, uint32_t segment)
{
    std::vector<uint8_t> out;
    const uint32_t frame_len = kTcpPayloadOff + segment;
    for (uint32_t off = 0; off < chunk_bytes; off += segment) {
        const std::size_t at = out.size();
        out.resize(at + 4 + frame_len, 0);
        store_be32(&out[at], frame_len);
        uint8_t* f = &out[at + 4];
        put_eth_ipv4(f, 6, frame_len);
        uint8_t* tcp = f + kEthIpLen;
        store_be16(tcp, kFirstSourcePort);
        store_be16(tcp + 2, kDataPort);
        store_be32(tcp + 4, off);
        store_be32(tcp + 8, 5000);
        tcp[12] = 5 << 4;
        tcp[13] = tcpflag::ACK | tcpflag::PSH;
        store_be16(tcp + 14, 65535);
        for (uint32_t i = 0; i < segment; ++i) f[kTcpPayloadOff + i] = stream_byte(off + i);
    }
    return out;
}

// Adds `seq_base` to every record's sequence number and sets the source port.
void patch_tcp_chunk(std::vector<uint8_t>& records, uint32_t seq_base, uint16_t sport)
{
    for (std::size_t at = 0; at < records.size();) {
        const uint32_t len = load_be32(&records[at]);
        uint8_t* tcp = &records[at + 4 + kEthIpLen];
        store_be16(tcp, sport);
        store_be32(tcp + 4, load_be32(tcp + 4) + seq_base);
        at += 4 + len;
    }
}

} // namespace

UdpPairs::UdpPairs(uint32_t frame_size, uint32_t flows, uint64_t pairs, uint32_t chunk_pairs)
    : frame_size_(frame_size),
      flows_(flows),
      chunk_pairs_(chunk_pairs),
      chunks_((pairs + chunk_pairs - 1) / chunk_pairs)
{
    if (frame_size < 60 || frame_size > 9000) throw std::invalid_argument("UDP frame size must be 60..9000");
    if (flows == 0 || flows > kMaxUdpFlows) throw std::invalid_argument("UDP flows must be 1..16777216");
    record_template_ = udp_record(frame_size, kFirstSourcePort, kDataPort);
    uint8_t* payload = record_template_.data() + 4 + kUdpPayloadOff;
    for (uint32_t i = 4; i < frame_size - kUdpPayloadOff; ++i) payload[i] = uint8_t(i * 7);
}

std::string UdpPairs::describe() const
{
    return "UDP, " + std::to_string(frame_size_) + "-byte frames, " + std::to_string(flows_) + " flow" +
           (flows_ == 1 ? "" : "s") + ", identical on both sides";
}

void UdpPairs::record(uint64_t pair, std::vector<uint8_t>& out) const
{
    const std::size_t at = out.size();
    out.insert(out.end(), record_template_.begin(), record_template_.end());
    uint8_t* f = &out[at + 4];
    const uint32_t flow = uint32_t(pair % flows_);
    store_be16(f + kEthIpLen, uint16_t(kFirstSourcePort + flow % kPortsPerAddress));
    store_be32(f + kUdpPayloadOff, uint32_t(pair));
    if (flow >= kPortsPerAddress) { // source 10.0.0.2 + flow / 50000
        uint8_t* ip = f + 14;
        store_be32(ip + 12, load_be32(ip + 12) + flow / kPortsPerAddress);
        store_be16(ip + 10, 0);
        store_be16(ip + 10, internet_checksum(ip, 20));
    }
}

void UdpPairs::fill(uint64_t chunk, std::vector<uint8_t>& primary, std::vector<uint8_t>& secondary) const
{
    primary.clear();
    for (uint64_t i = 0; i < chunk_pairs_; ++i) record(chunk * chunk_pairs_ + i, primary);
    secondary = primary;
}

bool UdpPairs::identify(const uint8_t* frame, uint32_t len, const std::vector<uint64_t>&, FrameId& id) const
{
    if (!is_ipv4_to(frame, len, 17, kUdpPayloadOff + 4, kDataPort)) return false;
    id.pair = load_be32(frame + kUdpPayloadOff);
    id.flow = uint32_t(id.pair % flows_);
    return true;
}

TcpResegmented::TcpResegmented(uint32_t flows, uint64_t min_pairs)
    : flows_(flows),
      chunks_((min_pairs + kChunkBytes / kPrimarySegment - 1) / (kChunkBytes / kPrimarySegment)),
      primary_template_(tcp_chunk(kChunkBytes, kPrimarySegment)),
      secondary_template_(tcp_chunk(kChunkBytes, kSecondarySegment))
{
    if (flows == 0 || flows > 50000) throw std::invalid_argument("TCP flows must be 1..50000");
}

std::string TcpResegmented::describe() const
{
    return "TCP, " + std::to_string(flows_) + " stream" + (flows_ == 1 ? "" : "s") + ", primary " +
           std::to_string(kPrimarySegment) + "-byte segments, secondary " + std::to_string(kSecondarySegment) +
           "-byte segments";
}

void TcpResegmented::fill(uint64_t chunk, std::vector<uint8_t>& primary, std::vector<uint8_t>& secondary) const
{
    const uint32_t seq_base = uint32_t(kIsn + (chunk / flows_) * kChunkBytes);
    const uint16_t sport = uint16_t(kFirstSourcePort + chunk % flows_);
    primary = primary_template_;
    secondary = secondary_template_;
    patch_tcp_chunk(primary, seq_base, sport);
    patch_tcp_chunk(secondary, seq_base, sport);
}

bool TcpResegmented::identify(const uint8_t* frame, uint32_t len, const std::vector<uint64_t>& last_of_flow,
                              FrameId& id) const
{
    if (!is_ipv4_to(frame, len, 6, kTcpPayloadOff, kDataPort)) return false;
    const uint32_t flow = load_be16(frame + kEthIpLen) - kFirstSourcePort;
    if (flow >= flows_) return false;
    // The stream offset nearest the flow's last released one that has these
    // low 32 bits: releases of a flow never jump by 2 GiB.
    uint64_t near = 0;
    if (const uint64_t last = last_of_flow[flow]; last != kNoPair)
        near = last / chunk_pairs() / flows_ * kChunkBytes + last % chunk_pairs() * kPrimarySegment;
    const uint32_t low = load_be32(frame + kEthIpLen + 4) - kIsn;
    const int64_t stream_off = int64_t(near) + int32_t(low - uint32_t(near));
    if (stream_off < 0) return false;
    const uint64_t chunk = uint64_t(stream_off) / kChunkBytes * flows_ + flow;
    id.flow = flow;
    id.pair = chunk * chunk_pairs() + (stream_off % kChunkBytes) / kPrimarySegment;
    return true;
}

std::vector<uint8_t> warmup_record(uint32_t serial)
{
    std::vector<uint8_t> r = udp_record(64, 9000, kWarmupPort);
    store_be32(r.data() + 4 + kUdpPayloadOff, serial);
    return r;
}

bool is_warmup(const uint8_t* frame, uint32_t len)
{
    return is_ipv4_to(frame, len, 17, 64, kWarmupPort);
}

} // namespace colo::bench
