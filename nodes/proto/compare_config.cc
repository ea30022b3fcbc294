#include "nodes/proto/compare_config.hh"

namespace colo {

std::string CompareConfig::validate() const
{
    // Zero: the same rule and wording as QEMU's positive-value properties
    // (net/colo-compare.c compare_set_timeout(), compare_set_expired_scan_cycle(),
    // set_max_queue_size()). The upper bounds are the node properties' ranges.
    for (const CompareSetting& s : kCompareSettings) {
        const uint32_t value = this->*s.field;
        if (value == 0) return std::string("'") + s.name + "' requires a positive value";
        if (value > s.max) return std::string("'") + s.name + "' requires a value of at most " + std::to_string(s.max);
    }
    return {};
}

} // namespace colo
