// Graphviz export in the spirit of GStreamer's pipeline dumps: one box per
// node (name, type, non-default properties) with its ports as cells, flowing
// left to right. With stats, nodes and edges carry live packet counts.
#pragma once

#include "engine/graph_file.hh"
#include "engine/runtime.hh"

#include <string>
#include <vector>

namespace colo {

std::string graph_to_dot(const GraphDecl& graph, const std::vector<NodeStats>* stats = nullptr);

} // namespace colo
