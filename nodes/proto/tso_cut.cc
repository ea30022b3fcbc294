#include "nodes/proto/tso_cut.hh"

#include "nodes/proto/checksum.hh"
#include "nodes/proto/frame_parse.hh"

#include <cstring>

namespace colo {

namespace {

// struct virtio_net_hdr (include/uapi/linux/virtio_net.h), little-endian.
constexpr uint32_t kGsoTypeOff = 1, kGsoSizeOff = 4;
constexpr uint8_t kNeedsCsum = 0x01, kGsoTcpV4 = 1, kGsoTcpV6 = 4, kGsoEcn = 0x80;
constexpr uint8_t kCwr = 0x80;

uint16_t load_le16(const uint8_t* p)
{
    return uint16_t(p[0] | p[1] << 8);
}

// Gives the frame at `d` (laid out as `f`, whose payload is now `payload`
// bytes) its IP length, sequence number, flags, checksum and GSO type.
void rebuild_headers(uint8_t* d, std::size_t len, const ParsedFrame& f, uint32_t payload, uint32_t seq, uint8_t flags)
{
    const uint32_t old_l4_len = f.l3_end - f.l4_off, l4_len = f.payload_off - f.l4_off + payload;
    uint8_t* ip = d + f.l3_off;
    if (f.ip_version == 4) {
        const uint16_t old_total = load_be16(ip + 2), total = uint16_t(f.payload_off - f.l3_off + payload);
        store_be16(ip + 2, total);
        store_be16(ip + 10, checksum_update16(load_be16(ip + 10), old_total, total));
    } else {
        store_be16(ip + 4, uint16_t(f.payload_off - f.l3_off - 40 + payload));
    }
    uint8_t* tcp = d + f.l4_off;
    store_be32(tcp + 4, seq);
    tcp[13] = flags;
    uint8_t* check = tcp + l4_checksum_field(6);
    if (d[0] & kNeedsCsum) {
        // The field holds the (uncomplemented) pseudo-header sum, whose only
        // changed term is the TCP length.
        store_be16(check,
                   uint16_t(~checksum_update16(uint16_t(~load_be16(check)), uint16_t(old_l4_len), uint16_t(l4_len))));
    } else {
        const ParsedFrame now = parse_frame(d, len, f.vnet_len);
        if (auto c = l4_checksum(d, now)) store_be16(check, *c);
    }
    if (payload <= load_le16(d + kGsoSizeOff)) {
        d[kGsoTypeOff] = 0; // VIRTIO_NET_HDR_GSO_NONE: one segment is a plain frame
        d[kGsoSizeOff] = d[kGsoSizeOff + 1] = 0;
    }
}

} // namespace

bool is_tso_frame(const Packet& p)
{
    if (p.vnet_len < 10 || p.len < p.vnet_len) return false;
    const uint8_t type = p.data()[kGsoTypeOff] & uint8_t(~kGsoEcn);
    return (type == kGsoTcpV4 || type == kGsoTcpV6) && load_le16(p.data() + kGsoSizeOff) != 0;
}

std::optional<Packet> cut_tso_front(Packet& p, uint32_t payload_bytes)
{
    if (!is_tso_frame(p)) return std::nullopt;
    const ParsedFrame f = parse_frame(p.data(), p.len, p.vnet_len);
    if (!f.is_tcp() || f.l3_end != p.len || payload_bytes == 0 || payload_bytes >= f.payload_len) return std::nullopt;
    const uint32_t headers = f.payload_off, rest = f.payload_len - payload_bytes;

    Packet front = Packet::copy_of(p.data(), headers + payload_bytes, p.vnet_len, p.ts_ns);
    front.ingress = p.ingress;
    front.seq = p.seq;
    rebuild_headers(front.mutable_data(), front.len, f, payload_bytes, f.seq,
                    f.tcp_flags & uint8_t(~(tcpflag::FIN | tcpflag::PSH)));

    // The rest: the same headers, moved up to just before its payload.
    uint8_t* d = p.mutable_data();
    std::memmove(d + payload_bytes, d, headers);
    p.advance(payload_bytes);
    rebuild_headers(p.mutable_data(), p.len, f, rest, f.seq + payload_bytes, f.tcp_flags & uint8_t(~kCwr));
    return front;
}

} // namespace colo
