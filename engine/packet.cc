#include "engine/packet.hh"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

namespace colo {

// Three size classes cover every frame: small frames (ACKs, short
// datagrams: a held 64-byte frame should not pin 2 KiB), MTU-sized ones and
// the chardev maximum; a fourth holds the stream endpoints' read chunks,
// whose packets share them (FrameDecoder). Each thread keeps a small cache of free buffers and trades them
// with a shared free list in bulk, so the common take/give touches no lock
// and no shared cache line (a reader thread allocates, a worker frees).
// The shared list is capped so an idle process gives memory back.
class BufferPool {
public:
    // Never destroyed: packets may outlive static destructors, and cached
    // buffers stay reachable (not leaks) until the process ends.
    static BufferPool& instance()
    {
        static BufferPool* p = new BufferPool;
        return *p;
    }

    Buffer* take(uint32_t capacity)
    {
        uint8_t cls = 0;
        while (cls < kClasses && capacity > kClassSize[cls]) ++cls;
        Buffer* b = nullptr;
        ThreadCache& tc = local();
        if (cls < kClasses) {
            auto& fl = tc.free[cls];
            if (fl.empty()) refill(fl, cls);
            if (!fl.empty()) {
                b = fl.back();
                fl.pop_back();
            }
        }
        if (!b) b = fresh(cls < kClasses ? kClassSize[cls] : capacity, cls);
        tc.count(+1, b->capacity_);
        return b;
    }

    void give(Buffer* b)
    {
        ThreadCache& tc = local();
        tc.count(-1, b->capacity_);
        if (b->size_class_ == kClasses) {
            destroy(b);
            return;
        }
        auto& fl = tc.free[b->size_class_];
        fl.push_back(b);
        if (fl.size() > kThreadCached[b->size_class_]) spill(fl, b->size_class_, fl.size() / 2);
    }

    BufferPoolStats stats()
    {
        std::lock_guard lock(mu_);
        int64_t n = retired_count_, bytes = retired_bytes_;
        uint64_t cached = 0;
        for (const auto& fl : free_) cached += fl.size();
        for (auto* tc : caches_) {
            n += tc->n.load(std::memory_order_relaxed);
            bytes += tc->bytes.load(std::memory_order_relaxed);
            cached += tc->cached.load(std::memory_order_relaxed);
        }
        return {uint64_t(std::max<int64_t>(n, 0)), cached, uint64_t(std::max<int64_t>(bytes, 0))};
    }

private:
    static constexpr uint8_t kClasses = 4; // pooled; larger buffers are malloc'd and freed
    static constexpr uint32_t kClassSize[kClasses] = {256, 2048, kMaxFrameLen + 64, 256u << 10};
    static constexpr std::size_t kThreadCached[kClasses] = {1024, 512, 16, 8};
    static constexpr std::size_t kSharedCached[kClasses] = {65536, 65536, 256, 32};

    struct ThreadCache {
        std::vector<Buffer*> free[kClasses];
        std::atomic<int64_t> n{0}, bytes{0}; // this thread's takes minus gives; single writer
        std::atomic<uint64_t> cached{0};
        void count(int64_t d, uint32_t cap)
        {
            n.store(n.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
            bytes.store(bytes.load(std::memory_order_relaxed) + d * int64_t(cap), std::memory_order_relaxed);
            std::size_t c = 0;
            for (const auto& fl : free) c += fl.size();
            cached.store(c, std::memory_order_relaxed);
        }
        ThreadCache() { BufferPool::instance().attach(this); }
        ~ThreadCache() { BufferPool::instance().detach(this); }
    };

    static ThreadCache& local()
    {
        thread_local ThreadCache tc;
        return tc;
    }

    void attach(ThreadCache* tc)
    {
        std::lock_guard lock(mu_);
        caches_.push_back(tc);
    }

    void detach(ThreadCache* tc)
    {
        for (uint8_t cls = 0; cls < kClasses; ++cls) spill(tc->free[cls], cls, tc->free[cls].size());
        std::lock_guard lock(mu_);
        retired_count_ += tc->n.load();
        retired_bytes_ += tc->bytes.load();
        caches_.erase(std::find(caches_.begin(), caches_.end(), tc));
    }

    void refill(std::vector<Buffer*>& fl, uint8_t cls)
    {
        std::lock_guard lock(mu_);
        auto& shared = free_[cls];
        const std::size_t n = std::min(shared.size(), kThreadCached[cls] / 2);
        fl.insert(fl.end(), shared.end() - std::ptrdiff_t(n), shared.end());
        shared.resize(shared.size() - n);
    }

    void spill(std::vector<Buffer*>& fl, uint8_t cls, std::size_t n)
    {
        std::vector<Buffer*> excess;
        {
            std::lock_guard lock(mu_);
            auto& shared = free_[cls];
            for (std::size_t i = 0; i < n; ++i) {
                if (shared.size() < kSharedCached[cls]) shared.push_back(fl.back());
                else excess.push_back(fl.back());
                fl.pop_back();
            }
        }
        for (auto* b : excess) destroy(b);
    }

    static Buffer* fresh(uint32_t cap, uint8_t cls)
    {
        void* mem = std::malloc(sizeof(Buffer) + cap);
        if (!mem) throw std::bad_alloc();
        Buffer* b = new (mem) Buffer();
        b->capacity_ = cap;
        b->size_class_ = cls;
        return b;
    }

    static void destroy(Buffer* b)
    {
        b->~Buffer();
        std::free(b);
    }

    std::mutex mu_;
    std::vector<Buffer*> free_[kClasses];
    std::vector<ThreadCache*> caches_;
    int64_t retired_count_ = 0, retired_bytes_ = 0;
};

BufRef BufRef::allocate(uint32_t capacity)
{
    Buffer* b = BufferPool::instance().take(capacity);
    b->refs_.store(1, std::memory_order_relaxed);
    return BufRef(b);
}

void BufRef::recycle(Buffer* b)
{
    BufferPool::instance().give(b);
}

BufferPoolStats buffer_pool_stats()
{
    return BufferPool::instance().stats();
}

uint8_t* Packet::mutable_data()
{
    if (!buf.unique()) {
        BufRef copy = BufRef::allocate(len);
        std::memcpy(copy.get()->data(), data(), len);
        buf = std::move(copy);
        head = 0;
    }
    return buf.get()->data() + head;
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
