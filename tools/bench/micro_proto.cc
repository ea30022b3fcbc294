// Micro-benchmarks of the protocol classes (no engine, no sockets): what one
// packet costs in each piece a comparator or rewriter path runs through.
#include "nodes/proto/chardev_framing.hh"
#include "nodes/proto/compare.hh"
#include "nodes/proto/compare_tcp_stream.hh"
#include "nodes/proto/frame_parse.hh"
#include "nodes/proto/tcp_rewriter.hh"
#include "tests/proto/frames.hh"
#include "tools/bench/workload.hh"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <string>

using namespace colo;

namespace {

constexpr uint8_t kAckPsh = tcpflag::ACK | tcpflag::PSH;

// A frame of `frame_size` bytes: IPv4 UDP, or TCP with ACK|PSH.
std::vector<uint8_t> frame_of_size(uint32_t frame_size, bool tcp)
{
    if (tcp) return frames::tcp(frames::Endpoints{}, 1000, 5000, kAckPsh, std::string(frame_size - 54, 'x'));
    std::vector<uint8_t> record;
    bench::UdpPairs(frame_size, 1, 1, 1).record(0, record);
    return {record.begin() + 4, record.end()}; // without the chardev length word
}

void BM_FrameParse(benchmark::State& state)
{
    const auto f = frame_of_size(uint32_t(state.range(0)), state.range(1) != 0);
    for (auto _ : state) benchmark::DoNotOptimize(parse_frame(f.data(), f.size(), 0));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrameParse)->ArgNames({"size", "tcp"})->Args({64, 0})->Args({1454, 1});

constexpr int kRecords = 256;

// kRecords records of frame `f`, as a socket without VNET_LEN carries them.
std::vector<uint8_t> record_stream(const std::vector<uint8_t>& f)
{
    std::vector<uint8_t> stream;
    for (int i = 0; i < kRecords; ++i) {
        uint8_t len[4];
        store_be32(len, uint32_t(f.size()));
        stream.insert(stream.end(), len, len + 4);
        stream.insert(stream.end(), f.begin(), f.end());
    }
    return stream;
}

void BM_ChardevDecode(benchmark::State& state)
{
    const std::vector<uint8_t> stream = record_stream(frame_of_size(uint32_t(state.range(0)), false));
    FrameDecoder decoder(false);
    std::vector<Packet> out;
    out.reserve(kRecords);
    for (auto _ : state) {
        decoder.feed(stream, 0, out);
        out.clear();
    }
    state.SetItemsProcessed(state.iterations() * kRecords);
    state.SetBytesProcessed(state.iterations() * int64_t(stream.size()));
}
BENCHMARK(BM_ChardevDecode)->ArgName("size")->Arg(64)->Arg(1400);

// in_place: the records were decoded from one read chunk and go out in
// order, so the encoder writes them from there (FrameEncoder::wire_in_place);
// otherwise each is a packet of its own, its header gathered.
void BM_ChardevEncode(benchmark::State& state)
{
    const auto f = frame_of_size(uint32_t(state.range(0)), false);
    std::vector<Packet> packets(kRecords, frames::packet(f));
    if (state.range(1)) {
        const std::vector<uint8_t> stream = record_stream(f);
        BufRef chunk = BufRef::allocate(uint32_t(stream.size()));
        std::memcpy(chunk.get()->data(), stream.data(), stream.size());
        packets.clear();
        FrameDecoder(false).feed(chunk, 0, uint32_t(stream.size()), 0, packets);
    }
    FrameEncoder encoder(false);
    std::vector<iovec> iov(2 * kRecords);
    for (auto _ : state) {
        for (const Packet& p : packets) encoder.push(p);
        const std::size_t n = encoder.fill_iov(iov);
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < n; ++i) bytes += iov[i].iov_len;
        encoder.advance(bytes);
    }
    state.SetItemsProcessed(state.iterations() * kRecords);
}
BENCHMARK(BM_ChardevEncode)->ArgNames({"size", "in_place"})->ArgsProduct({{64, 1400}, {0, 1}});

