// QEMU chardev record framing (net/net.c net_fill_rstate()): u32 BE LEN, then u32 BE
// VNET_LEN only when vnet support is on, then LEN payload bytes (virtio-net
// header + Ethernet frame). Both ends must agree on the vnet flag; nothing on
// the wire says whether VNET_LEN is present.
#pragma once

#include "engine/packet.hh"
#include "nodes/proto/frame_parse.hh" // kMaxVnetHdrLen, load_be32/store_be32

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <sys/uio.h>

namespace colo {

// Bytes before the payload: LEN, plus VNET_LEN when vnet support is on.
constexpr uint32_t record_header_len(bool vnet_hdr)
{
    return vnet_hdr ? 8 : 4;
}

struct FrameDecoderCounters {
    uint64_t frames = 0;      // records delivered
    uint64_t bytes = 0;       // payload bytes delivered
    uint64_t zero_length = 0; // LEN = 0 records, ignored (QEMU would abort on them)
    uint64_t bad_vnet = 0;    // VNET_LEN > LEN or > kMaxVnetHdrLen: payload skipped, not delivered
    uint64_t oversize = 0;    // LEN > kMaxFrameLen: decoder stopped until reset()
};

// Incremental record decoder. Feed it whatever the socket returned, split
// anywhere; it emits each complete record as one Packet. The payload is copied
// once, straight from the input into a pooled packet buffer, unless the input
// is a pooled buffer itself (the chunk overload): then a record that lies whole
// in it is not copied at all, its packet shares the chunk (Packet::head at the
// payload), as a DPDK mbuf attaches to another's data, and the references of
// one feed are counted with one atomic add. A header that arrives split is
// gathered in an 8-byte array, so decoding needs no heap allocation besides
// the packet buffers (and growth of the caller's vector).
//
// Differences from QEMU's net_fill_rstate(), on purpose (docs/reliability.md,
// "Bad input"):
// * zero-length records are dropped and counted instead of delivered;
// * a record whose VNET_LEN exceeds its LEN or kMaxVnetHdrLen is dropped and
//   counted as bad_vnet (its payload is consumed, so the stream stays in sync);
// * reset() exists: after a reconnect the new peer starts with a clean parser
//   (QEMU keeps the half-read record and misparses the next stream).
class FrameDecoder {
public:
    explicit FrameDecoder(bool vnet_hdr) : header_len_(record_header_len(vnet_hdr)) {}

    // Decodes `input`, appending complete records to `out` with ts_ns set to
    // `ts_ns` (the arrival time of the record's last byte). Returns false once
    // a record announces LEN > kMaxFrameLen: the stream cannot be resynchronised,
    // so the caller must drop the connection and call reset(). Records completed
    // earlier in the same input are still appended. While failed, feed() consumes
    // nothing and returns false.
    bool feed(std::span<const uint8_t> input, uint64_t ts_ns, std::vector<Packet>& out);
    // The same for bytes [offset, offset + n) of `chunk`, sharing it with the
    // packets of large records. The caller must not write to those bytes again
    // while the chunk is shared (BufRef::unique() says when it is not).
    bool feed(const BufRef& chunk, uint32_t offset, uint32_t n, uint64_t ts_ns, std::vector<Packet>& out);

    bool failed() const { return state_ == State::failed; }
    // Why the decoder failed, e.g. "oversized record (70000 bytes > 69632)".
    std::string error() const;
    // True between the first byte of a record and its last one.
    bool mid_record() const;
    // Forgets any partial record and a failure; counters are kept.
    void reset();

    const FrameDecoderCounters& counters() const { return counters_; }

private:
    enum class State : uint8_t { header, payload, skip, failed };

    bool feed_from(const uint8_t* p, const uint8_t* end, const BufRef* chunk, uint64_t ts_ns, std::vector<Packet>& out);
    void on_header(const uint8_t* header);
    void finish_payload(uint64_t ts_ns, std::vector<Packet>& out);

    const uint32_t header_len_;
    State state_ = State::header;
    std::array<uint8_t, 8> header_buf_{};
    uint32_t header_have_ = 0; // bytes gathered in header_buf_
    // LEN and VNET_LEN apart: adjacent, the compiler reads them back as one
    // word right after on_header() stored them one by one, which the store
    // buffer cannot forward (a stall per record).
    uint32_t record_len_ = 0;   // LEN of the current record
    uint32_t payload_have_ = 0; // payload bytes copied or skipped so far
    uint32_t record_vnet_ = 0;  // VNET_LEN of the current record
    Packet packet_;             // being filled while state_ == payload (allocated at its first byte)
    FrameDecoderCounters counters_;
};

// Turns packets into records for writev/sendmsg without copying large
// payloads: each record's header lives in a small array next to its Packet
// handle and a large payload's iovec points into the packet buffer. Small
// records (payload up to kGatherRecord) and headers are copied into one
// gather buffer instead, so a run of them is one iovec: at 64-byte records the
// kernel's cost per iovec, not per byte, dominated sendmsg(). A non-blocking
// writer calls fill_iov(), writes, and reports what the kernel took with
// advance(); a partial write resumes mid-record on the next fill_iov().
class FrameEncoder {
public:
    // With vnet_hdr, VNET_LEN is written as each packet's vnet_len.
    explicit FrameEncoder(bool vnet_hdr) : header_len_(record_header_len(vnet_hdr)) {}

    // Queues one record. Empty packets are never framed (a LEN = 0 record
    // crashes QEMU) and packets longer than kMaxFrameLen would make the peer
    // drop the connection, so both are skipped and counted; returns false then.
    bool push(Packet packet);

    // Fills `iov` with the unwritten bytes, oldest first; returns the number
    // of entries used (0 when nothing is pending). The entries are valid until
    // the next fill_iov() (some point into the gather buffer).
    std::size_t fill_iov(std::span<iovec> iov);

    static constexpr uint32_t kGatherRecord = 256;        // largest payload copied into the gather buffer
    static constexpr std::size_t kGatherBytes = 64 << 10; // the gather buffer's size

    struct Records {
        std::size_t count = 0;
        uint64_t payload_bytes = 0;
    };
    // Marks `bytes` (as returned by the write) as sent and returns the records
    // this completed; their packets are released at once.
    Records advance(std::size_t bytes);

    // Discards everything queued, e.g. when the peer went away: a half-written
    // record must never be resumed on a new connection. Returns what was
    // discarded, a partly written record included.
    Records clear();

    bool empty() const { return head_ == records_.size(); }
    std::size_t pending_records() const { return records_.size() - head_; }
    uint64_t pending_wire_bytes() const { return pending_wire_bytes_; }
    uint64_t pending_payload_bytes() const { return pending_payload_bytes_; }
    uint64_t skipped_empty() const { return skipped_empty_; }
    uint64_t skipped_oversize() const { return skipped_oversize_; }

private:
    struct Record {
        Packet packet;
        std::array<uint8_t, 8> header;
    };
    const uint8_t* wire_in_place(const Record& r) const; // the record's header and payload in its buffer, or null

    const uint32_t header_len_;
    std::vector<Record> records_;
    std::unique_ptr<uint8_t[]> gather_; // kGatherBytes, allocated at the first fill_iov()
    std::size_t head_ = 0;              // first record not completely written
    std::size_t head_offset_ = 0;       // bytes of records_[head_] already written
    uint64_t pending_wire_bytes_ = 0;
    uint64_t pending_payload_bytes_ = 0;
    uint64_t skipped_empty_ = 0;
    uint64_t skipped_oversize_ = 0;
};

} // namespace colo
