// RunControl: back-pressure and the end of a run, the state that sources and
// the driving thread wait on.
//
// The runtime counts the messages in the graph. A source blocks in
// wait_for_room() while more than max_in_flight are queued; every message
// run lets it go on (message_done()). The run ends when stop() is called or
// every live source said it is done; waiting threads then wake at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace colo::engine {

class RunControl {
public:
    explicit RunControl(std::size_t max_in_flight) : max_in_flight_(int64_t(max_in_flight)) {}

    // A data message entered the graph (counted towards the peak).
    void data_sent() { note_peak(in_flight_.fetch_add(1, std::memory_order_relaxed) + 1); }
    // A tick or drain message entered the graph.
    void control_sent() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
    // A message has run: wakes sources waiting for room once there is some.
    void message_done()
    {
        const int64_t left = in_flight_.fetch_sub(1, std::memory_order_acq_rel) - 1;
        if (room_waiters_.load(std::memory_order_acquire) > 0 && left <= max_in_flight_) wake_all();
    }
    bool over_limit() const { return in_flight_.load(std::memory_order_acquire) > max_in_flight_; }
    // Blocks while the graph holds more than max_in_flight messages; false
    // once the run is stopping.
    bool wait_for_room();
    int64_t peak_in_flight() const { return peak_.load(); }

    bool stopping() const { return stopping_.load(); }
    // Marks the run as stopping without waking anyone (teardown, a failed start).
    void set_stopping() { stopping_.store(true); }
    // Marks the run as stopping and wakes every waiting thread.
    void stop()
    {
        set_stopping();
        wake_all();
    }
    // Sleeps up to `ns` (at least 1 ms), less if stop() is called.
    void sleep_unless_stopped(uint64_t ns);

    void expect_live_sources(int n) { live_sources_left_.store(n); }
    void live_source_done()
    {
        if (live_sources_left_.fetch_sub(1) == 1) wake_all();
    }
    // Blocks until stop() or until every live source is done.
    void wait_for_live_sources();

private:
    void note_peak(int64_t n)
    {
        int64_t peak = peak_.load(std::memory_order_relaxed);
        while (n > peak && !peak_.compare_exchange_weak(peak, n, std::memory_order_relaxed)) {}
    }
    void wake_all()
    {
        {
            std::lock_guard lock(mu_);
        }
        cv_.notify_all();
    }

    const int64_t max_in_flight_;
    std::atomic<int64_t> in_flight_{0}, peak_{0};
    std::atomic<int> room_waiters_{0};
    std::atomic<int> live_sources_left_{0};
    std::atomic<bool> stopping_{false};
    std::mutex mu_;
    std::condition_variable cv_;
};

} // namespace colo::engine
