#include "nodes/proto/compare_counters.hh"

namespace colo {

std::span<const CounterInfo> compare_counter_info()
{
    return kCompareCounterTable;
}

} // namespace colo
