// Fuzzes the comparator (nodes/proto/compare.hh) with arbitrary
// interleavings of primary and secondary packets, ticks, checkpoints and a
// failover, decoded from the input, under small queue and table limits.
//
// Packets are mostly well formed (tests/proto/frames.hh) on a few flows, with
// TCP payload taken from one shared pattern by stream position, so that the
// two sides often agree even when segmented differently; some are TSO frames
// (virtio-net GSO, partial checksum) with a small MSS; some are raw bytes.
//
// Checked after every step: only primaries are released, each at most once
// and byte-identical, or, for a TSO frame, as fronts cut off in stream order
// and then its rest, each a valid frame carrying the next slice of its payload
// with a checksum that completes right; every packet is accounted for exactly
// once by the counters; a checkpoint empties every queue. After shutdown()
// every primary has been released except those the counters report lost to a
// full queue.
#include "nodes/proto/bypass_rule.hh"
#include "nodes/proto/checksum.hh"
#include "nodes/proto/compare.hh"
#include "nodes/proto/tso_cut.hh"
#include "tests/proto/frames.hh"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

using namespace colo;

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

constexpr uint32_t kPrimary = 0, kSecondary = 1; // Packet::ingress tags
constexpr uint64_t kMs = 1'000'000;

CompareConfig config_from(FuzzedDataProvider& in)
{
    CompareConfig c;
    c.max_queue_size = in.ConsumeIntegralInRange<uint32_t>(1, 8);
    c.max_connections = in.ConsumeIntegralInRange<uint32_t>(1, 4);
    c.compare_timeout_ms = in.ConsumeIntegralInRange<uint32_t>(1, 100);
    c.expired_scan_cycle_ms = in.ConsumeIntegralInRange<uint32_t>(1, 100);
    c.idle_timeout_ms = in.ConsumeIntegralInRange<uint32_t>(1, 400);
    c.report_history = in.ConsumeIntegralInRange<uint32_t>(0, 3);
    const uint8_t flags = in.ConsumeIntegral<uint8_t>();
    c.ipv6 = flags & 1;
    c.vlan = flags & 2;
    static const char* const rules[] = {"udp port 1001", "tcp port 1002", "icmp", "any host 10.0.0.0/31"};
    if (flags & 4) c.bypass.push_back(BypassRule::parse(rules[(flags >> 3) & 3]));
    return c;
}

// TCP payload bytes are a function of their stream position, so segments of
// either side carry the same bytes unless the input asks for a difference.
std::string stream_bytes(uint32_t seq, uint32_t len)
{
    std::string s(len, '\0');
    for (uint32_t i = 0; i < len; ++i) s[i] = char('a' + (seq + i) % 7);
    return s;
}

struct Frame {
    std::vector<uint8_t> bytes;
    uint32_t vnet_len = 0;
};

Frame make_frame(FuzzedDataProvider& in)
{
    const uint8_t shape = in.ConsumeIntegral<uint8_t>();
    frames::Endpoints ep;
    ep.sport = uint16_t(1000 + shape % 3);
    if (shape & 0x08) {
        ep.ip_version = 6;
        ep.src = "fd00::1";
        ep.dst = "fd00::2";
    }
    if (shape & 0x10) ep.vlan = 7;
    if (shape & 0x20) ep.pad_to = 60;
    switch (shape >> 6) {
    case 0: {
        const uint32_t base = shape & 0x04 ? 0xffffff00u : 1000u; // sequence numbers may wrap
        const uint32_t seq = base + 4u * in.ConsumeIntegral<uint8_t>();
        const uint32_t ack = 5000 + 4u * in.ConsumeIntegralInRange<uint8_t>(0, 7);
        const uint8_t flags = in.ConsumeIntegral<uint8_t>();
        const bool tso = !ep.pad_to && in.ConsumeIntegralInRange<int>(0, 3) == 0;
        const uint32_t len = in.ConsumeIntegralInRange<uint32_t>(0, tso ? 200 : 24);
        std::string payload = stream_bytes(seq, len);
        if (len && in.ConsumeBool()) payload[len / 2] = 'X';
        if (!tso) return {frames::tcp(ep, seq, ack, flags, payload)};
        ep.vnet_len = 12;
        Frame f{frames::tcp(ep, seq, ack, flags, payload), ep.vnet_len};
        frames::as_tso(f.bytes, ep.vnet_len, in.ConsumeIntegralInRange<uint16_t>(1, 64));
        return f;
    }
    case 1: return {frames::udp(ep, std::string(in.ConsumeIntegralInRange<size_t>(0, 3), 'u'))};
    case 2: return {frames::icmp_echo(ep, 1, in.ConsumeIntegralInRange<uint16_t>(0, 2), "ping")};
    default: return {frames::ip_proto(ep, 47, in.ConsumeBool() ? "gre" : "GRE")};
    }
}

