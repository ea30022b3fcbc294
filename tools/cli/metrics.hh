// Prometheus text exposition (format 0.0.4) of a running graph, what
// `--metrics HOST:PORT` serves at GET /metrics (docs/operations.md, Metrics):
//   colo_graph_<type>_<counter>_total{node="<name>"}   every node counter
//   colo_graph_<type>_<gauge>{node="<name>"}           counters that are levels
//   colo_graph_<type>_<family>_total{node=...,LABEL=...} counters the spec
//                                                      exports under a family
//   colo_graph_<type>_<histogram>_{bucket,sum,count}   histograms, in seconds
//   colo_graph_port_{packets,bytes}_total{node,port,direction}
//   colo_graph_node_busy_seconds_total{node}, colo_graph_node_queued_batches{node}
// A `-` in a type becomes `_`. A counter named like a labelled family of its
// own type is that family's total and is left out (sum the family instead).
#pragma once

#include "engine/runtime.hh"

#include <string>
#include <vector>

namespace colo {

std::string prometheus_text(const GraphDecl& graph, const std::vector<NodeStats>& stats);

// An HTTP/1.x request head for GET /metrics: "" when it is one, otherwise the
// status line to answer ("404 Not Found", "405 Method Not Allowed",
// "400 Bad Request").
std::string metrics_request_status(std::string_view head);

} // namespace colo
