#include "nodes/proto/packet_queue.hh"

#include <utility>
#include <vector>

namespace colo {

namespace {

// Rings of the first size, kept for reuse: a queue takes one when its first
// packet arrives and gives it back when it empties (drained()), so a
// connection holds a ring only while packets wait in it. Per thread, as queues
// need no lock. 1024 (295 KB, fixed) cover the queues that a window of 512
// pairs in flight keeps busy at once: with 64, 256 UDP flows overflowed them
// and paid a malloc and a free per packet (+8 % CPU per pair).
constexpr uint32_t kFirstCapacity = 4;
constexpr std::size_t kSpareRings = 1024;
thread_local std::vector<std::unique_ptr<QueuedPacket[]>> spare_rings;

} // namespace

void PacketQueue::grow()
{
    const uint32_t cap = cap_ ? cap_ * 2 : kFirstCapacity;
    std::unique_ptr<QueuedPacket[]> slots;
    if (cap_ == 0 && !spare_rings.empty()) {
        slots = std::move(spare_rings.back());
        spare_rings.pop_back();
    } else {
        slots = std::make_unique<QueuedPacket[]>(cap);
    }
    for (uint32_t i = 0; i < size_; ++i) slots[i] = std::move((*this)[i]);
    slots_ = std::move(slots);
    cap_ = cap;
    head_ = 0;
}

void PacketQueue::push_back(QueuedPacket&& p)
{
    if (size_ == cap_) grow();
    ++size_;
    (*this)[size_ - 1] = std::move(p);
}

void PacketQueue::insert_by_seq(QueuedPacket&& p)
{
    push_back(std::move(p));
    // In-order arrival is the common case: the loop then does nothing.
    for (uint32_t i = size_ - 1; i > 0 && seq_after((*this)[i - 1].seq, (*this)[i].seq); --i)
        std::swap((*this)[i - 1], (*this)[i]);
}

Packet PacketQueue::pop_front()
{
    Packet p = std::move(front().packet); // the slot keeps no buffer reference
    head_ = (head_ + 1) & (cap_ - 1);
    if (--size_ == 0) drained();
    return p;
}

void PacketQueue::erase(uint32_t i)
{
    // Shift whichever side is shorter; matches are usually at the front, so
    // this is normally O(1) rather than O(queue length).
    if (i < size_ / 2) {
        for (; i > 0; --i) (*this)[i] = std::move((*this)[i - 1]);
        front() = QueuedPacket{};
        head_ = (head_ + 1) & (cap_ - 1);
    } else {
        for (; i + 1 < size_; ++i) (*this)[i] = std::move((*this)[i + 1]);
        (*this)[size_ - 1] = QueuedPacket{};
    }
    if (--size_ == 0) drained();
}

void PacketQueue::drained()
{
    // A first-size ring goes back to the spare rings as soon as its queue is
    // empty, not at the next idle scan: connections that hold one packet at a
    // time (UDP, request and response) then share a few rings instead of each
    // keeping two, and a million of them opened within a second cost their
    // table entries only (1 M UDP connections: 830 -> 250 MiB RSS). Larger
    // rings belong to busy connections and wait for the scan.
    if (cap_ == kFirstCapacity) release_storage();
}

void PacketQueue::release_storage()
{
    if (size_ != 0) return;
    if (cap_ == kFirstCapacity && spare_rings.size() < kSpareRings) spare_rings.push_back(std::move(slots_));
    slots_.reset();
    cap_ = 0;
    head_ = 0;
}

} // namespace colo