// Equal segments, one pair per pass; the sequence advances so every pass
// compares new data (never the retransmission shortcut).
void BM_TcpStreamCompareEqual(benchmark::State& state)
{
    const auto f = frame_of_size(uint32_t(state.range(0)), true);
    const ParsedFrame pf = parse_frame(f.data(), f.size(), 0);
    QueuedPacket tmpl;
    tmpl.packet = frames::packet(f);
    tmpl.region_off = pf.payload_off;
    tmpl.region_len = pf.payload_len;
    tmpl.ack = pf.ack;
    tmpl.tcp_flags = pf.tcp_flags;
    TcpStreamCompare compare;
    PacketQueue primary, secondary;
    std::vector<Packet> released;
    uint32_t seq = 1000;
    for (auto _ : state) {
        QueuedPacket p = tmpl, s = tmpl;
        p.seq = s.seq = seq;
        seq += pf.payload_len;
        compare.note_primary_ack(p.ack);
        compare.note_secondary_ack(s.ack);
        primary.insert_by_seq(std::move(p));
        secondary.insert_by_seq(std::move(s));
        benchmark::DoNotOptimize(compare.run(primary, secondary, released));
        released.clear();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TcpStreamCompareEqual)->ArgName("size")->Arg(64)->Arg(1454);

// A data segment from the guest on an established connection with a non-zero
// offset: its sequence number is rewritten and the checksum patched. The
// frame is restored (one memcpy) before each pass.
void BM_RewriterProcess(benchmark::State& state)
{
    frames::Endpoints client; // 10.0.0.1 -> the guest 10.0.0.2
    client.sport = 40000;
    client.dport = 80;
    const frames::Endpoints guest = client.reversed();
    TcpRewriter rw;
    auto process = [&](const std::vector<uint8_t>& f, Direction d) {
        Packet p = frames::packet(f);
        rw.process(p, d, 0);
    };
    process(frames::tcp(client, 7000, 0, tcpflag::SYN, ""), Direction::to_guest);
    process(frames::tcp(guest, 90000, 7001, tcpflag::SYN | tcpflag::ACK, ""), Direction::from_guest);
    process(frames::tcp(client, 7001, 50001, tcpflag::ACK, ""), Direction::to_guest);
    const std::string payload(std::size_t(state.range(0)) - 54, 'd');
    const auto data = frames::tcp(guest, 90001, 7001, kAckPsh, payload);
    Packet p = frames::packet(data);
    for (auto _ : state) {
        std::memcpy(p.mutable_data(), data.data(), data.size());
        benchmark::DoNotOptimize(rw.process(p, Direction::from_guest, 1));
    }
    if (rw.counters().seq_rewrites < uint64_t(state.iterations())) state.SkipWithError("segments were not rewritten");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RewriterProcess)->ArgName("size")->Arg(64)->Arg(1454);

// The whole comparator for one pair: primary in, secondary in, primary
// released. TCP segments advance the sequence (patched in place: the buffer
// is unique again once the release is consumed).
void BM_ComparatorPair(benchmark::State& state)
{
    const bool tcp = state.range(1) != 0;
    Packet p = frames::packet(frame_of_size(uint32_t(state.range(0)), tcp));
    const uint32_t payload = uint32_t(state.range(0)) - 54;
    Comparator comparator{CompareConfig{}};
    CompareOutput out;
    uint32_t seq = 1000;
    for (auto _ : state) {
        if (tcp) {
            store_be32(p.mutable_data() + 14 + 20 + 4, seq);
            seq += payload;
        }
        comparator.primary(p, 1, out);
        comparator.secondary(p, 2, out);
        if (out.released.size() != 1) {
            state.SkipWithError("pair not released");
            break;
        }
        out.clear();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ComparatorPair)->ArgNames({"size", "tcp"})->Args({64, 0})->Args({1400, 0})->Args({1454, 1});

// Pairs as colo-bench's udp64 cases bring them: chunks of 32 primaries, then
// their 32 secondaries, each a batch, the pairs spread over `flows`
// connections in turn. Each packet is a fresh pooled copy, taken by the
// comparator, as the socket's decoder hands over small records. Per pair.
void BM_ComparatorChunks(benchmark::State& state)
{
    constexpr uint32_t kChunk = 32;
    const uint32_t flows = uint32_t(state.range(0));
    const uint64_t pairs = uint64_t(std::max(flows, kChunk)) * 8; // whole chunks
    const bench::UdpPairs workload(64, flows, pairs, kChunk);
    std::vector<std::vector<uint8_t>> frames;
    std::vector<uint8_t> record;
    for (uint64_t pair = 0; pair < pairs; ++pair) {
        record.clear(); // record() appends
        workload.record(pair, record);
        frames.emplace_back(record.begin() + 4, record.end());
    }
    Comparator comparator{CompareConfig{}};
    CompareOutput out;
    std::vector<Packet> primaries(kChunk), secondaries(kChunk);
    std::size_t at = 0;
    uint64_t now_ns = 1;
    for (auto _ : state) {
        now_ns += 10'000; // a chunk's time at 3.2 M pairs/s, the server's pace
        for (uint32_t i = 0; i < kChunk; ++i) {
            const auto& f = frames[at + i];
            primaries[i] = Packet::copy_of(f.data(), uint32_t(f.size()), 0, now_ns);
            secondaries[i] = Packet::copy_of(f.data(), uint32_t(f.size()), 0, now_ns);
        }
        comparator.arrive_batch(CompareSide::primary, std::span<Packet>(primaries), out, [](const Packet&) {});
        comparator.arrive_batch(CompareSide::secondary, std::span<Packet>(secondaries), out, [](const Packet&) {});
        if (out.released.size() != kChunk) {
            state.SkipWithError("chunk not released");
            break;
        }
        out.clear();
        at = (at + kChunk) % frames.size();
    }
    state.SetItemsProcessed(state.iterations() * kChunk);
}
BENCHMARK(BM_ComparatorChunks)->ArgName("flows")->Arg(1)->Arg(256);

} // namespace
