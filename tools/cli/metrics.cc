#include "tools/cli/metrics.hh"

#include <cstdio>
#include <map>
#include <sstream>

namespace colo {

namespace {

std::string label_value(const std::string& v)
{
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string number(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

// Families in first-seen order, each with its samples, so that every
// family's HELP and TYPE come once, ahead of its samples.
class Exposition {
public:
    void sample(const std::string& family, const char* type, const std::string& help, const std::string& name,
                const std::string& labels, const std::string& value)
    {
        auto [it, fresh] = index_.emplace(family, families_.size());
        if (fresh) families_.push_back({family, type, help, {}});
        families_[it->second].samples += name + "{" + labels + "} " + value + "\n";
    }
    std::string str() const
    {
        std::string out;
        for (const auto& f : families_)
            out += "# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n" + f.samples;
        return out;
    }

private:
    struct Family {
        std::string name, type, help, samples;
    };
    std::vector<Family> families_;
    std::map<std::string, std::size_t> index_;
};

std::string help_text(std::string doc)
{
    for (char& c : doc)
        if (c == '\n') c = ' ';
    std::string out;
    for (char c : doc) out += c == '\\' ? std::string("\\\\") : std::string(1, c);
    return out;
}

} // namespace

std::string prometheus_text(const GraphDecl& graph, const std::vector<NodeStats>& stats)
{
    Exposition e;
    for (std::size_t n = 0; n < stats.size() && n < graph.nodes.size(); ++n) {
        const NodeStats& s = stats[n];
        const NodeSpec& spec = *graph.nodes[n].spec;
        std::string prefix = "colo_graph_" + s.type + "_";
        for (char& c : prefix)
            if (c == '-') c = '_';
        const std::string node = "node=\"" + label_value(s.name) + "\"";
        std::map<std::string, std::string> families; // labelled families of this type, with their HELP
        for (const auto& c : spec.counters)
            if (const auto brace = c.metric.find('{'); brace != std::string::npos) families[c.metric.substr(0, brace)];
        for (const auto& c : spec.counters) // the family's total says what the family counts
            if (const auto f = families.find(c.name); f != families.end()) f->second = c.doc;
        for (std::size_t i = 0; i < spec.counters.size() && i < s.counters.size(); ++i) {
            const CounterSpec& c = spec.counters[i];
            std::string family = c.metric.empty() ? c.name : c.metric.substr(0, c.metric.find('{'));
            std::string labels = node;
            // Appended: "," + substr() makes GCC 12 warn falsely (-Wrestrict).
            if (const auto brace = c.metric.find('{'); brace != std::string::npos)
                labels.append(",").append(c.metric, brace + 1, c.metric.size() - brace - 2);
            else if (families.count(c.name)) continue; // the family's total
            const std::string name = prefix + family + (c.gauge ? "" : "_total");
            const auto f = families.find(family);
            e.sample(name, c.gauge ? "gauge" : "counter",
                     help_text(f != families.end() && !f->second.empty() ? f->second : c.doc), name, labels,
                     std::to_string(s.counters[i].second));
        }
        for (std::size_t i = 0; i < spec.histograms.size() && i < s.histograms.size(); ++i) {
            const auto& h = s.histograms[i].second;
            const std::string name = prefix + spec.histograms[i].name;
            const std::string help = help_text(spec.histograms[i].doc);
            for (std::size_t b = 0; b < kLatencyBoundsNs.size(); ++b)
                e.sample(name, "histogram", help, name + "_bucket",
                         node + ",le=\"" + number(double(kLatencyBoundsNs[b]) / 1e9) + "\"",
                         std::to_string(h.cumulative[b]));
            e.sample(name, "histogram", help, name + "_bucket", node + ",le=\"+Inf\"", std::to_string(h.count));
            e.sample(name, "histogram", help, name + "_sum", node, number(double(h.sum_ns) / 1e9));
            e.sample(name, "histogram", help, name + "_count", node, std::to_string(h.count));
        }
        for (const auto& [ports, dir] : {std::pair{&s.in, "in"}, std::pair{&s.out, "out"}})
            for (const auto& p : *ports) {
                const std::string labels = node + ",port=\"" + label_value(p.name) + "\",direction=\"" + dir + "\"";
                e.sample("colo_graph_port_packets_total", "counter", "packets that crossed a port",
                         "colo_graph_port_packets_total", labels, std::to_string(p.packets));
                e.sample("colo_graph_port_bytes_total", "counter", "bytes that crossed a port",
                         "colo_graph_port_bytes_total", labels, std::to_string(p.bytes));
            }
        e.sample("colo_graph_node_busy_seconds_total", "counter", "time spent in the node's calls",
                 "colo_graph_node_busy_seconds_total", node, number(double(s.busy_ns) / 1e9));
        e.sample("colo_graph_node_queued_batches", "gauge", "batches sent to the node and not yet run",
                 "colo_graph_node_queued_batches", node, std::to_string(s.queued));
    }
    return e.str();
}

std::string metrics_request_status(std::string_view head)
{
    std::string_view line = head.substr(0, head.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.substr(sp2 + 1, 5) != "HTTP/") return "400 Bad Request";
    if (line.substr(0, sp1) != "GET") return "405 Method Not Allowed";
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    if (target != "/metrics") return "404 Not Found";
    return "";
}

} // namespace colo
