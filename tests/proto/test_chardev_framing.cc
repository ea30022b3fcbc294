#include <catch2/catch.hpp>

#include "nodes/proto/chardev_framing.hh"
#include "nodes/proto/frame_parse.hh"

#include <algorithm>
#include <cstring>
#include <vector>

using namespace colo;

namespace {

using Bytes = std::vector<uint8_t>;

// A payload whose bytes identify it: seed, seed+1, ...
Bytes payload(uint32_t len, uint8_t seed)
{
    Bytes b(len);
    for (uint32_t i = 0; i < len; ++i) b[i] = uint8_t(seed + i);
    return b;
}

// One record in QEMU's wire format, written by hand (independent of FrameEncoder).
void append_record(Bytes& wire, const Bytes& body, bool vnet, uint32_t vnet_len = 0, uint32_t len_field = ~0u)
{
    uint8_t h[8];
    store_be32(h, len_field == ~0u ? uint32_t(body.size()) : len_field);
    store_be32(h + 4, vnet_len);
    wire.insert(wire.end(), h, h + (vnet ? 8 : 4));
    wire.insert(wire.end(), body.begin(), body.end());
}

Bytes bytes_of(const Packet& p)
{
    return Bytes(p.data(), p.data() + p.len);
}

struct Expected {
    Bytes body;
    uint32_t vnet_len;
};

// Three records of different sizes (one that spans many small reads).
std::vector<Expected> sample_records(bool vnet)
{
    return {{payload(60, 1), vnet ? 12u : 0u}, {payload(1, 7), 0}, {payload(1514, 9), vnet ? 10u : 0u}};
}

Bytes wire_of(const std::vector<Expected>& records, bool vnet)
{
    Bytes wire;
    for (const auto& r : records) append_record(wire, r.body, vnet, r.vnet_len);
    return wire;
}

void check_frames(const std::vector<Packet>& got, const std::vector<Expected>& want)
{
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        CHECK(bytes_of(got[i]) == want[i].body);
        CHECK(got[i].vnet_len == want[i].vnet_len);
    }
}

// Writes the encoder's pending bytes into `wire`, at most `limit` bytes per
// "write" and at most `max_iov` iovecs, as a non-blocking writer would.
void drain(FrameEncoder& enc, Bytes& wire, std::size_t limit, std::size_t max_iov = 64)
{
    std::vector<iovec> iov(max_iov);
    while (!enc.empty()) {
        const std::size_t n = enc.fill_iov(iov);
        REQUIRE(n > 0);
        std::size_t written = 0;
        for (std::size_t i = 0; i < n && written < limit; ++i) {
            const std::size_t take = std::min(iov[i].iov_len, limit - written);
            const auto* base = static_cast<const uint8_t*>(iov[i].iov_base);
            wire.insert(wire.end(), base, base + take);
            written += take;
        }
        enc.advance(written);
    }
}

} // namespace

TEST_CASE("FrameDecoder: every split point of a multi-record stream", "[framing]")
{
    for (const bool vnet : {false, true}) {
        CAPTURE(vnet);
        const auto want = sample_records(vnet);
        const Bytes wire = wire_of(want, vnet);
        for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
            CAPTURE(cut);
            FrameDecoder dec(vnet);
            std::vector<Packet> out;
            REQUIRE(dec.feed({wire.data(), cut}, 1, out));
            REQUIRE(dec.feed({wire.data() + cut, wire.size() - cut}, 2, out));
            check_frames(out, want);
            CHECK_FALSE(dec.mid_record());
        }
    }
}

