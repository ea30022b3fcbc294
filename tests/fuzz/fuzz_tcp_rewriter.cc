// Fuzzes the TCP rewriter (nodes/proto/tcp_rewriter.hh) with sequences of
// segments in both directions on a few connections, checkpoints, failovers
// and expiry, decoded from the input.
//
// Segments are built by tests/proto/frames.hh with correct checksums and
// fuzzed flags, sequence numbers near two ISNs (so handshakes complete and
// offsets are learned), timestamp and SACK options at any alignment, and
// sometimes a virtio-net header, sometimes a TSO segment of up to 60,000
// payload bytes as a stack with offloads hands it over (GSO header, partial
// checksum); some are raw bytes, some have their checksum broken on purpose.
//
// Checked for every segment: a rewritten segment whose TCP checksum was valid
// still has a valid one (unless its vnet header leaves the checksum to the
// receiver, in which case the field is untouched, and a TSO segment's
// checksum, completed as the device does, is valid); only TCP header bytes
// change, and only when the result says so; a second handle to the buffer
// (a mirror's copy) never sees the edit; the connection table stays within
// its limit and its per-state counts add up.
#include "nodes/proto/checksum.hh"
#include "nodes/proto/tcp_options.hh"
#include "nodes/proto/tcp_rewriter.hh"
#include "tests/proto/frames.hh"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <vector>

using namespace colo;

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

constexpr uint64_t kMs = 1'000'000;
constexpr uint8_t kVnetNeedsCsum = 0x01;

// Sequence numbers and clocks near a few bases, so the fuzzer finds the
// handshake relations (ack = isn + 1) easily; sometimes anything at all.
uint32_t near_base(FuzzedDataProvider& in)
{
    static constexpr uint32_t bases[] = {1000, 2000, 0xfffffff0u, 7000};
    const uint8_t pick = in.ConsumeIntegral<uint8_t>();
    if (pick >= 0xf0) return in.ConsumeIntegral<uint32_t>();
    return bases[pick & 3] + (pick >> 2 & 0x3f) - 4;
}

std::vector<uint8_t> options_from(FuzzedDataProvider& in)
{
    std::vector<uint8_t> opts;
    for (int n = in.ConsumeIntegralInRange<int>(0, 4); n > 0 && opts.size() < 40; --n) {
        std::vector<uint8_t> o;
        switch (in.ConsumeIntegralInRange<int>(0, 4)) {
        case 0: o = {tcpopt::NOP}; break;
        case 1: o = {tcpopt::MSS, 4, 0x05, 0xb4}; break;
        case 2:
            o = {tcpopt::TIMESTAMP, tcpopt::kTimestampLen, 0, 0, 0, 0, 0, 0, 0, 0};
            store_be32(&o[2], near_base(in));
            store_be32(&o[6], near_base(in));
            break;
        case 3: {
            const int blocks = in.ConsumeIntegralInRange<int>(1, 4);
            o = {tcpopt::SACK, uint8_t(2 + 8 * blocks)};
            o.resize(o[1]);
            for (int e = 0; e < 2 * blocks; ++e) store_be32(&o[2 + 4 * e], near_base(in));
            break;
        }
        default: o = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(1, 6)); break;
        }
        if (opts.size() + o.size() > 40) break;
        opts.insert(opts.end(), o.begin(), o.end());
    }
    return opts;
}

struct Segment {
    std::vector<uint8_t> bytes;
    uint32_t vnet_len = 0;
    Direction direction = Direction::to_guest;
    bool valid_tso = false; // a TSO segment whose partial checksum completes to a valid one
};

// The guest is 10.0.0.2:80 (fd00::2 over IPv6); peers use ports 1000-1002.
Segment segment_from(FuzzedDataProvider& in)
{
    Segment s;
    const uint8_t shape = in.ConsumeIntegral<uint8_t>();
    s.direction = shape & 1 ? Direction::from_guest : Direction::to_guest;
    frames::Endpoints guest;
    guest.src = "10.0.0.2";
    guest.dst = "10.0.0.1";
    guest.sport = 80;
    guest.dport = uint16_t(1000 + (shape >> 1) % 3);
    if (shape & 0x08) {
        guest.ip_version = 6;
        guest.src = "fd00::2";
        guest.dst = "fd00::1";
    }
    if (shape & 0x10) guest.vlan = 5;
    if (shape & 0x20) guest.pad_to = 60;
    if (shape & 0x40) guest.vnet_len = in.ConsumeBool() ? 10 : 12;
    s.vnet_len = guest.vnet_len;
    const frames::Endpoints ep = s.direction == Direction::from_guest ? guest : guest.reversed();

    const uint32_t seq = near_base(in), ack = near_base(in);
    const uint8_t flags = in.ConsumeIntegral<uint8_t>();
    std::vector<uint8_t> opts = options_from(in);
    const bool tso = s.vnet_len && in.ConsumeBool();
    const std::string payload(
        tso ? in.ConsumeIntegralInRange<size_t>(0, 60000) : in.ConsumeIntegralInRange<size_t>(0, 9), 'd');
    s.bytes = frames::tcp(ep, seq, ack, flags, payload, std::move(opts));
    if (tso) frames::as_tso(s.bytes, s.vnet_len, in.ConsumeIntegralInRange<uint16_t>(1, 9000));
    else if (s.vnet_len) s.bytes[0] = in.ConsumeIntegral<uint8_t>(); // virtio-net flags
    if (shape & 0x80) s.bytes.back() ^= 0x40;                        // a wrong checksum, or garbled padding
    s.valid_tso = tso && !(shape & 0x80);
    return s;
}

