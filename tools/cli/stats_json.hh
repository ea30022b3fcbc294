// The running graph's statistics as JSON: the result of `colo-graph ctl
// stats`, schema version 1 (docs/operations.md, "stats"). Scripts rely on
// it: a member is added under the same version, any other change bumps it.
#pragma once

#include "engine/runtime.hh"

#include <nlohmann/json.hpp>

namespace colo {

inline constexpr int kStatsSchemaVersion = 1;

nlohmann::json stats_json(const Runtime& rt, double uptime_s);

} // namespace colo
