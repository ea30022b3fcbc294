// Fuzzes the packet parser (nodes/proto/frame_parse.hh) and what reads its
// result: the checksum verifier, the TCP option walk, flow keys and the dump
// line of nodes/dump.hh.
//
// Input: byte 0 is the virtio-net header length (0..31, so invalid lengths
// occur too); the rest is the buffer. parse_frame() reads the fuzzer's own
// exact-size copy of it, so AddressSanitizer sees any read past the end.
//
// Checked: every offset the parser returns lies inside the buffer and the
// offsets are ordered; the dump line is a single non-empty line.
#include "nodes/dump.hh"
#include "nodes/proto/checksum.hh"
#include "nodes/proto/flow_key.hh"
#include "nodes/proto/frame_parse.hh"
#include "nodes/proto/tcp_options.hh"

#include <cstdlib>
#include <vector>

using namespace colo;

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

void check_offsets(const ParsedFrame& f, std::size_t len, uint32_t vnet_len)
{
    check(f.vnet_len == vnet_len);
    if (f.status == ParseStatus::bad_vnet || f.status == ParseStatus::runt) return;
    check(f.l3_off >= vnet_len + 14 && f.l3_off <= len);
    if (f.status != ParseStatus::ok) return;
    check(f.ip_version == 4 || f.ip_version == 6);
    check(f.l3_end <= len && f.l3_off <= f.l3_end);
    check(f.l4_off >= f.l3_off && f.l4_off <= f.l3_end);
    if (f.has_l4 && (f.l4_proto == 6 || f.l4_proto == 17)) {
        check(f.payload_off >= f.l4_off && f.payload_off <= f.l3_end);
        check(f.payload_off + f.payload_len == f.l3_end);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    const uint32_t vnet_len = data[0] & 31;
    const std::vector<uint8_t> frame(data + 1, data + size);

    const ParsedFrame f = parse_frame(frame.data(), frame.size(), vnet_len);
    check_offsets(f, frame.size(), vnet_len);
    if (f.ok()) {
        (void)format_ip(f.src, f.ip_version);
        const FlowKey key = FlowKey::from_frame(f);
        check(key.reversed().reversed() == key);
        check(key.normalized() == key.reversed().normalized());
        (void)key.to_string();
        (void)l4_checksum_ok(frame.data(), f);
        if (f.is_tcp()) {
            const TcpOptionScan opts = scan_tcp_options(frame.data(), f);
            if (opts.tsval_off) check(*opts.tsval_off >= f.l4_off + 20 && *opts.tsval_off + 8 <= f.payload_off);
            if (opts.sack_off)
                check(*opts.sack_off >= f.l4_off + 20 && *opts.sack_off + 8u * opts.sack_blocks <= f.payload_off);
        }
    }

    if (frame.size() > kMaxFrameLen) return 0;
    const Packet p = Packet::copy_of(frame.data(), uint32_t(frame.size()), vnet_len, 1'500'000'000);
    if (vnet_len > p.len) return 0; // a Packet never carries a vnet header longer than itself
    const std::string line = describe_packet(p, 1'000'000'000);
    check(!line.empty() && line.find('\n') == std::string::npos);
    return 0;
}
