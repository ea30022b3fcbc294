#include "engine/dot.hh"

#include <sstream>

namespace colo {

namespace {

std::string html(const std::string& s)
{
    std::string o;
    for (char c : s) {
        switch (c) {
        case '&': o += "&amp;"; break;
        case '<': o += "&lt;"; break;
        case '>': o += "&gt;"; break;
        case '"': o += "&quot;"; break;
        default: o += c;
        }
    }
    return o;
}

std::string human(uint64_t n)
{
    char b[32];
    if (n >= 10'000'000) std::snprintf(b, sizeof b, "%.1fM", double(n) / 1e6);
    else if (n >= 10'000) std::snprintf(b, sizeof b, "%.1fk", double(n) / 1e3);
    else std::snprintf(b, sizeof b, "%llu", (unsigned long long)n);
    return b;
}

std::string port_cell(const PortSpec* p, const char* prefix, int index, const PortStats* st)
{
    if (!p) return "<TD BORDER=\"0\"></TD>";
    std::string label = html(p->name);
    if (st) label += "<BR/><FONT POINT-SIZE=\"8\">" + human(st->packets) + " pkts</FONT>";
    return std::string("<TD PORT=\"") + prefix + std::to_string(index) + "\" BGCOLOR=\"" +
           (prefix[0] == 'i' ? "#e8f0fe" : "#fdf1e5") + "\">" + label + "</TD>";
}

} // namespace

std::string graph_to_dot(const GraphDecl& g, const std::vector<NodeStats>* stats)
{
    std::ostringstream os;
    os << "digraph colo_graph {\n  rankdir=LR;\n  fontname=\"sans\";\n  labelloc=t;\n  label=\"" << html(g.file)
       << "\";\n  node [shape=plaintext fontname=\"sans\" fontsize=10];\n  edge [fontname=\"sans\" fontsize=9];\n";
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
        const NodeDecl& n = g.nodes[i];
        if (!n.spec) continue;
        const NodeStats* st = stats && i < stats->size() ? &(*stats)[i] : nullptr;
        auto ins = n.spec->ports_of(PortDir::in), outs = n.spec->ports_of(PortDir::out);
        const std::size_t rows = std::max<std::size_t>({ins.size(), outs.size(), 1});
        std::string middle = "<B>" + html(n.name) + "</B><BR/><I>" + html(n.type) + "</I>";
        for (const auto& [k, v] : n.explicit_props) {
            const PropertySpec* ps = n.spec->property(k);
            if (ps && ps->default_value == v) continue; // only non-default values
            std::string shown = v.size() > 40 ? "…" + v.substr(v.size() - 39) : v;
            middle += "<BR/><FONT POINT-SIZE=\"8\">" + html(k) + "=" + html(shown) + "</FONT>";
        }
        if (st)
            for (const auto& [name, value] : st->counters)
                if (value)
                    middle +=
                        "<BR/><FONT POINT-SIZE=\"8\" COLOR=\"#a03030\">" + html(name) + ": " + human(value) + "</FONT>";
        os << "  n" << i << " [label=<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"4\">";
        for (std::size_t r = 0; r < rows; ++r) {
            os << "<TR>"
               << port_cell(r < ins.size() ? ins[r] : nullptr, "i", int(r),
                            st && r < st->in.size() ? &st->in[r] : nullptr);
            if (r == 0) os << "<TD ROWSPAN=\"" << rows << "\" BGCOLOR=\"#f7f7f7\">" << middle << "</TD>";
            os << port_cell(r < outs.size() ? outs[r] : nullptr, "o", int(r),
                            st && r < st->out.size() ? &st->out[r] : nullptr)
               << "</TR>";
        }
        os << "</TABLE>>];\n";
    }
    for (const auto& l : g.links) {
        os << "  n" << l.from << ":o" << l.from_port_index << ":e -> n" << l.to << ":i" << l.to_port_index << ":w";
        if (stats && l.from < int(stats->size()))
            os << " [label=\"" << human((*stats)[l.from].out[l.from_port_index].packets) << "\"]";
        os << ";\n";
    }
    os << "}\n";
    return os.str();
}

} // namespace colo
