#include "nodes/generator.hh"

#include "engine/registry.hh"
#include "nodes/proto/frame_parse.hh"

#include <cstring>

namespace colo {

namespace {
namespace port {
constexpr OutPortId out{0, "out"};
}
namespace prop {
constexpr IntProperty count{"count"}, size{"size"}, flows{"flows"};
}
namespace counter {
constexpr CounterId packets{0, "packets"};
}
} // namespace

Generator::Generator(const Properties& p)
    : count_(uint64_t(p.get(prop::count))), size_(uint32_t(p.get(prop::size))), flows_(uint32_t(p.get(prop::flows)))
{}

bool Generator::peek_time(uint64_t& ts_ns)
{
    if (next_ >= count_) return false;
    ts_ns = start_ns_ + next_ * 1000;
    return true;
}

Packet Generator::make(uint64_t n) const
{
    Packet p = Packet::with_capacity(size_);
    uint8_t* f = p.buf.get()->data();
    std::memset(f, 0, size_);
    const uint8_t dst[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}, src[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    std::memcpy(f, dst, 6);
    std::memcpy(f + 6, src, 6);
    store_be16(f + 12, 0x0800);
    uint8_t* ip = f + 14;
    ip[0] = 0x45;
    store_be16(ip + 2, uint16_t(size_ - 14));
    ip[8] = 64;
    ip[9] = 17;
    const uint8_t a[4] = {10, 0, 0, 2}, b[4] = {10, 0, 0, 1};
    std::memcpy(ip + 12, a, 4);
    std::memcpy(ip + 16, b, 4);
    uint8_t* udp = ip + 20;
    store_be16(udp, uint16_t(10000 + n % flows_));
    store_be16(udp + 2, 9);
    store_be16(udp + 4, uint16_t(size_ - 34));
    store_be32(udp + 8, uint32_t(n >> 32));
    store_be32(udp + 12, uint32_t(n));
    p.len = size_;
    p.ts_ns = start_ns_ + n * 1000;
    p.seq = n;
    return p;
}

bool Generator::pull(std::size_t max, uint64_t until_ns, int& out_port, Batch& out)
{
    out_port = port::out.index;
    while (out.size() < max && next_ < count_) {
        if (!out.empty() && start_ns_ + next_ * 1000 > until_ns) break;
        out.packets.push_back(make(next_++));
    }
    count(counter::packets, out.size());
    return !out.empty();
}

namespace {
NodeSpec spec()
{
    return {
        .type = "generator",
        .summary = "Emit synthetic UDP frames (benchmarks and tests)",
        .description = "Emits COUNT Ethernet/IPv4/UDP frames of SIZE bytes, spread round-robin over FLOWS source "
                       "ports. The first 8 payload bytes hold the frame's sequence number (big-endian); timestamps "
                       "advance by 1 µs per frame from 2023-11-14T22:13:20Z.",
        .ports = {declare(port::out, "generated frames")},
        .properties =
            {
                declare(prop::count, {.default_value = "1000", .min = 0, .doc = "frames to emit"}),
                declare(prop::size, {.default_value = "64", .min = 60, .max = 9000, .doc = "frame size in bytes"}),
                declare(prop::flows,
                        {.default_value = "1", .min = 1, .max = 65535, .doc = "distinct UDP source ports"}),
            },
        .counters = {declare(counter::packets, "frames emitted")},
        .factory = construct<Generator>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
