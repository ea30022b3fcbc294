// Fuzzes the chardev record decoder (nodes/proto/chardev_framing.hh) with
// arbitrary byte streams split at arbitrary points.
//
// Input: byte 0 chooses the vnet flag (bit 0) and how many chunk-size bytes
// follow (bits 1-3, plus one); the chunk sizes (1..256 bytes each, used in
// turn) split the rest of the input, the stream, into feed() calls.
//
// Checked: the records do not depend on the chunking (one feed() of the whole
// stream gives the same records and counters), nor on whether the input is a
// pooled chunk whose large records are shared rather than copied; each record is within the
// limits the decoder promises; a failed decoder consumes nothing more; and the
// records survive a round trip through FrameEncoder written in the same
// chunks, as a non-blocking writer would, copied ones and those the encoder
// writes from the chunk they were read into.
#include "nodes/proto/chardev_framing.hh"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace colo;

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

bool same_records(const std::vector<Packet>& a, const std::vector<Packet>& b)
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].len != b[i].len || a[i].vnet_len != b[i].vnet_len ||
            std::memcmp(a[i].data(), b[i].data(), a[i].len) != 0)
            return false;
    return true;
}

bool same_counters(const FrameDecoderCounters& a, const FrameDecoderCounters& b)
{
    return a.frames == b.frames && a.bytes == b.bytes && a.zero_length == b.zero_length && a.bad_vnet == b.bad_vnet &&
           a.oversize == b.oversize;
}

// Feeds `stream` in pieces of the given sizes, used in turn.
bool feed_chunked(FrameDecoder& dec, std::span<const uint8_t> stream, const std::vector<std::size_t>& chunks,
                  std::vector<Packet>& out)
{
    bool ok = true;
    for (std::size_t pos = 0, i = 0; pos < stream.size(); ++i) {
        const std::size_t n = std::min(chunks[i % chunks.size()], stream.size() - pos);
        const std::size_t before = out.size();
        const bool was_failed = dec.failed();
        ok = dec.feed(stream.subspan(pos, n), i, out);
        check(ok == !dec.failed());
        if (was_failed) check(!ok && out.size() == before);
        pos += n;
    }
    return ok;
}

// Writes every queued record through fill_iov()/advance() in pieces of the
// given sizes and returns the wire bytes.
std::vector<uint8_t> drain_chunked(FrameEncoder& enc, const std::vector<std::size_t>& chunks)
{
    std::vector<uint8_t> wire;
    for (std::size_t i = 0; !enc.empty(); ++i) {
        iovec iov[4];
        const std::size_t used = enc.fill_iov(iov);
        check(used > 0);
        std::size_t budget = chunks[i % chunks.size()], taken = 0;
        for (std::size_t k = 0; k < used && budget > 0; ++k) {
            const std::size_t n = std::min(budget, iov[k].iov_len);
            const auto* p = static_cast<const uint8_t*>(iov[k].iov_base);
            wire.insert(wire.end(), p, p + n);
            budget -= n;
            taken += n;
        }
        enc.advance(taken);
    }
    check(enc.pending_wire_bytes() == 0 && enc.pending_payload_bytes() == 0);
    return wire;
}

// Encodes `records`, writes them in the given pieces and decodes the wire:
// the same records come back.
void round_trip(const std::vector<Packet>& records, bool vnet, const std::vector<std::size_t>& chunks)
{
    FrameEncoder enc(vnet);
    for (const Packet& p : records) check(enc.push(p));
    check(enc.pending_records() == records.size());
    const std::vector<uint8_t> wire = drain_chunked(enc, chunks);
    FrameDecoder again(vnet);
    std::vector<Packet> again_out;
    check(again.feed(wire, 0, again_out));
    check(!again.mid_record());
    check(same_records(again_out, records));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    const bool vnet = data[0] & 1;
    const std::size_t chunk_bytes = std::min<std::size_t>(((data[0] >> 1) & 7) + 1, size - 1);
    std::vector<std::size_t> chunks;
    for (std::size_t i = 0; i < chunk_bytes; ++i) chunks.push_back(data[1 + i] + 1u);
    if (chunks.empty()) chunks.push_back(1);
    const std::vector<uint8_t> stream(data + 1 + chunk_bytes, data + size);

    FrameDecoder chunked(vnet), whole(vnet);
    std::vector<Packet> chunked_out, whole_out;
    const bool chunked_ok = feed_chunked(chunked, stream, chunks, chunked_out);
    const bool whole_ok = whole.feed(stream, 0, whole_out);

    check(chunked_ok == whole_ok);
    check(same_records(chunked_out, whole_out));

    // The same stream read into one pooled chunk, whole and in the same pieces.
    BufRef chunk = BufRef::allocate(uint32_t(stream.size()) + 1);
    if (!stream.empty()) std::memcpy(chunk.get()->data(), stream.data(), stream.size());
    FrameDecoder shared_whole(vnet), shared_chunked(vnet);
    std::vector<Packet> shared_whole_out, shared_chunked_out;
    check(shared_whole.feed(chunk, 0, uint32_t(stream.size()), 0, shared_whole_out) == whole_ok);
    for (std::size_t pos = 0, i = 0; pos < stream.size(); ++i) {
        const std::size_t n = std::min(chunks[i % chunks.size()], stream.size() - pos);
        shared_chunked.feed(chunk, uint32_t(pos), uint32_t(n), 0, shared_chunked_out);
        pos += n;
    }
    check(same_records(shared_whole_out, whole_out) && same_records(shared_chunked_out, whole_out));
    check(same_counters(shared_whole.counters(), whole.counters()));
    check(same_counters(shared_chunked.counters(), whole.counters()));
    // Fed whole, every record shares the chunk, each with a reference of its own.
    for (const Packet& p : shared_whole_out) check(p.buf.get() == chunk.get());
    check(same_counters(chunked.counters(), whole.counters()));
    check(chunked.mid_record() == whole.mid_record());
    check(whole.counters().frames == whole_out.size());
    check(whole_ok == whole.error().empty());

    uint64_t bytes = 0;
    for (const Packet& p : whole_out) {
        check(p.len > 0 && p.len <= kMaxFrameLen);
        check(p.vnet_len <= p.len && p.vnet_len <= kMaxVnetHdrLen);
        check(vnet || p.vnet_len == 0);
        bytes += p.len;
    }
    check(bytes == whole.counters().bytes);

    // Round trip: encode the records, write them in the same chunks, decode;
    // records that still lie in the chunk they were read into go out from
    // there, all of them or every other one.
    round_trip(whole_out, vnet, chunks);
    round_trip(shared_whole_out, vnet, chunks);
    std::vector<Packet> every_other;
    for (std::size_t i = 0; i < shared_whole_out.size(); i += 2) every_other.push_back(shared_whole_out[i]);
    round_trip(every_other, vnet, chunks);
    every_other.clear();
    shared_whole_out.clear();
    shared_chunked_out.clear();
    check(chunk.unique());

    // A reset decoder starts clean: a record fed afterwards comes out alone.
    chunked.reset();
    check(!chunked.failed() && !chunked.mid_record());
    std::vector<Packet> after_reset;
    const uint8_t record[] = {0, 0, 0, 1, 0, 0, 0, 0, 0x5a};
    check(chunked.feed(std::span(record).first(vnet ? 8 : 4), 0, after_reset));
    check(chunked.feed(std::span(record).last(1), 0, after_reset));
    check(after_reset.size() == 1 && after_reset[0].len == 1 && after_reset[0].data()[0] == 0x5a);
    return 0;
}
