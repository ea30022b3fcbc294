// Workloads for the socket benchmarks: deterministic primary/secondary
// streams in QEMU's chardev framing, cut into chunks the driver writes
// alternately to primary_in and secondary_in, and a way to recognise each
// released frame again (which pair, which flow) to check order.
//
// Generation is deterministic, so every server gets byte-identical input.
// Frames are built once as templates and only their varying fields are
// patched per chunk, which keeps the driver's own CPU small. L4 checksums are
// left zero: neither QEMU's colo-compare nor the comparator verifies them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace colo::bench {

// A released frame, recognised: `pair` is the global pair index (0, 1, ...)
// in the order the driver wrote the pairs; order is checked per `flow`.
struct FrameId {
    uint64_t pair = 0;
    uint32_t flow = 0;
};
constexpr uint64_t kNoPair = UINT64_MAX; // no pair identified on a flow yet

class Workload {
public:
    virtual ~Workload() = default;

    virtual std::string describe() const = 0;
    // Primary frames (= expected releases) per chunk, and chunks in total.
    virtual uint32_t chunk_pairs() const = 0;
    virtual uint64_t chunks() const = 0;
    virtual uint32_t flows() const = 0;
    uint64_t pairs() const { return chunks() * chunk_pairs(); }

    // Replaces `primary` and `secondary` with chunk `chunk`'s records.
    virtual void fill(uint64_t chunk, std::vector<uint8_t>& primary, std::vector<uint8_t>& secondary) const = 0;
    // False for frames that are not one of this workload's primaries.
    // `last_of_flow` holds each flow's last identified pair (or kNoPair), one
    // entry per flow: a TCP sequence number alone names a stream offset only
    // modulo 4 GiB.
    virtual bool identify(const uint8_t* frame, uint32_t len, const std::vector<uint64_t>& last_of_flow,
                          FrameId& id) const = 0;
};

// UDP pairs: primary and secondary frames are identical, FRAME_SIZE bytes
// each; the UDP payload starts with the pair index (big-endian u32), and pair
// i belongs to flow i % flows (source port 10000 + flow % 50000, source
// address 10.0.0.2 + flow / 50000: up to 16 M flows).
class UdpPairs : public Workload {
public:
    UdpPairs(uint32_t frame_size, uint32_t flows, uint64_t pairs, uint32_t chunk_pairs);

    std::string describe() const override;
    uint32_t chunk_pairs() const override { return chunk_pairs_; }
    uint64_t chunks() const override { return chunks_; }
    uint32_t flows() const override { return flows_; }
    void fill(uint64_t chunk, std::vector<uint8_t>& primary, std::vector<uint8_t>& secondary) const override;
    bool identify(const uint8_t* frame, uint32_t len, const std::vector<uint64_t>& last_of_flow,
                  FrameId& id) const override;

    // One framed record (length word + frame) of pair `pair`.
    void record(uint64_t pair, std::vector<uint8_t>& out) const;

private:
    uint32_t frame_size_, flows_, chunk_pairs_;
    uint64_t chunks_;
    std::vector<uint8_t> record_template_;
};

// TCP byte streams cut differently on the two sides: the primary sends
// 1400-byte segments, the secondary 1000-byte ones, so segment boundaries
// line up only every 7000 bytes and the comparator must match partial
// segments. A chunk is 42,000 stream bytes of one flow (30 primaries, 42
// secondaries); chunk c belongs to flow c % flows. Every segment has
// ACK|PSH and the same acknowledgement number (the ACK rule never holds).
// A flow's stream may run past 4 GiB: its sequence numbers then wrap, as on
// a real long-lived connection.
class TcpResegmented : public Workload {
public:
    static constexpr uint32_t kPrimarySegment = 1400, kSecondarySegment = 1000;
    static constexpr uint32_t kChunkBytes = 42000;

    TcpResegmented(uint32_t flows, uint64_t min_pairs);

    std::string describe() const override;
    uint32_t chunk_pairs() const override { return kChunkBytes / kPrimarySegment; }
    uint64_t chunks() const override { return chunks_; }
    uint32_t flows() const override { return flows_; }
    void fill(uint64_t chunk, std::vector<uint8_t>& primary, std::vector<uint8_t>& secondary) const override;
    bool identify(const uint8_t* frame, uint32_t len, const std::vector<uint64_t>& last_of_flow,
                  FrameId& id) const override;

private:
    static constexpr uint32_t kIsn = 1'000'000;

    uint32_t flows_;
    uint64_t chunks_;
    std::vector<uint8_t> primary_template_, secondary_template_; // one chunk, seq relative to 0
};

// The warm-up pair: a UDP frame to port 5002 that no workload uses. A server
// that released it has accepted all three connections and is ready.
std::vector<uint8_t> warmup_record(uint32_t serial);
bool is_warmup(const uint8_t* frame, uint32_t len);

} // namespace colo::bench
