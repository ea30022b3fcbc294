#include "engine/run_control.hh"

#include <algorithm>

namespace colo::engine {

bool RunControl::wait_for_room()
{
    if (in_flight_.load(std::memory_order_acquire) <= max_in_flight_) return !stopping();
    std::unique_lock lock(mu_);
    room_waiters_.fetch_add(1);
    while (!stopping() && in_flight_.load() > max_in_flight_) cv_.wait_for(lock, std::chrono::milliseconds(10));
    room_waiters_.fetch_sub(1);
    return !stopping();
}

void RunControl::sleep_unless_stopped(uint64_t ns)
{
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::nanoseconds(std::max<uint64_t>(ns, 1'000'000)), [&] { return stopping(); });
}

void RunControl::wait_for_live_sources()
{
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stopping() || live_sources_left_.load() <= 0; });
}

} // namespace colo::engine