TEST_CASE("FrameDecoder: records read whole share the chunk, split ones are copied", "[framing]")
{
    for (const bool vnet : {false, true}) {
        CAPTURE(vnet);
        const std::vector<Expected> want = {
            {payload(60, 1), 0}, {payload(512, 3), 0}, {payload(1, 5), 0}, {payload(1514, 9), 0}};
        const Bytes wire = wire_of(want, vnet);
        const uint32_t header = record_header_len(vnet);
        // Where each record's payload starts in the wire.
        std::vector<uint32_t> starts;
        for (uint32_t off = 0; const auto& r : want) {
            starts.push_back(off + header);
            off += header + uint32_t(r.body.size());
        }
        for (uint32_t cut = 0; cut <= wire.size(); cut += 7) {
            CAPTURE(cut);
            // As StreamEndpoint does: two reads land one after the other in one chunk.
            BufRef chunk = BufRef::allocate(uint32_t(wire.size()));
            std::memcpy(chunk.get()->data(), wire.data(), wire.size());
            FrameDecoder dec(vnet);
            std::vector<Packet> out;
            REQUIRE(dec.feed(chunk, 0, cut, 1, out));
            REQUIRE(dec.feed(chunk, cut, uint32_t(wire.size()) - cut, 2, out));
            check_frames(out, want);
            std::vector<bool> shared;
            for (std::size_t i = 0; i < want.size(); ++i) {
                CAPTURE(i);
                const uint32_t len = uint32_t(want[i].body.size());
                shared.push_back(starts[i] + len <= cut || starts[i] >= cut); // its payload came in one read
                CHECK((out[i].buf.get() == chunk.get()) == shared[i]);
                if (shared[i]) CHECK(out[i].data() == chunk.get()->data() + starts[i]);
            }
            // The chunk is shared: a writer gets its own copy and leaves it alone.
            const uint32_t last = starts.back();
            out.back().mutable_data()[0] ^= 0xff;
            CHECK(chunk.get()->data()[last] == want.back().body[0]);
            CHECK(out.back().data()[0] == uint8_t(want.back().body[0] ^ 0xff));
            // Copied packets own their bytes.
            std::memset(chunk.get()->data(), 0, wire.size());
            for (std::size_t i = 0; i + 1 < want.size(); ++i)
                if (!shared[i]) CHECK(bytes_of(out[i]) == want[i].body);
            // Each sharing packet holds a reference of its own: the chunk is
            // the caller's alone again once the last of them is gone.
            while (!out.empty()) {
                const bool held =
                    std::any_of(out.begin(), out.end(), [&](const Packet& p) { return p.buf.get() == chunk.get(); });
                CHECK(chunk.unique() == !held);
                out.pop_back();
            }
            CHECK(chunk.unique());
        }
    }
}

TEST_CASE("FrameDecoder: one byte at a time, timestamps from the completing feed", "[framing]")
{
    for (const bool vnet : {false, true}) {
        const auto want = sample_records(vnet);
        const Bytes wire = wire_of(want, vnet);
        FrameDecoder dec(vnet);
        std::vector<Packet> out;
        for (std::size_t i = 0; i < wire.size(); ++i) REQUIRE(dec.feed({&wire[i], 1}, 1000 + i, out));
        check_frames(out, want);
        // Record 0 completes with its last byte, at offset header + 60 - 1.
        CHECK(out[0].ts_ns == 1000 + record_header_len(vnet) + 60 - 1);
        CHECK(out.back().ts_ns == 1000 + wire.size() - 1);
        CHECK(dec.counters().frames == 3);
        CHECK(dec.counters().bytes == 60 + 1 + 1514);
    }
}

TEST_CASE("FrameDecoder: a vnet mismatch desynchronises the stream", "[framing]")
{
    Bytes wire;
    append_record(wire, payload(8, 0), /*vnet=*/true, 4); // LEN=8, VNET_LEN=4, bytes 0..7
    FrameDecoder dec(false);
    std::vector<Packet> out;
    // Without vnet the record is LEN=8 followed by the VNET word and 4 payload
    // bytes; the last 4 payload bytes (04 05 06 07) then read as a huge LEN.
    CHECK_FALSE(dec.feed(wire, 0, out));
    REQUIRE(out.size() == 1);
    CHECK(out[0].vnet_len == 0);
    CHECK(bytes_of(out[0]) == Bytes{0, 0, 0, 4, 0, 1, 2, 3});
    CHECK(dec.error() == "oversized record (67438087 bytes > 69632)");
}

