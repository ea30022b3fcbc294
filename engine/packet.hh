// Packet and Batch: the unit of data and the unit of scheduling.
//
// A Packet is a cheap handle: a reference-counted, pooled byte buffer plus
// metadata. Copying a Packet copies the handle, never the bytes, so a mirror
// fans out for the price of a refcount. Writers call mutable_data(), which
// copies only when the buffer is shared (copy-on-write).
//
// A Batch is what travels on a flow-graph edge: many packets per message,
// because a hop costs per message, not per packet: about 94 ns in replay at
// one packet per message, under 1 ns per packet at 256 (docs/performance.md,
// "Engine cost per hop").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace colo {

// Largest chardev payload QEMU accepts (NET_BUFSIZE = 4096 + 65536).
constexpr uint32_t kMaxFrameLen = 69632;

class Buffer {
public:
    uint8_t* data() { return bytes_; }
    const uint8_t* data() const { return bytes_; }
    uint32_t capacity() const { return capacity_; }

private:
    friend class BufRef;
    friend class BufferPool;
    std::atomic<uint32_t> refs_{0};
    uint32_t capacity_ = 0;
    uint8_t size_class_ = 0;
    alignas(16) uint8_t bytes_[1]; // over-allocated
};

// Intrusive reference to a pooled Buffer.
class BufRef {
public:
    BufRef() = default;
    BufRef(const BufRef& o) : b_(o.b_)
    {
        if (b_) b_->refs_.fetch_add(1, std::memory_order_relaxed);
    }
    BufRef(BufRef&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
    BufRef& operator=(BufRef o) noexcept
    {
        std::swap(b_, o.b_);
        return *this;
    }
    ~BufRef() { release(); }

    static BufRef allocate(uint32_t capacity); // from the process-wide pool

    // Many handles to one buffer for one atomic add (a read chunk shared by
    // the records it holds): next() hands out a handle, the destructor counts
    // them all. None of them may be dropped before the Sharer is.
    class Sharer {
    public:
        explicit Sharer(const BufRef& of) : b_(of.b_) {}
        ~Sharer()
        {
            if (n_) b_->refs_.fetch_add(n_, std::memory_order_relaxed);
        }
        Sharer(const Sharer&) = delete;
        Sharer& operator=(const Sharer&) = delete;
        BufRef next()
        {
            ++n_;
            return BufRef(b_);
        }

    private:
        Buffer* b_;
        uint32_t n_ = 0;
    };

    // The other half: drops many handles for as few atomic subtracts, those
    // to one buffer in a row counted and let go together (the packets of one
    // read chunk leaving in one write). Dropping a handle to another buffer,
    // or the destructor, lets go of the run before.
    class Releaser {
    public:
        Releaser() = default;
        ~Releaser() { flush(); }
        Releaser(const Releaser&) = delete;
        Releaser& operator=(const Releaser&) = delete;
        void drop(BufRef&& ref)
        {
            Buffer* b = std::exchange(ref.b_, nullptr);
            if (!b) return;
            if (b != b_) {
                flush();
                b_ = b;
            }
            ++n_;
        }
        void flush()
        {
            if (b_) let_go(b_, n_);
            b_ = nullptr;
            n_ = 0;
        }

    private:
        Buffer* b_ = nullptr;
        uint32_t n_ = 0;
    };
    Buffer* get() const { return b_; }
    explicit operator bool() const { return b_ != nullptr; }
    bool unique() const { return b_ && b_->refs_.load(std::memory_order_acquire) == 1; }

private:
    explicit BufRef(Buffer* b) : b_(b) {}
    // Inline: most handles dropped are moved-from or not the last reference.
    void release()
    {
        if (b_) let_go(b_, 1);
        b_ = nullptr;
    }
    // Drops `n` references held by the caller. A count of n is the caller's
    // alone: no other handle exists to change it, so the last references go
    // without a locked read-modify-write (~8 ns each on the development VM).
    // The acquire load pairs with the other holders' releasing decrements.
    static void let_go(Buffer* b, uint32_t n)
    {
        if (b->refs_.load(std::memory_order_acquire) == n || b->refs_.fetch_sub(n, std::memory_order_acq_rel) == n)
            recycle(b);
    }
    static void recycle(Buffer* b); // back to the pool
    Buffer* b_ = nullptr;
};

// Pool statistics, for `--stats` and the memory tests.
struct BufferPoolStats {
    uint64_t allocated = 0; // buffers currently handed out
    uint64_t cached = 0;    // buffers held on free lists
    uint64_t bytes_in_use = 0;
};
BufferPoolStats buffer_pool_stats();

struct Packet {
    BufRef buf;
    uint32_t len = 0;      // valid bytes: vnet header + Ethernet frame
    uint32_t vnet_len = 0; // leading bytes that are the virtio-net header
    uint64_t ts_ns = 0;    // capture/arrival time, ns since the Unix epoch
    uint32_t ingress = 0;  // index of the node that created the packet
    uint32_t head = 0;     // offset of data() in the buffer (see advance())
    uint64_t seq = 0;      // per-ingress sequence number (0, 1, 2, ...)

    const uint8_t* data() const { return buf.get()->data() + head; }
    uint8_t* mutable_data();                                   // copies first if the buffer is shared
    const uint8_t* frame() const { return data() + vnet_len; } // Ethernet header
    uint32_t frame_len() const { return len - vnet_len; }
    // Drops the first n bytes without moving the rest (DPDK's rte_pktmbuf_adj,
    // the kernel's skb_pull): a node that cuts a packet's front off rebuilds
    // its headers just before what remains instead of copying it all.
    void advance(uint32_t n)
    {
        head += n;
        len -= n;
    }

    // A new packet holding a copy of `n` bytes.
    static Packet copy_of(const uint8_t* bytes, uint32_t n, uint32_t vnet_len = 0, uint64_t ts_ns = 0);
    // A new packet with room for `capacity` bytes and len 0, to be filled.
    static Packet with_capacity(uint32_t capacity);
};

struct Batch {
    std::vector<Packet> packets;
    uint64_t bytes() const;
    std::size_t size() const { return packets.size(); }
    bool empty() const { return packets.empty(); }
};

} // namespace colo
