// The metrics endpoint: prometheus_text() on hand-made statistics of a real
// node type (the comparator, twice) and of a made-up one, checked line by
// line against the text exposition format, and which HTTP request heads
// metrics_request_status() accepts.
#include <catch2/catch.hpp>

#include "engine/histogram.hh"
#include "engine/registry.hh"
#include "tools/cli/metrics.hh"

#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace colo;

namespace {

// A type with a '-' in its name, a counter, a gauge, a labelled family beside
// its plain total, and a histogram whose doc needs escaping.
const NodeSpec& made_up_spec()
{
    static const NodeSpec spec{
        .type = "test-multi-word",
        .counters = {{"drops", "packets dropped", 0},
                     {"depth", "packets queued now", 1, true},
                     {"hits", "every hit", 2},
                     {"hits_a", "hits of kind a", 3, false, "hits{kind=\"a\"}"},
                     {"hits_b", "hits of kind b", 4, false, "hits{kind=\"b\"}"}},
        .histograms = {{"wait_seconds", "time spent waiting \\ in\nthe queue", 0}},
    };
    return spec;
}

const NodeSpec& comparator_spec()
{
    const NodeSpec* spec = Registry::instance().find("comparator");
    REQUIRE(spec);
    return *spec;
}

struct Setup {
    GraphDecl graph;
    std::vector<NodeStats> stats;
};

NodeStats stats_for(const NodeDecl& node, uint64_t first_value)
{
    NodeStats s;
    s.name = node.name;
    s.type = node.type;
    for (std::size_t i = 0; i < node.spec->counters.size(); ++i)
        s.counters.emplace_back(node.spec->counters[i].name, first_value + i);
    for (const auto& h : node.spec->histograms) s.histograms.emplace_back(h.name, Histogram().snapshot());
    return s;
}

const std::string kWeirdName = "odd \"name\" \\ here\nand there";

// Two comparators (one with a name that needs escaping) and a made-up node.
Setup setup()
{
    Setup s;
    for (const auto& [name, spec] :
         {std::pair{"cmp", &comparator_spec()}, std::pair{kWeirdName.c_str(), &comparator_spec()},
          std::pair{"q", &made_up_spec()}}) {
        NodeDecl& n = s.graph.nodes.emplace_back();
        n.name = name;
        n.type = spec->type;
        n.spec = spec;
    }
    s.stats.push_back(stats_for(s.graph.nodes[0], 1000));
    s.stats.push_back(stats_for(s.graph.nodes[1], 2000));
    s.stats.push_back(stats_for(s.graph.nodes[2], 10));

    Histogram hold;
    for (const uint64_t ns : {40'000ull, 50'000ull, 3'000'000ull, 20'000'000'000ull}) hold.record(ns);
    s.stats[0].histograms.at(0).second = hold.snapshot();
    s.stats[0].busy_ns = 1'500'000'000;
    s.stats[0].queued = 7;
    s.stats[0].in = {{"primary", 11, 704, 2}, {"secondary", 12, 768, 3}, {"control", 0, 0, 0}};
    s.stats[0].out = {{"out", 11, 704, 2, 0}, {"events", 1, 90, 1, 0}};

    Histogram wait;
    wait.record(kLatencyBoundsNs[0]);
    wait.record(kLatencyBoundsNs.back());
    s.stats[2].histograms.at(0).second = wait.snapshot();
    s.stats[2].in = {{"in", 5, 320, 1}};
    return s;
}

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels; // unescaped
    std::string value;
};

const std::string kName = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const std::string kLabel = R"([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")";
const std::string kValue = R"([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN)";
const std::regex kSampleLine("(" + kName + ")(\\{" + kLabel + "(?:," + kLabel + ")*\\})? (" + kValue + ")");
const std::regex kHelpLine("# HELP (" + kName + R"() (?:[^\\\n]|\\[\\n])*)");
const std::regex kTypeLine("# TYPE (" + kName + ") (counter|gauge|histogram|summary|untyped)");

std::string unescape(const std::string& v)
{
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
            ++i;
            out += v[i] == 'n' ? '\n' : v[i];
        } else out += v[i];
    }
    return out;
}

