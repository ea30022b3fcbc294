// Fuzzes the graph file loader and validator (engine/graph_file.hh) with
// arbitrary text, against the registry of every real node type.
//
// Input: the YAML text, optionally followed by a NUL byte and "name=value"
// lines that act as --set overrides.
//
// Checked: a graph without errors refers only to known node types and to
// ports that exist; every diagnostic formats.
#include "engine/graph_file.hh"

#include <cstdlib>
#include <sstream>
#include <string>

using namespace colo;

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

VariableOverrides overrides_from(const std::string& lines)
{
    VariableOverrides out;
    std::istringstream in(lines);
    for (std::string line; std::getline(in, line);) {
        const auto eq = line.find('=');
        if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size)
{
    const std::string input(reinterpret_cast<const char*>(data), size);
    const auto nul = input.find('\0');
    const std::string text = input.substr(0, nul);
    const VariableOverrides overrides =
        nul == std::string::npos ? VariableOverrides{} : overrides_from(input.substr(nul + 1));

    Diagnostics diags;
    const GraphDecl g = parse_graph(text, "fuzz.yaml", overrides, diags);
    std::ostringstream printed;
    diags.print(printed);
    for (const Diagnostic& d : diags.items()) check(!format(d).empty());
    if (!diags.ok()) return 0;

    check(!g.nodes.empty());
    for (const NodeDecl& n : g.nodes) check(n.spec != nullptr && n.spec->type == n.type);
    for (const LinkDecl& l : g.links) {
        check(l.from >= 0 && std::size_t(l.from) < g.nodes.size() && l.to >= 0 && std::size_t(l.to) < g.nodes.size());
        check(g.nodes[l.from].spec->port_index(l.from_port, PortDir::out) == l.from_port_index);
        check(g.nodes[l.to].spec->port_index(l.to_port, PortDir::in) == l.to_port_index);
        check(l.from_port_index >= 0 && l.to_port_index >= 0);
    }
    return 0;
}
