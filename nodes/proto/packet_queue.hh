// PacketQueue: one side's queue of one comparator connection.
//
// A growable ring of QueuedPacket (the Packet handle plus what the compare
// needs from its headers). An idle connection holds no storage at all
// (24 bytes per queue), which keeps tens of thousands of tracked connections
// cheap; std::deque would allocate ~600 bytes per queue up front.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/packet.hh"

namespace colo {

// Wrap-aware TCP sequence order: a is after b (RFC 1982 serial arithmetic).
inline bool seq_after(uint32_t a, uint32_t b)
{
    return int32_t(a - b) > 0;
}

struct QueuedPacket {
    Packet packet;
    uint64_t enqueued_ns = 0;  // the caller's clock when it arrived
    uint32_t region_off = 0;   // first compared byte within packet.data()
    uint32_t region_len = 0;   // compared bytes; TCP: payload bytes (never padding)
    uint32_t seq = 0, ack = 0; // TCP only
    uint32_t matched = 0;      // TCP: payload bytes already matched (QEMU's `offset`)
    uint8_t tcp_flags = 0;

    const uint8_t* region() const { return packet.data() + region_off; }
    uint32_t seq_end() const { return seq + region_len; }
};

class PacketQueue {
public:
    PacketQueue() = default;
    PacketQueue(PacketQueue&&) noexcept = default;
    PacketQueue& operator=(PacketQueue&&) noexcept = default;

    bool empty() const { return size_ == 0; }
    uint32_t size() const { return size_; }
    uint32_t capacity() const { return cap_; } // slots of storage held
    QueuedPacket& operator[](uint32_t i) { return slots_[(head_ + i) & (cap_ - 1)]; }
    const QueuedPacket& operator[](uint32_t i) const { return slots_[(head_ + i) & (cap_ - 1)]; }
    QueuedPacket& front() { return (*this)[0]; }
    const QueuedPacket& front() const { return (*this)[0]; }
    const QueuedPacket& back() const { return (*this)[size_ - 1]; }

    // Arrival order (non-TCP).
    void push_back(QueuedPacket&& p);
    // Ascending wrap-aware sequence order; an equal sequence goes after the
    // packets already queued, so the older one is compared first.
    void insert_by_seq(QueuedPacket&& p);
    // Removes the front entry, handing back its packet.
    Packet pop_front();
    // Removes the i-th packet, keeping the order of the rest.
    void erase(uint32_t i);
    // Frees the ring's storage; only when empty (idle connections). An empty
    // ring of the first size is given back at once by pop_front() and erase().
    void release_storage();

private:
    void grow();
    void drained(); // the last packet left

    std::unique_ptr<QueuedPacket[]> slots_;
    uint32_t cap_ = 0; // 0 or a power of two
    uint32_t head_ = 0;
    uint32_t size_ = 0;
};

} // namespace colo
