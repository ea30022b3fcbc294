#include "nodes/proto/compare_config.hh"

#include <utility>

namespace colo {

std::string CompareConfig::validate() const
{
    // Same rule and wording as QEMU's positive-value properties (net/colo-compare.c
    // compare_set_timeout(), compare_set_expired_scan_cycle(), set_max_queue_size()).
    const auto positive = [](const char* name, uint32_t v) {
        return v == 0 ? std::string("'") + name + "' requires a positive value" : std::string();
    };
    for (auto [name, value] :
         {std::pair{"compare_timeout", compare_timeout_ms}, std::pair{"expired_scan_cycle", expired_scan_cycle_ms},
          std::pair{"max_queue_size", max_queue_size}, std::pair{"idle_timeout", idle_timeout_ms},
          std::pair{"max_connections", max_connections}}) {
        if (auto err = positive(name, value); !err.empty()) return err;
    }
    return {};
}

} // namespace colo
