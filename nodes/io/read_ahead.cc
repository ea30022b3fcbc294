#include "nodes/io/read_ahead.hh"

#include <utility>

namespace colo {

ReadAhead::ReadAhead(Fill fill, std::size_t depth)
    : fill_(std::move(fill)), depth_(depth < 2 ? 2 : depth), thread_([this] { run(); })
{}

ReadAhead::~ReadAhead()
{
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    room_cv_.notify_all();
    thread_.join();
}

// The thread, once the queue is full, sleeps until half of it was taken:
// waking it for every chunk would cost more than reading a chunk of small
// frames.
void ReadAhead::run()
{
    for (;;) {
        Chunk chunk;
        {
            std::unique_lock lock(mu_);
            if (ready_.size() >= depth_) {
                filler_waiting_ = true;
                room_cv_.wait(lock, [&] { return stop_ || ready_.size() <= depth_ / 2; });
                filler_waiting_ = false;
            }
            if (stop_) return;
            if (!spare_.empty()) {
                chunk = std::move(spare_.back());
                spare_.pop_back();
            }
        }
        bool more = false;
        std::exception_ptr error;
        try {
            more = fill_(chunk);
        } catch (...) {
            error = std::current_exception();
        }
        bool wake;
        {
            std::lock_guard lock(mu_);
            if (!chunk.empty()) ready_.push_back(std::move(chunk));
            ended_ = !more;
            // Moved, not copied: this thread keeps no reference to drop after
            // the lock, so only the consumer releases the exception.
            // ThreadSanitizer cannot see the count's atomics in libstdc++ and
            // reported that release racing with the consumer's what().
            error_ = std::move(error);
            wake = consumer_waiting_;
        }
        if (wake) ready_cv_.notify_one();
        if (!more) return;
    }
}

bool ReadAhead::next(Chunk& chunk)
{
    std::unique_lock lock(mu_);
    if (chunk.capacity()) {
        chunk.clear();
        spare_.push_back(std::move(chunk));
    }
    if (ready_.empty() && !ended_) {
        consumer_waiting_ = true;
        ready_cv_.wait(lock, [&] { return ended_ || !ready_.empty(); });
        consumer_waiting_ = false;
    }
    if (ready_.empty()) {
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
        return false;
    }
    chunk = std::move(ready_.front());
    ready_.pop_front();
    const bool wake = filler_waiting_ && ready_.size() <= depth_ / 2;
    lock.unlock();
    if (wake) room_cv_.notify_one();
    return true;
}

} // namespace colo
