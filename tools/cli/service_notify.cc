#include "tools/cli/service_notify.hh"

#include <systemd/sd-daemon.h>

#include <chrono>

namespace colo {

namespace {

uint64_t monotonic_us()
{
    using namespace std::chrono;
    return uint64_t(duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count());
}

} // namespace

ServiceNotify::ServiceNotify(bool clock_driven) : clock_driven_(clock_driven)
{
    last_turn_us_ = monotonic_us();
    uint64_t period_us = 0;
    if (sd_watchdog_enabled(0, &period_us) > 0 && period_us > 0)
        watchdog_ = std::thread([this, period_us] { watchdog_loop(period_us); });
}

ServiceNotify::~ServiceNotify()
{
    {
        std::lock_guard lock(mu_);
        done_ = true;
    }
    cv_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
}

void ServiceNotify::ready(const std::string& status)
{
    sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
}

void ServiceNotify::clock_turned()
{
    last_turn_us_.store(monotonic_us(), std::memory_order_relaxed);
}

void ServiceNotify::stopping()
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping: draining packets in flight");
}

void ServiceNotify::watchdog_loop(uint64_t period_us)
{
    const uint64_t half = period_us / 2;
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::microseconds(half), [this] { return done_; })) {
        // A clock that has not turned for half a period is stuck: no ping,
        // and systemd's watchdog takes over.
        if (!clock_driven_ || monotonic_us() - last_turn_us_.load(std::memory_order_relaxed) < half)
            sd_notify(0, "WATCHDOG=1");
    }
}

} // namespace colo
