// Waits for a condition another thread brings about: the tests' one way to
// wait, so that none sleeps a fixed time and hopes.
#pragma once

#include <chrono>
#include <thread>

namespace colo::testing {

// How long a condition may take on a loaded machine; only a broken run waits this long.
inline constexpr std::chrono::milliseconds kPatience{10'000};

// True once pred() holds; false if it still does not after `limit`.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = kPatience)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

} // namespace colo::testing
