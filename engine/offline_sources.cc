#include "engine/offline_sources.hh"

#include "engine/execution_model.hh"
#include "engine/topology.hh"

#include <cstdint>
#include <vector>

namespace colo::engine {

void drive_offline_sources(RunningGraph& graph)
{
    struct Source {
        NodeRunner* runner;
        bool exhausted = false;
    };
    std::vector<Source> sources;
    for (auto& r : graph.runners)
        if (r->node->source_kind() == SourceKind::offline) sources.push_back({r.get()});
    ExecutionModel& model = *graph.model;
    while (!graph.control.stopping()) {
        Source* best = nullptr;
        uint64_t best_ts = UINT64_MAX, next_ts = UINT64_MAX;
        for (auto& s : sources) {
            uint64_t ts = 0;
            if (s.exhausted || !s.runner->node->peek_time(ts)) {
                s.exhausted = true;
                continue;
            }
            if (!best || ts < best_ts) {
                next_ts = best ? best_ts : next_ts;
                best = &s;
                best_ts = ts;
            } else if (ts < next_ts) next_ts = ts;
        }
        if (!best) break;
        Batch b;
        int port = 0;
        if (!best->runner->node->pull(graph.opt.batch_size, model.batch_end(best_ts, next_ts), port, b)) {
            best->exhausted = true;
            continue;
        }
        if (b.empty()) continue;
        model.before_batch(b.packets.front().ts_ns);
        const uint64_t last = b.packets.back().ts_ns;
        best->runner->calls.add(1);
        best->runner->send(port, std::move(b));
        model.after_batch(last);
    }
}

} // namespace colo::engine
