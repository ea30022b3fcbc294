#include "engine/graph_file.hh"

#include "engine/registry.hh"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace colo {

int GraphDecl::node_index(const std::string& name) const
{
    for (std::size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i].name == name) return int(i);
    return -1;
}

namespace {

struct Loader {
    std::string file;
    Diagnostics& diags;
    std::map<std::string, std::string> vars;

    SourceLoc at(const YAML::Node& n) const
    {
        const YAML::Mark m = n.Mark();
        if (m.is_null()) return {file, 0, 0};
        return {file, m.line + 1, m.column + 1};
    }
    void error(const YAML::Node& n, std::string msg) { diags.error(at(n), std::move(msg)); }

    // Expands ${name}; unknown names are errors at the scalar's location.
    std::string expand(const YAML::Node& n)
    {
        const std::string& in = n.Scalar();
        std::string out;
        std::size_t i = 0;
        while (i < in.size()) {
            std::size_t open = in.find("${", i);
            if (open == std::string::npos) {
                out += in.substr(i);
                break;
            }
            std::size_t close = in.find('}', open);
            if (close == std::string::npos) {
                error(n, "unterminated '${' in '" + in + "'");
                return in;
            }
            out += in.substr(i, open - i);
            std::string name = in.substr(open + 2, close - open - 2);
            auto it = vars.find(name);
            if (it == vars.end()) {
                std::vector<std::string> known;
                for (auto& [k, v] : vars) known.push_back(k);
                std::string hint = suggest(name, known);
                error(n,
                      "unknown variable '${" + name + "}'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
            } else {
                out += it->second;
            }
            i = close + 1;
        }
        return out;
    }

    void load_variables(const YAML::Node& root, const VariableOverrides& overrides)
    {
        // Built in: the graph file's own folder, so graphs can name files beside them.
        const auto slash = file.rfind('/');
        vars["graph_dir"] = slash == std::string::npos ? "." : file.substr(0, slash);
        const YAML::Node v = root["variables"];
        if (v) {
            if (!v.IsMap()) error(v, "'variables' must be a mapping of name: default");
            else
                for (auto it = v.begin(); it != v.end(); ++it) {
                    if (!it->second.IsScalar()) {
                        error(it->second, "variable '" + it->first.Scalar() + "' must be a scalar");
                        continue;
                    }
                    vars[it->first.Scalar()] = it->second.Scalar();
                }
        }
        for (const auto& [k, val] : overrides) {
            if (!vars.count(k)) {
                std::vector<std::string> known;
                for (auto& [name, d] : vars) known.push_back(name);
                std::string hint = suggest(k, known);
                diags.error({file, 0, 0}, "--set " + k + ": the graph declares no variable '" + k + "'" +
                                              (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
                continue;
            }
            vars[k] = val;
        }
    }

    void check_value(NodeDecl& nd, const PropertySpec& ps, const YAML::Node& value)
    {
        const std::string where = "property '" + ps.name + "' of node '" + nd.name + "'";
        if (ps.type == PropType::list) {
            std::vector<std::string> items;
            if (value.IsScalar()) items.push_back(expand(value));
            else if (value.IsSequence()) {
                for (const auto& item : value) {
                    if (!item.IsScalar()) {
                        error(item, where + ": list items must be scalars");
                        continue;
                    }
                    items.push_back(expand(item));
                }
            } else if (!value.IsNull()) {
                error(value, where + ": expected a list");
                return;
            }
            nd.props.set_list(ps.name, items);
            nd.explicit_props[ps.name] = std::to_string(items.size()) + " item(s)";
            return;
        }
        if (!value.IsScalar()) {
            error(value, where + ": expected a " + std::string(to_string(ps.type)) + " scalar");
            return;
        }
        std::string text = expand(value);
        if (const std::string why = check_scalar(ps, text); !why.empty()) {
            error(value, where + ": " + why);
            return;
        }
        nd.props.set(ps.name, text);
        nd.explicit_props[ps.name] = text;
    }

    void load_node(GraphDecl& g, const YAML::Node& key, const YAML::Node& body, std::set<std::string>& seen)
    {
        NodeDecl nd;
        nd.name = key.Scalar();
        nd.loc = at(key);
        if (!seen.insert(nd.name).second) {
            error(key, "duplicate node name '" + nd.name + "'");
            return;
        }
        static const std::regex name_re("[A-Za-z_][A-Za-z0-9_-]*");
        if (!std::regex_match(nd.name, name_re))
            error(key, "node name '" + nd.name + "' must match [A-Za-z_][A-Za-z0-9_-]*");
        if (!body.IsMap()) {
            error(body, "node '" + nd.name + "' must be a mapping with at least 'type'");
            return;
        }
        const YAML::Node type = body["type"];
        if (!type || !type.IsScalar()) {
            error(key, "node '" + nd.name + "' has no 'type'");
            g.nodes.push_back(std::move(nd));
            return;
        }
        nd.type = type.Scalar();
        nd.spec = Registry::instance().find(nd.type);
        if (!nd.spec) {
            std::string hint = Registry::instance().nearest(nd.type);
            error(type,
                  "unknown node type '" + nd.type + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
            g.nodes.push_back(std::move(nd));
            return;
        }
        std::set<std::string> given;
        for (auto it = body.begin(); it != body.end(); ++it) {
            const std::string pname = it->first.Scalar();
            if (pname == "type") continue;
            if (!given.insert(pname).second) {
                error(it->first, "property '" + pname + "' given twice");
                continue;
            }
            const PropertySpec* ps = nd.spec->property(pname);
            if (!ps) {
                std::vector<std::string> names;
                for (const auto& p : nd.spec->properties) names.push_back(p.name);
                std::string hint = suggest(pname, names);
                error(it->first, "node type '" + nd.type + "' has no property '" + pname + "'" +
                                     (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
                continue;
            }
            check_value(nd, *ps, it->second);
        }
        for (const auto& ps : nd.spec->properties) {
            if (given.count(ps.name)) continue;
            if (ps.required) {
                error(key, "node '" + nd.name + "' (" + nd.type + ") needs property '" + ps.name + "'");
                continue;
            }
            if (ps.type == PropType::list) nd.props.set_list(ps.name, {});
            else if (!ps.default_value.empty()) nd.props.set(ps.name, ps.default_value);
        }
        g.nodes.push_back(std::move(nd));
    }

    // "node.port" or "node" when the node has exactly one port in that direction.
    bool resolve_end(GraphDecl& g, const YAML::Node& at_node, const std::string& text, PortDir dir, std::string& node,
                     std::string& port, int& index, int& port_index)
    {
        auto dot = text.find('.');
        node = text.substr(0, dot);
        port = dot == std::string::npos ? "" : text.substr(dot + 1);
        index = g.node_index(node);
        if (index < 0) {
            std::vector<std::string> names;
            for (const auto& n : g.nodes) names.push_back(n.name);
            std::string hint = suggest(node, names);
            error(at_node, "link refers to unknown node '" + node + "'" +
                               (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
            return false;
        }
        const NodeSpec* spec = g.nodes[index].spec;
        if (!spec) return false; // already reported
        const char* role = dir == PortDir::out ? "output" : "input";
        if (port.empty()) {
            auto ports = spec->ports_of(dir);
            // A node's main port is named after its direction (a socket's `out`
            // beside its `status`): left out, the port is that one.
            if (const PortSpec* main = spec->port(dir == PortDir::out ? "out" : "in", dir); main && ports.size() > 1)
                ports = {main};
            if (ports.size() != 1) {
                error(at_node, "'" + node + "' (" + spec->type + ") has " + std::to_string(ports.size()) + " " + role +
                                   " ports; name one as '" + node + ".PORT'");
                return false;
            }
            port = ports[0]->name;
        }
        port_index = spec->port_index(port, dir);
        if (port_index >= 0) return true;
        const PortDir other = dir == PortDir::out ? PortDir::in : PortDir::out;
        if (spec->port(port, other)) {
            error(at_node, "'" + node + "." + port + "' is an " + (dir == PortDir::out ? "input" : "output") +
                               " port; links go from an output to an input ('from -> to')");
            return false;
        }
        std::vector<std::string> names;
        for (const auto* p : spec->ports_of(dir)) names.push_back(p->name);
        std::string hint = suggest(port, names);
        error(at_node, "node type '" + spec->type + "' has no " + role + " port '" + port + "'" +
                           (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
        return false;
    }

    void load_links(GraphDecl& g, const YAML::Node& links)
    {
        if (!links) return;
        if (!links.IsSequence()) {
            error(links, "'links' must be a list of 'from.port -> to.port'");
            return;
        }
        for (const auto& item : links) {
            if (!item.IsScalar()) {
                error(item, "a link must be a string 'from.port -> to.port'");
                continue;
            }
            const std::string text = expand(item);
            if (text.size() > kMaxLinkChars) {
                error(item, "link is " + std::to_string(text.size()) + " characters long; the limit is " +
                                std::to_string(kMaxLinkChars));
                continue;
            }
            static const std::regex link_re(R"(^\s*([^\s]+)\s*->\s*([^\s]+)\s*$)");
            std::smatch m;
            if (!std::regex_match(text, m, link_re)) {
                error(item, "malformed link '" + text + "'; expected 'from.port -> to.port'");
                continue;
            }
            LinkDecl l;
            l.loc = at(item);
            bool ok = resolve_end(g, item, m[1], PortDir::out, l.from_node, l.from_port, l.from, l.from_port_index);
            ok &= resolve_end(g, item, m[2], PortDir::in, l.to_node, l.to_port, l.to, l.to_port_index);
            if (ok) g.links.push_back(l);
        }
    }

    void check_required_ports(const GraphDecl& g)
    {
        for (std::size_t i = 0; i < g.nodes.size(); ++i) {
            const auto& nd = g.nodes[i];
            if (!nd.spec) continue;
            for (const auto& p : nd.spec->ports) {
                if (!p.required) continue;
                bool linked = false;
                for (const auto& l : g.links)
                    linked |= (p.dir == PortDir::out ? (l.from == int(i) && l.from_port == p.name)
                                                     : (l.to == int(i) && l.to_port == p.name));
                if (!linked)
                    diags.error(nd.loc, "required " + std::string(p.dir == PortDir::in ? "input" : "output") +
                                            " port '" + nd.name + "." + p.name + "' is not linked");
            }
        }
    }
};

// Reports the first invalid UTF-8 sequence with its line and column.
bool check_utf8(const std::string& text, const std::string& file, Diagnostics& diags)
{
    int line = 1, col = 1;
    for (std::size_t i = 0; i < text.size();) {
        unsigned char c = text[i];
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = n > 0 && i + n <= text.size();
        for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 2;
        if (!ok) {
            diags.error(
                {file, line, col}, "invalid UTF-8 byte 0x" + [&] {
                    char b[3];
                    snprintf(b, 3, "%02x", c);
                    return std::string(b);
                }());
            return false;
        }
        if (c == '\n') {
            ++line;
            col = 1;
        } else ++col;
        i += n;
    }
    return true;
}

} // namespace

GraphDecl parse_graph(const std::string& text, const std::string& file_name, const VariableOverrides& overrides,
                      Diagnostics& diags)
{
    GraphDecl g;
    g.file = file_name;
    if (text.size() > kMaxGraphFileBytes) {
        diags.error({file_name, 0, 0}, "graph file is " + std::to_string(text.size()) + " bytes; the limit is " +
                                           std::to_string(kMaxGraphFileBytes));
        return g;
    }
    if (!check_utf8(text, file_name, diags)) return g;
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        diags.error({file_name, e.mark.line + 1, e.mark.column + 1}, e.msg);
        return g;
    }
    Loader ld{file_name, diags, {}};
    if (!root.IsMap()) {
        diags.error({file_name, 1, 1}, "a graph file is a mapping with 'nodes' and 'links'");
        return g;
    }
    for (auto it = root.begin(); it != root.end(); ++it) {
        const std::string k = it->first.Scalar();
        if (k != "variables" && k != "nodes" && k != "links" && k != "description" && k != "run")
            ld.error(it->first,
                     "unknown top-level key '" + k + "' (expected variables, nodes, links, run, description)");
    }
    ld.load_variables(root, overrides);
    g.variables = ld.vars;
    if (const YAML::Node run = root["run"]) {
        if (!run.IsMap()) ld.error(run, "'run' is a mapping of option: value");
        else
            for (auto it = run.begin(); it != run.end(); ++it) {
                if (!it->second.IsScalar())
                    ld.error(it->second, "run option '" + it->first.Scalar() + "' takes a value");
                else g.run_options[it->first.Scalar()] = {ld.expand(it->second), ld.at(it->first)};
            }
    }
    const YAML::Node nodes = root["nodes"];
    if (!nodes || !nodes.IsMap() || nodes.size() == 0) {
        diags.error(nodes ? ld.at(nodes) : SourceLoc{file_name, 1, 1}, "graph has no 'nodes' mapping");
        return g;
    }
    std::set<std::string> seen;
    for (auto it = nodes.begin(); it != nodes.end(); ++it) ld.load_node(g, it->first, it->second, seen);
    ld.load_links(g, root["links"]);
    ld.check_required_ports(g);
    return g;
}

GraphDecl load_graph(const std::string& path, const VariableOverrides& overrides, Diagnostics& diags)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        diags.error({path, 0, 0}, "cannot open graph file");
        return {};
    }
    in.seekg(0, std::ios::end);
    const auto size = std::size_t(in.tellg());
    if (size > kMaxGraphFileBytes) {
        diags.error({path, 0, 0}, "graph file is " + std::to_string(size) + " bytes; the limit is " +
                                      std::to_string(kMaxGraphFileBytes));
        return {};
    }
    in.seekg(0);
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_graph(ss.str(), path, overrides, diags);
}

} // namespace colo
