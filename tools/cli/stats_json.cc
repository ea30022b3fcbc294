#include "tools/cli/stats_json.hh"

namespace colo {

namespace {
nlohmann::json ports_json(const std::vector<PortStats>& ports, bool out)
{
    auto j = nlohmann::json::object();
    for (const auto& p : ports) {
        auto& port = j[p.name] = {{"packets", p.packets}, {"bytes", p.bytes}, {"batches", p.batches}};
        if (out) port["unlinked_drops"] = p.unlinked_drops;
    }
    return j;
}
} // namespace

nlohmann::json stats_json(const Runtime& rt, double uptime_s)
{
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& s : rt.stats()) {
        nlohmann::json counters = nlohmann::json::object(), histograms = nlohmann::json::object();
        for (const auto& [name, v] : s.counters) counters[name] = v;
        for (const auto& [name, h] : s.histograms) {
            nlohmann::json buckets = nlohmann::json::array();
            for (std::size_t i = 0; i < kLatencyBoundsNs.size(); ++i)
                buckets.push_back({{"le", double(kLatencyBoundsNs[i]) / 1e9}, {"count", h.cumulative[i]}});
            histograms[name] = {{"count", h.count}, {"sum_seconds", double(h.sum_ns) / 1e9}, {"buckets", buckets}};
        }
        nodes.push_back({{"name", s.name},
                         {"type", s.type},
                         {"calls", s.calls},
                         {"busy_seconds", double(s.busy_ns) / 1e9},
                         {"queued_batches", s.queued},
                         {"in", ports_json(s.in, false)},
                         {"out", ports_json(s.out, true)},
                         {"counters", counters},
                         {"histograms", histograms}});
    }
    return {{"version", kStatsSchemaVersion},
            {"graph", rt.graph().file},
            {"mode", rt.mode() == RunMode::replay ? "replay" : "live"},
            {"uptime_seconds", uptime_s},
            {"nodes", nodes}};
}

} // namespace colo
