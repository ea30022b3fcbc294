// systemd's service protocol for `colo-graph run` (Type=notify), through
// libsystemd's sd_notify(3): READY=1 once every node has started, STOPPING=1
// on shutdown, and, when the unit sets WatchdogSec, WATCHDOG=1 every half
// period for as long as the graph's clock keeps turning (a graph stuck
// behind a deadlock stops the pings and systemd restarts the service).
// Outside systemd (no NOTIFY_SOCKET) every call does nothing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace colo {

class ServiceNotify {
public:
    // `clock_driven`: the graph runs live and calls clock_turned(); a replay
    // has no clock thread, and the watchdog then pings unconditionally.
    explicit ServiceNotify(bool clock_driven);
    ~ServiceNotify();
    ServiceNotify(const ServiceNotify&) = delete;
    ServiceNotify& operator=(const ServiceNotify&) = delete;

    void ready(const std::string& status);
    void clock_turned();
    void stopping();

private:
    void watchdog_loop(uint64_t period_us);

    const bool clock_driven_;
    std::atomic<uint64_t> last_turn_us_{0};
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread watchdog_;
};

} // namespace colo