TEST_CASE("FrameDecoder: 69632-byte record accepted, 69633 rejected", "[framing]")
{
    for (const bool vnet : {false, true}) {
        Bytes wire;
        append_record(wire, payload(kMaxFrameLen, 3), vnet);
        append_record(wire, payload(kMaxFrameLen + 1, 4), vnet);
        FrameDecoder dec(vnet);
        std::vector<Packet> out;
        CHECK_FALSE(dec.feed(wire, 0, out));
        REQUIRE(out.size() == 1);
        CHECK(out[0].len == kMaxFrameLen);
        CHECK(bytes_of(out[0]) == payload(kMaxFrameLen, 3));
        CHECK(dec.failed());
        CHECK(dec.error() == "oversized record (69633 bytes > 69632)");
        CHECK(dec.counters().oversize == 1);

        // Failed decoders consume nothing until reset().
        Bytes good;
        append_record(good, payload(20, 5), vnet);
        CHECK_FALSE(dec.feed(good, 0, out));
        CHECK(out.size() == 1);
        dec.reset();
        CHECK(dec.error().empty());
        REQUIRE(dec.feed(good, 0, out));
        REQUIRE(out.size() == 2);
        CHECK(bytes_of(out[1]) == payload(20, 5));
    }
}

TEST_CASE("FrameDecoder: zero-length records are ignored and counted", "[framing]")
{
    for (const bool vnet : {false, true}) {
        Bytes wire;
        append_record(wire, {}, vnet);
        append_record(wire, payload(30, 2), vnet);
        append_record(wire, {}, vnet);
        append_record(wire, {}, vnet);
        append_record(wire, payload(31, 3), vnet);
        FrameDecoder dec(vnet);
        std::vector<Packet> out;
        REQUIRE(dec.feed(wire, 0, out));
        REQUIRE(out.size() == 2);
        CHECK(bytes_of(out[0]) == payload(30, 2));
        CHECK(bytes_of(out[1]) == payload(31, 3));
        CHECK(dec.counters().zero_length == 3);
        CHECK(dec.counters().frames == 2);
    }
}

TEST_CASE("FrameDecoder: bad VNET_LEN drops only that record", "[framing]")
{
    Bytes wire;
    append_record(wire, payload(100, 1), true, 21); // > kMaxVnetHdrLen
    append_record(wire, payload(8, 2), true, 9);    // > LEN
    append_record(wire, payload(100, 3), true, 20); // largest legal header
    append_record(wire, payload(12, 4), true, 12);  // header only: legal
    FrameDecoder dec(true);
    std::vector<Packet> out;
    for (std::size_t i = 0; i < wire.size(); i += 7) // skipping must also work across reads
        REQUIRE(dec.feed({wire.data() + i, std::min<std::size_t>(7, wire.size() - i)}, 0, out));
    REQUIRE(out.size() == 2);
    CHECK(bytes_of(out[0]) == payload(100, 3));
    CHECK(out[0].vnet_len == 20);
    CHECK(out[1].vnet_len == 12);
    CHECK(dec.counters().bad_vnet == 2);
    CHECK_FALSE(dec.mid_record());
}

TEST_CASE("FrameDecoder: reset() after a partial record starts clean", "[framing]")
{
    for (const bool vnet : {false, true}) {
        for (const std::size_t partial : {std::size_t(2), std::size_t(6), std::size_t(50)}) {
            CAPTURE(vnet, partial);
            Bytes dead;
            append_record(dead, payload(100, 1), vnet);
            FrameDecoder dec(vnet);
            std::vector<Packet> out;
            REQUIRE(dec.feed({dead.data(), partial}, 0, out));
            CHECK(dec.mid_record());
            dec.reset();
            CHECK_FALSE(dec.mid_record());

            Bytes fresh;
            append_record(fresh, payload(40, 9), vnet, vnet ? 10 : 0);
            REQUIRE(dec.feed(fresh, 0, out));
            REQUIRE(out.size() == 1);
            CHECK(bytes_of(out[0]) == payload(40, 9));
        }
    }
}

TEST_CASE("FrameEncoder: exact record bytes with and without VNET_LEN", "[framing]")
{
    Packet p = Packet::copy_of(payload(5, 0xa0).data(), 5, 2);
    for (const bool vnet : {false, true}) {
        FrameEncoder enc(vnet);
        REQUIRE(enc.push(p));
        Bytes wire;
        drain(enc, wire, 1 << 20);
        const Bytes want = vnet ? Bytes{0, 0, 0, 5, 0, 0, 0, 2, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4}
                                : Bytes{0, 0, 0, 5, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4};
        CHECK(wire == want);
    }
}

