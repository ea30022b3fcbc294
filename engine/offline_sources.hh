// The offline driver: merges every offline source (Node::peek_time/pull) by
// timestamp on the driving thread, one batch at a time, until all are
// exhausted or the run stops. The execution model bounds each batch and acts
// around it (ExecutionModel::batch_end, before_batch, after_batch).
#pragma once

namespace colo::engine {

struct RunningGraph;

void drive_offline_sources(RunningGraph& graph);

} // namespace colo::engine
