// Graph files: YAML that declares nodes and the links between their ports.
//
//   variables:              # ${name} defaults; override with --set name=value
//                           # (${graph_dir} is built in: the file's folder)
//     dir: /tmp
//   nodes:
//     src:  { type: pcap-source, file: "${dir}/in.pcap" }
//     sink: { type: pcap-sink, file: "${dir}/out.pcap" }
//   links:
//     - src.out -> sink.in  # the port may be omitted when there is only one
//
// load_graph() validates everything against the registry and reports every
// problem at once through Diagnostics (see docs/graph-format.md).
#pragma once

#include "engine/diagnostics.hh"
#include "engine/node_spec.hh"
#include "engine/properties.hh"

#include <map>
#include <string>
#include <vector>

namespace colo {

struct NodeDecl {
    std::string name;
    std::string type;
    SourceLoc loc;
    const NodeSpec* spec = nullptr;
    Properties props;                                  // validated, defaults applied
    std::map<std::string, std::string> explicit_props; // as written (after ${} expansion)
};

struct LinkDecl {
    std::string from_node, from_port, to_node, to_port;
    int from = -1, to = -1; // node indices
    int from_port_index = -1, to_port_index = -1;
    SourceLoc loc;
};

struct GraphDecl {
    std::string file;
    std::vector<NodeDecl> nodes;
    std::vector<LinkDecl> links;
    std::map<std::string, std::string> variables; // effective values
    // The `run:` mapping: options for the program that runs the graph
    // (`colo-graph run` checks their names), expanded, with where each is.
    struct RunOption {
        std::string value;
        SourceLoc loc;
    };
    std::map<std::string, RunOption> run_options;
    int node_index(const std::string& name) const;
};

using VariableOverrides = std::map<std::string, std::string>;

GraphDecl load_graph(const std::string& path, const VariableOverrides& overrides, Diagnostics& diags);
GraphDecl parse_graph(const std::string& text, const std::string& file_name, const VariableOverrides& overrides,
                      Diagnostics& diags);

// Largest graph file accepted; a graph is configuration, not data.
constexpr std::size_t kMaxGraphFileBytes = 4 << 20;
// Longest link text accepted (after ${} expansion). std::regex matches
// recursively, about one stack frame per character: a link of some 50,000
// characters overflowed the stack.
constexpr std::size_t kMaxLinkChars = 1024;

} // namespace colo