TEST_CASE("FrameEncoder: round trip through the decoder with partial writes", "[framing]")
{
    for (const bool vnet : {false, true}) {
        for (const std::size_t limit :
             {std::size_t(1), std::size_t(3), std::size_t(7), std::size_t(1000), std::size_t(1) << 20}) {
            for (const std::size_t max_iov : {std::size_t(1), std::size_t(3), std::size_t(64)}) {
                CAPTURE(vnet, limit, max_iov);
                FrameEncoder enc(vnet);
                std::vector<Expected> want;
                for (uint32_t i = 0; i < 40; ++i) {
                    const uint32_t len = 1 + (i * 97) % 1600;
                    const uint32_t vlen = vnet ? (i % 3) * 10 % 21 : 0;
                    want.push_back({payload(len, uint8_t(i)), std::min(vlen, len)});
                    REQUIRE(enc.push(Packet::copy_of(want.back().body.data(), len, want.back().vnet_len)));
                }
                CHECK_FALSE(enc.push(Packet::with_capacity(16))); // empty: never framed
                CHECK(enc.skipped_empty() == 1);
                CHECK(enc.pending_records() == 40);

                Bytes wire;
                drain(enc, wire, limit, max_iov);
                CHECK(enc.pending_wire_bytes() == 0);
                CHECK(enc.pending_payload_bytes() == 0);

                FrameDecoder dec(vnet);
                std::vector<Packet> out;
                REQUIRE(dec.feed(wire, 0, out));
                check_frames(out, want);
            }
        }
    }
}

TEST_CASE("FrameEncoder: small records are gathered into one iovec, large payloads are not copied", "[framing]")
{
    constexpr uint32_t kSmall = FrameEncoder::kGatherRecord, kLarge = kSmall + 1;
    FrameEncoder enc(true);
    std::vector<Expected> want;
    std::vector<Packet> packets;
    // 300 small records, one large, 300 small: more small bytes than one gather buffer holds.
    for (uint32_t i = 0; i < 601; ++i) {
        const uint32_t len = i == 300 ? kLarge : (i % 2 ? kSmall : 64);
        want.push_back({payload(len, uint8_t(i)), 0});
        packets.push_back(Packet::copy_of(want.back().body.data(), len));
        REQUIRE(enc.push(packets.back()));
    }
    iovec iov[64];
    REQUIRE(enc.fill_iov(iov) == 3);
    CHECK(iov[0].iov_len == 300 * 8 + 150 * (64 + kSmall) + 8); // ... and the large record's header
    CHECK(iov[1].iov_base == packets[300].data());              // its payload is not copied
    CHECK(iov[1].iov_len == kLarge);
    // The buffer is full: the rest comes in the next fill_iov().
    CHECK(iov[0].iov_len + iov[2].iov_len <= FrameEncoder::kGatherBytes);

    // The bytes are the records, in order, through any number of partial writes.
    Bytes wire;
    drain(enc, wire, 1000, 64);
    FrameDecoder dec(true);
    std::vector<Packet> out;
    REQUIRE(dec.feed(wire, 0, out));
    check_frames(out, want);
}

