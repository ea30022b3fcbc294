// Human-readable views of the registry: `colo-graph nodes`, `colo-graph
// inspect TYPE` (gst-inspect style) and the generated docs/nodes.md.
#pragma once

#include "engine/node_spec.hh"

#include <string>

namespace colo {

std::string list_node_types(); // one line per type
std::string inspect_node_type(const NodeSpec& spec);
std::string node_types_markdown(); // the whole of docs/nodes.md

} // namespace colo