// Every line of `text` checked against the exposition grammar, and each
// family's HELP and TYPE once, in that order, ahead of all its samples.
struct Exposition {
    std::vector<Sample> samples;
    std::map<std::string, std::string> types, helps; // per family

    explicit Exposition(const std::string& text)
    {
        REQUIRE(!text.empty());
        REQUIRE(text.back() == '\n');
        std::istringstream in(text);
        std::string line, family, type;
        while (std::getline(in, line)) {
            INFO(line);
            std::smatch m;
            if (line.rfind("# HELP ", 0) == 0) {
                REQUIRE(std::regex_match(line, m, kHelpLine));
                CHECK(helps.count(m[1]) == 0);
                family = m[1];
                helps[family] = line.substr(7 + family.size() + 1);
                type.clear();
            } else if (line.rfind("# TYPE ", 0) == 0) {
                REQUIRE(std::regex_match(line, m, kTypeLine));
                CHECK(m[1] == family); // right after its HELP
                CHECK(type.empty());
                CHECK(types.count(m[1]) == 0);
                type = types[m[1]] = m[2];
            } else {
                REQUIRE(std::regex_match(line, m, kSampleLine));
                REQUIRE(!type.empty());
                const std::string name = m[1];
                const bool ours = type == "histogram" ? name == family + "_bucket" || name == family + "_sum" ||
                                                            name == family + "_count"
                                                      : name == family;
                CHECK(ours);
                Sample s{name, {}, m[3]};
                const std::string labels = m[2];
                static const std::regex label(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)")re");
                for (auto it = std::sregex_iterator(labels.begin(), labels.end(), label); it != std::sregex_iterator();
                     ++it) {
                    CHECK(s.labels.count((*it)[1]) == 0);
                    s.labels[(*it)[1]] = unescape((*it)[2]);
                }
                samples.push_back(std::move(s));
            }
        }
    }

    std::optional<std::string> value(const std::string& name, const std::map<std::string, std::string>& labels) const
    {
        for (const auto& s : samples)
            if (s.name == name && s.labels == labels) return s.value;
        return std::nullopt;
    }
    std::size_t count(const std::string& name) const
    {
        std::size_t n = 0;
        for (const auto& s : samples) n += s.name == name;
        return n;
    }
};

uint64_t counter_value(const NodeStats& s, const std::string& name)
{
    for (const auto& [n, v] : s.counters)
        if (n == name) return v;
    FAIL("no counter " << name);
    return 0;
}

} // namespace

TEST_CASE("the metrics text follows the exposition format, one HELP and TYPE per family", "[metrics]")
{
    const Setup s = setup();
    const std::string text = prometheus_text(s.graph, s.stats);
    const Exposition e(text);
    CHECK(e.samples.size() > 100);
    for (const auto& sample : e.samples) {
        CHECK(sample.name.rfind("colo_graph_", 0) == 0);
        CHECK(sample.labels.count("node") == 1);
    }
    // Both comparators' samples share each family.
    CHECK(e.count("colo_graph_comparator_mismatches_total") == 2);
    CHECK(e.types.at("colo_graph_comparator_mismatches_total") == "counter");
}