// A released piece of the TSO frame `sent` (vnet_len bytes of header) must be
// a valid frame with the next `offset` bytes of its payload: returns how many.
uint32_t check_tso_piece(const std::vector<uint8_t>& sent, uint32_t vnet_len, const Packet& piece, uint32_t offset)
{
    check(piece.vnet_len == vnet_len && vnet_len >= 10);
    check(is_tso_frame(Packet::copy_of(sent.data(), uint32_t(sent.size()), vnet_len)));
    const ParsedFrame whole = parse_frame(sent.data(), sent.size(), vnet_len);
    std::vector<uint8_t> d(piece.data(), piece.data() + piece.len);
    const ParsedFrame f = parse_frame(d.data(), d.size(), vnet_len);
    check(whole.is_tcp() && f.is_tcp() && f.payload_off == whole.payload_off && f.l3_end == d.size());
    check(f.seq == whole.seq + offset && offset + f.payload_len <= whole.payload_len);
    check(std::equal(d.begin() + f.payload_off, d.end(), sent.begin() + whole.payload_off + offset));
    check(f.src == whole.src && f.dst == whole.dst && f.sport == whole.sport && f.dport == whole.dport);
    if (d[0] & 0x01) frames::complete_partial_checksum(d.data(), d.size(), vnet_len);
    check(l4_checksum_ok(d.data(), parse_frame(d.data(), d.size(), vnet_len)));
    return f.payload_len;
}

struct Harness {
    Comparator cmp;
    std::vector<std::vector<uint8_t>> primaries; // bytes of primary id i
    std::vector<uint32_t> vnet_lens;             // of primary id i
    std::vector<uint32_t> cut_offsets;           // payload bytes of primary id i released as fronts
    std::vector<bool> released;
    uint64_t released_total = 0, fronts_total = 0, events_total = 0, secondary_total = 0;
    uint64_t now_ns = 0;
    CompareOutput out;

    explicit Harness(CompareConfig c) : cmp(std::move(c)) {}

    void send(uint32_t side, const std::vector<uint8_t>& bytes, uint32_t vnet_len)
    {
        Packet p = Packet::copy_of(bytes.data(), uint32_t(bytes.size()), vnet_len, now_ns);
        p.ingress = side;
        if (side == kPrimary) {
            p.seq = primaries.size();
            primaries.push_back(bytes);
            vnet_lens.push_back(vnet_len);
            cut_offsets.push_back(0);
            released.push_back(false);
            cmp.primary(std::move(p), now_ns, out);
        } else {
            p.seq = secondary_total++;
            cmp.secondary(std::move(p), now_ns, out);
        }
        settle();
    }

