// A counter table: one {name, doc, field} entry per field of a plain struct
// of uint64_t counters, in declaration order. Protocol classes keep such a
// struct (no atomics, no TBB); their node declares its counters from the
// table (declare_counters() in engine/node_spec.hh) and publishes the struct
// through it (Node::set_counters()), and tools read it generically.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace colo {

template <class Counters>
struct CounterField {
    const char* name;
    const char* doc;
    uint64_t Counters::*field;
    bool gauge = false; // a current level rather than a monotonic count
};

// For a static_assert next to the table: one entry per field.
template <class Counters, std::size_t N>
constexpr bool covers_every_field(const std::array<CounterField<Counters>, N>&)
{
    return sizeof(Counters) == N * sizeof(uint64_t);
}

} // namespace colo