TEST_CASE("node counters are exported as colo_graph_TYPE_NAME_total, gauges without _total", "[metrics]")
{
    const Setup s = setup();
    const Exposition e(prometheus_text(s.graph, s.stats));
    CHECK(e.value("colo_graph_comparator_mismatches_total", {{"node", "cmp"}}) ==
          std::to_string(counter_value(s.stats[0], "mismatches")));
    CHECK(e.value("colo_graph_comparator_mismatches_total", {{"node", kWeirdName}}) ==
          std::to_string(counter_value(s.stats[1], "mismatches")));
    CHECK(e.helps.at("colo_graph_comparator_mismatches_total") == "compare passes that found different data");
    // A gauge.
    CHECK(e.types.at("colo_graph_comparator_connections_active") == "gauge");
    CHECK(e.value("colo_graph_comparator_connections_active", {{"node", "cmp"}}) ==
          std::to_string(counter_value(s.stats[0], "connections_active")));
    CHECK(e.count("colo_graph_comparator_connections_active_total") == 0);
    // '-' in the type becomes '_'.
    CHECK(e.value("colo_graph_test_multi_word_drops_total", {{"node", "q"}}) == "10");
    CHECK(e.types.at("colo_graph_test_multi_word_depth") == "gauge");
    CHECK(e.value("colo_graph_test_multi_word_depth", {{"node", "q"}}) == "11");
    // Every counter of the spec is there, once per node, but for a labelled family's total.
    for (const auto& c : comparator_spec().counters) {
        if (!c.metric.empty() || c.name == "checkpoint_requests") continue;
        const std::string name = "colo_graph_comparator_" + c.name + (c.gauge ? "" : "_total");
        INFO(name);
        CHECK(e.count(name) == 2);
    }
    // The graph-wide families.
    CHECK(e.value("colo_graph_node_busy_seconds_total", {{"node", "cmp"}}) == "1.5");
    CHECK(e.types.at("colo_graph_node_queued_batches") == "gauge");
    CHECK(e.value("colo_graph_node_queued_batches", {{"node", "cmp"}}) == "7");
    CHECK(e.value("colo_graph_port_packets_total", {{"node", "cmp"}, {"port", "secondary"}, {"direction", "in"}}) ==
          "12");
    CHECK(e.value("colo_graph_port_bytes_total", {{"node", "cmp"}, {"port", "events"}, {"direction", "out"}}) == "90");
    CHECK(e.value("colo_graph_port_packets_total", {{"node", "q"}, {"port", "in"}, {"direction", "in"}}) == "5");
}

TEST_CASE("a labelled counter family is exported with both labels and its plain total is left out", "[metrics]")
{
    const Setup s = setup();
    const Exposition e(prometheus_text(s.graph, s.stats));
    const std::string family = "colo_graph_comparator_checkpoint_requests_total";
    CHECK(e.types.at(family) == "counter");
    for (const char* reason : {"mismatch", "timeout", "queue_full"}) {
        INFO(reason);
        CHECK(e.value(family, {{"node", "cmp"}, {"reason", reason}}) ==
              std::to_string(counter_value(s.stats[0], std::string("requests_") + reason)));
        CHECK(e.value(family, {{"node", kWeirdName}, {"reason", reason}}).has_value());
    }
    CHECK(e.count(family) == 6); // 3 reasons, 2 nodes, no plain total
    CHECK(!e.value(family, {{"node", "cmp"}}));
    CHECK(e.count("colo_graph_comparator_requests_mismatch_total") == 0);
    // The made-up type's family, likewise.
    CHECK(e.value("colo_graph_test_multi_word_hits_total", {{"node", "q"}, {"kind", "a"}}) == "13");
    CHECK(e.value("colo_graph_test_multi_word_hits_total", {{"node", "q"}, {"kind", "b"}}) == "14");
    CHECK(e.count("colo_graph_test_multi_word_hits_total") == 2);
}

