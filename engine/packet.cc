#include "packet.hh"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

namespace colo {

// Two size classes cover every frame: an MTU-sized class and the chardev
// maximum. Free lists are capped so an idle process gives memory back.
class BufferPool {
public:
    // Never destroyed: packets may outlive static destructors, and cached
    // buffers stay reachable (not leaks) until the process ends.
    static BufferPool& instance() { static BufferPool* p = new BufferPool; return *p; }

    Buffer* take(uint32_t capacity)
    {
        const uint8_t cls = capacity <= kSmall ? 0 : 1;
        const uint32_t cap = cls == 0 ? kSmall : (capacity <= kMaxFrameLen + 64 ? kMaxFrameLen + 64 : capacity);
        Buffer* b = nullptr;
        if (cap <= kMaxFrameLen + 64) {
            std::lock_guard lock(mu_);
            auto& fl = free_[cls];
            if (!fl.empty()) { b = fl.back(); fl.pop_back(); }
        }
        if (!b) {
            void* mem = std::malloc(sizeof(Buffer) + cap);
            if (!mem) throw std::bad_alloc();
            b = new (mem) Buffer();
            b->capacity_ = cap;
            b->size_class_ = cap <= kMaxFrameLen + 64 ? cls : 2;
        }
        allocated_.fetch_add(1, std::memory_order_relaxed);
        bytes_.fetch_add(b->capacity_, std::memory_order_relaxed);
        return b;
    }

    void give(Buffer* b)
    {
        allocated_.fetch_sub(1, std::memory_order_relaxed);
        bytes_.fetch_sub(b->capacity_, std::memory_order_relaxed);
        if (b->size_class_ < 2) {
            std::lock_guard lock(mu_);
            auto& fl = free_[b->size_class_];
            if (fl.size() < kMaxCached[b->size_class_]) { fl.push_back(b); return; }
        }
        b->~Buffer();
        std::free(b);
    }

    BufferPoolStats stats()
    {
        BufferPoolStats s;
        s.allocated = allocated_.load();
        s.bytes_in_use = bytes_.load();
        std::lock_guard lock(mu_);
        s.cached = free_[0].size() + free_[1].size();
        return s;
    }

private:
    static constexpr uint32_t kSmall = 2048;
    static constexpr std::size_t kMaxCached[2] = {65536, 256};
    std::mutex mu_;
    std::vector<Buffer*> free_[2];
    std::atomic<uint64_t> allocated_{0}, bytes_{0};
};

BufRef BufRef::allocate(uint32_t capacity)
{
    Buffer* b = BufferPool::instance().take(capacity);
    b->refs_.store(1, std::memory_order_relaxed);
    return BufRef(b);
}

void BufRef::release()
{
    if (b_ && b_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
        BufferPool::instance().give(b_);
    b_ = nullptr;
}

BufferPoolStats buffer_pool_stats() { return BufferPool::instance().stats(); }

uint8_t* Packet::mutable_data()
{
    if (!buf.unique()) {
        BufRef copy = BufRef::allocate(len);
        std::memcpy(copy.get()->data(), buf.get()->data(), len);
        buf = std::move(copy);
    }
    return buf.get()->data();
}

Packet Packet::copy_of(const uint8_t* bytes, uint32_t n, uint32_t vnet_len, uint64_t ts_ns)
{
    Packet p = with_capacity(n);
    if (n) std::memcpy(p.buf.get()->data(), bytes, n);
    p.len = n;
    p.vnet_len = vnet_len;
    p.ts_ns = ts_ns;
    return p;
}

Packet Packet::with_capacity(uint32_t capacity)
{
    Packet p;
    p.buf = BufRef::allocate(capacity ? capacity : 1);
    return p;
}

uint64_t Batch::bytes() const
{
    uint64_t n = 0;
    for (const auto& p : packets) n += p.len;
    return n;
}

} // namespace colo