struct Harness {
    TcpRewriter rw;
    std::size_t max_connections;
    uint64_t now_ns = 0;

    explicit Harness(TcpRewriterConfig c) : rw(c), max_connections(c.max_connections) {}

    void process(const Segment& s, bool shared)
    {
        Packet p = Packet::copy_of(s.bytes.data(), uint32_t(s.bytes.size()), s.vnet_len, now_ns);
        const Packet mirror = shared ? p : Packet{};
        const ParsedFrame before = parse_frame(s.bytes.data(), s.bytes.size(), s.vnet_len);
        const bool checksum_was_ok = before.is_tcp() && l4_checksum_ok(s.bytes.data(), before);

        const RewriteResult result = rw.process(p, s.direction, now_ns);

        check(p.len == s.bytes.size() && p.vnet_len == s.vnet_len);
        if (shared) check(std::equal(s.bytes.begin(), s.bytes.end(), mirror.data()));
        const bool changed = !std::equal(s.bytes.begin(), s.bytes.end(), p.data());
        check(changed == (result == RewriteResult::rewritten));
        if (changed) {
            check(before.is_tcp());
            for (uint32_t i = 0; i < p.len; ++i)
                if (i < before.l4_off || i >= before.payload_off) check(p.data()[i] == s.bytes[i]);
            const uint32_t field = before.l4_off + l4_checksum_field(6);
            const bool partial = s.vnet_len > 0 && (s.bytes[0] & kVnetNeedsCsum);
            if (partial) check(std::memcmp(p.data() + field, s.bytes.data() + field, 2) == 0);
            else if (checksum_was_ok) check(l4_checksum_ok(p.data(), parse_frame(p.data(), p.len, p.vnet_len)));
            if (s.valid_tso) {
                std::vector<uint8_t> completed(p.data(), p.data() + p.len);
                frames::complete_partial_checksum(completed.data(), completed.size(), s.vnet_len);
                check(l4_checksum_ok(completed.data(), before));
            }
        }
        check_table();
    }

    void check_table() const
    {
        const auto& by_state = rw.connections_by_state();
        check(std::accumulate(by_state.begin(), by_state.end(), std::size_t(0)) == rw.connection_count());
        check(rw.connection_count() <= max_connections);
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size)
{
    FuzzedDataProvider in(data, size);
    TcpRewriterConfig config;
    config.max_connections = in.ConsumeIntegralInRange<std::size_t>(1, 4);
    config.idle_timeout_ms = in.ConsumeIntegralInRange<uint64_t>(0, 50);
    Harness h(config);

    while (in.remaining_bytes() > 0) {
        switch (in.ConsumeIntegralInRange<int>(0, 7)) {
        case 0:
        case 1:
        case 2: h.process(segment_from(in), false); break;
        case 3: h.process(segment_from(in), true); break;
        case 4: {
            Segment s;
            s.direction = in.ConsumeBool() ? Direction::from_guest : Direction::to_guest;
            s.bytes = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 120));
            s.vnet_len = in.ConsumeIntegralInRange<uint32_t>(0, 12);
            if (s.vnet_len <= s.bytes.size()) h.process(s, in.ConsumeBool());
            break;
        }
        case 5: h.rw.checkpoint(); break;
        case 6: h.rw.failover(); break;
        case 7: { // live inputs are stamped on different threads: time may step back a little
            const int64_t step_ms = in.ConsumeIntegralInRange<int64_t>(-5, 30);
            h.now_ns = step_ms < 0 && h.now_ns < uint64_t(-step_ms) * kMs ? 0 : h.now_ns + step_ms * int64_t(kMs);
            h.rw.expire(h.now_ns);
            h.check_table();
            break;
        }
        }
    }
    return 0;
}