TEST_CASE("histograms have cumulative le buckets, +Inf equal to _count and _sum in seconds", "[metrics]")
{
    const Setup s = setup();
    const Exposition e(prometheus_text(s.graph, s.stats));
    const std::string name = "colo_graph_comparator_hold_seconds";
    CHECK(e.types.at(name) == "histogram");
    CHECK(e.helps.at(name) == "a primary's arrival to its release on `out`, every released packet");

    std::vector<std::pair<double, uint64_t>> buckets; // le, value, for cmp in the order written
    std::string inf;
    for (const auto& sample : e.samples) {
        if (sample.name != name + "_bucket" || sample.labels.at("node") != "cmp") continue;
        REQUIRE(sample.labels.size() == 2);
        const std::string le = sample.labels.at("le");
        if (le == "+Inf") inf = sample.value;
        else buckets.emplace_back(std::stod(le), std::stoull(sample.value));
    }
    REQUIRE(buckets.size() == kLatencyBoundsNs.size());
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        INFO("bucket " << i);
        CHECK(buckets[i].first == Approx(double(kLatencyBoundsNs[i]) / 1e9));
        if (i) CHECK(buckets[i].second >= buckets[i - 1].second);
    }
    // 40 us and 50 us in le 50e-6; 3 ms in le 5e-3; 20 s only in +Inf.
    CHECK(buckets[0].second == 2);
    CHECK(buckets[5].second == 2);
    CHECK(buckets[6].second == 3);
    CHECK(buckets.back().second == 3);
    CHECK(inf == "4");
    CHECK(e.value(name + "_count", {{"node", "cmp"}}) == "4");
    const auto sum = e.value(name + "_sum", {{"node", "cmp"}});
    REQUIRE(sum);
    CHECK(std::stod(*sum) == Approx(20.00309));
    // An empty histogram: every bucket 0.
    CHECK(e.value("colo_graph_comparator_checkpoint_seconds_count", {{"node", "cmp"}}) == "0");
    CHECK(e.value("colo_graph_comparator_checkpoint_seconds_bucket", {{"node", "cmp"}, {"le", "+Inf"}}) == "0");
    // The made-up type's: a value at the first and at the last bound.
    const std::string wait = "colo_graph_test_multi_word_wait_seconds";
    CHECK(e.value(wait + "_bucket", {{"node", "q"}, {"le", "+Inf"}}) == "2");
    CHECK(e.value(wait + "_bucket", {{"node", "q"}, {"le", "10"}}) == "2");
    CHECK(e.value(wait + "_count", {{"node", "q"}}) == "2");
    CHECK(e.helps.at(wait) == "time spent waiting \\\\ in the queue");
}

TEST_CASE("label values are escaped", "[metrics]")
{
    const Setup s = setup();
    const std::string text = prometheus_text(s.graph, s.stats);
    const std::string escaped = "node=\"odd \\\"name\\\" \\\\ here\\nand there\"";
    CHECK(text.find("colo_graph_comparator_mismatches_total{" + escaped + "} " +
                    std::to_string(counter_value(s.stats[1], "mismatches")) + "\n") != std::string::npos);
    // Parsed back, each of the second comparator's samples carries its name.
    const Exposition e(text);
    std::size_t weird = 0, plain = 0;
    for (const auto& sample : e.samples) {
        weird += sample.labels.at("node") == kWeirdName;
        plain += sample.labels.at("node") == "cmp";
    }
    // cmp has the same samples and its ports' packets and bytes besides.
    CHECK(weird + 2 * (s.stats[0].in.size() + s.stats[0].out.size()) == plain);
    CHECK(weird > 50);
}

TEST_CASE("the metrics endpoint answers GET /metrics only", "[metrics]")
{
    for (const char* ok :
         {"GET /metrics HTTP/1.1\r\nHost: localhost:9100\r\nAccept: */*\r\n\r\n", "GET /metrics HTTP/1.0\r\n\r\n",
          "GET /metrics?name[]=colo_graph_node_queued_batches HTTP/1.1\r\n\r\n",
          "GET /metrics? HTTP/1.0\r\nUser-Agent: Prometheus/2.45\r\n\r\n"}) {
        INFO(ok);
        CHECK(metrics_request_status(ok) == "");
    }
    for (const char* missing : {"GET / HTTP/1.1\r\n\r\n", "GET /metricsx HTTP/1.1\r\n\r\n",
                                "GET /metrics/ HTTP/1.1\r\n\r\n", "GET /stats?/metrics HTTP/1.1\r\n\r\n"}) {
        INFO(missing);
        CHECK(metrics_request_status(missing) == "404 Not Found");
    }
    for (const char* method : {"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "PUT /metrics HTTP/1.1\r\n\r\n",
                               "DELETE /metrics HTTP/1.0\r\n\r\n"}) {
        INFO(method);
        CHECK(metrics_request_status(method) == "405 Method Not Allowed");
    }
    for (const std::string& garbage :
         {std::string(""), std::string("\r\n\r\n"), std::string("hello"), std::string("GET /metrics\r\n\r\n"),
          std::string("GET /metrics FTP/1.0\r\n\r\n"), std::string("GET\r\n\r\n"),
          std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)}) {
        INFO(garbage);
        CHECK(metrics_request_status(garbage) == "400 Bad Request");
    }
}
