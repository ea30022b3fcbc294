// Clocks of the runtime: the wall clock (live graph time), a steady clock,
// and the cycle counter that times node calls for the statistics.
#pragma once

#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace colo::engine {

uint64_t wall_clock_ns(); // ns since the Unix epoch
uint64_t steady_ns();     // monotonic ns

// Node calls are timed twice each, for the busy time in the statistics. On
// x86 the time-stamp counter costs less than half a vDSO clock_gettime (10
// against 22 ns on the development VM), and its rate, constant on every
// x86-64 processor of the last fifteen years (constant_tsc), is measured over
// the run itself. Elsewhere a tick is a nanosecond.
struct CycleClock {
#if defined(__x86_64__)
    static uint64_t now()
    {
        return __rdtsc();
    }
#else
    static uint64_t now()
    {
        return steady_ns();
    }
#endif
};

// CycleClock ticks to nanoseconds, measured from construction to the call.
class CycleRate {
public:
    double ns_per_tick() const
    {
        const uint64_t ticks = CycleClock::now() - ticks0_, ns = steady_ns() - ns0_;
        return ticks ? double(ns) / double(ticks) : 1.0;
    }

private:
    uint64_t ticks0_ = CycleClock::now(), ns0_ = steady_ns();
};

} // namespace colo::engine