TEST_CASE("FrameEncoder: records still in their read chunk are written from there", "[framing]")
{
    constexpr uint32_t kSmall = FrameEncoder::kGatherRecord, kLarge = kSmall + 1;
    for (const bool vnet : {false, true}) {
        CAPTURE(vnet);
        const uint32_t header = record_header_len(vnet);
        const std::vector<Expected> want = {{payload(60, 1), 0},     {payload(1, 3), 0},      {payload(1514, 5), 0},
                                            {payload(kSmall, 7), 0}, {payload(kLarge, 9), 0}, {payload(64, 11), 0}};
        const Bytes wire = wire_of(want, vnet);
        BufRef chunk = BufRef::allocate(uint32_t(wire.size()));
        std::memcpy(chunk.get()->data(), wire.data(), wire.size());
        FrameDecoder dec(vnet);
        std::vector<Packet> in;
        REQUIRE(dec.feed(chunk, 0, uint32_t(wire.size()), 0, in));
        const uint8_t* const base = chunk.get()->data();

        SECTION("all of them, in order: the chunk as it was read, one iovec")
        {
            FrameEncoder enc(vnet);
            for (const Packet& p : in) REQUIRE(enc.push(p));
            iovec iov[8];
            REQUIRE(enc.fill_iov(iov) == 1);
            CHECK(iov[0].iov_base == base);
            CHECK(iov[0].iov_len == wire.size());
        }
        SECTION("a gap: a small record alone is gathered, the run after it is in place")
        {
            FrameEncoder enc(vnet);
            for (std::size_t i : {0, 2, 3, 4, 5}) REQUIRE(enc.push(in[i]));
            iovec iov[8];
            REQUIRE(enc.fill_iov(iov) == 2);
            CHECK(iov[0].iov_base != base); // record 0 alone, copied
            CHECK(iov[0].iov_len == header + 60);
            CHECK(iov[1].iov_base == in[2].data() - header);
            CHECK(iov[1].iov_len == std::size_t(base + wire.size() - (in[2].data() - header)));
        }
        SECTION("out of order: each large record is one iovec, small ones are gathered")
        {
            FrameEncoder enc(vnet);
            for (std::size_t i : {5, 4, 3, 2, 1, 0}) REQUIRE(enc.push(in[i]));
            iovec iov[8];
            REQUIRE(enc.fill_iov(iov) == 5);
            CHECK(iov[1].iov_base == in[4].data() - header);
            CHECK(iov[1].iov_len == header + kLarge);
            CHECK(iov[3].iov_base == in[2].data() - header);
            CHECK(iov[3].iov_len == header + 1514);
        }
        SECTION("another header than the one it came with: not in place")
        {
            FrameEncoder enc(!vnet);
            REQUIRE(enc.push(in[2]));
            iovec iov[8];
            REQUIRE(enc.fill_iov(iov) == 2);
            CHECK(iov[1].iov_base == in[2].data());
        }
        // Any order, any gaps, partial writes, few iovecs: the records come
        // back, and the chunk was never written to.
        for (const std::size_t max_iov : {1, 2, 64}) {
            for (const std::size_t limit : {1, 5, 1000}) {
                FrameEncoder enc(vnet);
                std::vector<Expected> sent;
                for (std::size_t i : {0, 1, 2, 4, 3, 5, 5, 0}) {
                    REQUIRE(enc.push(in[i]));
                    sent.push_back(want[i]);
                }
                Bytes out_wire;
                drain(enc, out_wire, limit, max_iov);
                FrameDecoder again(vnet);
                std::vector<Packet> back;
                REQUIRE(again.feed(out_wire, 0, back));
                check_frames(back, sent);
            }
        }
        CHECK(Bytes(base, base + wire.size()) == wire);
    }
}

TEST_CASE("FrameEncoder: progress accounting, buffer release and clear()", "[framing]")
{
    FrameEncoder enc(false);
    Packet a = Packet::copy_of(payload(10, 1).data(), 10);
    Packet b = Packet::copy_of(payload(20, 2).data(), 20);
    REQUIRE(enc.push(a));
    REQUIRE(enc.push(b));
    CHECK_FALSE(a.buf.unique()); // the encoder holds a reference
    CHECK(enc.pending_wire_bytes() == 4 + 10 + 4 + 20);

    auto done = enc.advance(3); // inside the first header
    CHECK(done.count == 0);
    done = enc.advance(11 + 2); // rest of record a, 2 bytes into b's header
    CHECK(done.count == 1);
    CHECK(done.payload_bytes == 10);
    CHECK(a.buf.unique()); // released as soon as it is written

    // A writer resuming mid-header gets the remaining header bytes first,
    // gathered with the small payload into one entry.
    iovec iov[4];
    REQUIRE(enc.fill_iov(iov) == 1);
    REQUIRE(iov[0].iov_len == 2 + 20);
    const auto* resumed = static_cast<const uint8_t*>(iov[0].iov_base);
    CHECK(resumed[1] == 20);
    CHECK(Bytes(resumed + 2, resumed + 22) == payload(20, 2));

    Packet oversize = Packet::with_capacity(kMaxFrameLen + 1);
    oversize.len = kMaxFrameLen + 1;
    CHECK_FALSE(enc.push(oversize));
    CHECK(enc.skipped_oversize() == 1);

    const auto dropped = enc.clear();
    CHECK(dropped.count == 1);
    CHECK(dropped.payload_bytes == 20);
    CHECK(enc.empty());
    CHECK(b.buf.unique());
    CHECK(enc.fill_iov(iov) == 0);
}