    // Checks what the last call released and emitted, and the counters.
    void settle()
    {
        for (const Packet& p : out.released) {
            check(p.ingress == kPrimary && p.seq < primaries.size() && !released[p.seq]);
            const auto& sent = primaries[p.seq];
            uint32_t& cut = cut_offsets[p.seq];
            if (cut == 0 && std::equal(sent.begin(), sent.end(), p.data(), p.data() + p.len)) {
                released[p.seq] = true;
                ++released_total;
                continue;
            }
            // A piece of a TSO frame: a front, or the rest after the fronts.
            cut += check_tso_piece(sent, vnet_lens[p.seq], p, cut);
            if (cut == parse_frame(sent.data(), sent.size(), vnet_lens[p.seq]).payload_len) {
                released[p.seq] = true;
                ++released_total;
            } else {
                ++fronts_total;
            }
        }
        events_total += out.events.size();
        out.clear();

        const CompareCounters& c = cmp.counters();
        check(c.released_matched + c.released_unsupported + c.released_bypass + c.released_flush +
                  c.released_passthrough + c.evict_flushed ==
              released_total);
        check(c.released_retransmit <= c.released_matched);
        check(c.released_tso_fronts == fronts_total);
        check(c.primary_packets_in == primaries.size());
        check(c.primary_packets_in == released_total + c.primary_lost_queue_full + c.queued_primary);
        check(c.secondary_packets_in == secondary_total);
        check(c.secondary_packets_in ==
              c.secondary_matched + c.secondary_dropped_unsupported + c.secondary_dropped_bypass +
                  c.secondary_dropped_queue_full + c.secondary_dropped_flush + c.secondary_dropped_evicted +
                  c.secondary_dropped_passthrough + c.secondary_dropped_expired + c.queued_secondary);
        check(c.checkpoint_requests == events_total);
        check(c.connections_active <= cmp.config().max_connections);

        uint64_t queued_primary = 0, queued_secondary = 0, active = 0;
        for (const ConnectionReport& r : cmp.report()) {
            if (!r.active) continue;
            ++active;
            queued_primary += r.queued_primary;
            queued_secondary += r.queued_secondary;
        }
        check(active == c.connections_active);
        check(queued_primary == c.queued_primary && queued_secondary == c.queued_secondary);
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size)
{
    FuzzedDataProvider in(data, size);
    Harness h(config_from(in));
    Frame last_primary;

    while (in.remaining_bytes() > 0) {
        switch (in.ConsumeIntegralInRange<int>(0, 7)) {
        case 0:
        case 1:
            last_primary = make_frame(in);
            h.send(kPrimary, last_primary.bytes, last_primary.vnet_len);
            break;
        case 2: {
            const Frame f = make_frame(in);
            h.send(kSecondary, f.bytes, f.vnet_len);
            break;
        }
        case 3: // the secondary's copy of the last primary, perhaps with one byte changed
            if (!last_primary.bytes.empty()) {
                std::vector<uint8_t> copy = last_primary.bytes;
                if (in.ConsumeBool()) copy[in.ConsumeIntegralInRange<size_t>(0, copy.size() - 1)] ^= 1;
                h.send(kSecondary, copy, last_primary.vnet_len);
            }
            break;
        case 4: {
            const auto bytes = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 80));
            const uint32_t vnet_len = in.ConsumeIntegralInRange<uint32_t>(0, 24);
            if (vnet_len <= bytes.size()) h.send(in.ConsumeBool() ? kPrimary : kSecondary, bytes, vnet_len);
            break;
        }
        case 5: { // live inputs are stamped on different threads: time may step back a little
            const int64_t step_ms = in.ConsumeIntegralInRange<int64_t>(-20, 150);
            h.now_ns = step_ms < 0 && h.now_ns < uint64_t(-step_ms) * kMs ? 0 : h.now_ns + step_ms * int64_t(kMs);
            h.cmp.tick(h.now_ns, h.out);
            h.settle();
            break;
        }
        case 6:
            h.cmp.checkpoint_done(h.out);
            h.settle();
            check(h.cmp.counters().queued_primary == 0 && h.cmp.counters().queued_secondary == 0);
            check(!h.cmp.checkpoint_pending());
            break;
        case 7:
            if (in.ConsumeIntegral<uint8_t>() == 0) {
                h.cmp.failover(h.out);
                h.settle();
                check(h.cmp.passing_through());
            }
            break;
        }
    }

    h.cmp.shutdown(h.out);
    h.settle();
    const CompareCounters& c = h.cmp.counters();
    check(c.queued_primary == 0 && c.queued_secondary == 0);
    uint64_t unreleased = 0;
    for (bool r : h.released) unreleased += !r;
    check(unreleased == c.primary_lost_queue_full);

    // After shutdown, primaries pass at once and secondaries are dropped.
    const auto frame = frames::udp({}, "after");
    h.send(kPrimary, frame, 0);
    check(h.released.back());
    h.send(kSecondary, frame, 0);
    return 0;
}
