// colo-graph compare: replays a primary and a secondary capture through a
// comparator, with a simulated COLO frame answering checkpoint requests, and
// prints the divergence report (tools/cli/compare_report.hh).
#include "tools/cli/commands.hh"

#include "engine/graph_file.hh"
#include "engine/registry.hh"
#include "engine/runtime.hh"
#include "nodes/comparator.hh"
#include "nodes/proto/bypass_rule.hh"
#include "nodes/proto/event_json.hh"
#include "tools/cli/compare_report.hh"
#include "tools/cli/progress.hh"

#include <boost/program_options.hpp>

#include <sysexits.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

namespace po = boost::program_options;

namespace colo {

namespace {

constexpr const char* kUsage = "Usage: colo-graph compare PRIMARY.pcap SECONDARY.pcap [--json] [--set NAME=VALUE]...\n"
                               "\n"
                               "Replays the primary guest's and the secondary guest's output (secondary TCP\n"
                               "sequence numbers already in the primary's space) through a comparator, on the\n"
                               "captures' own clock, with a simulated checkpoint answering every request, and\n"
                               "reports per connection what matched, the first divergence with a hex dump of\n"
                               "both sides, every checkpoint request with its reason and time, and totals.\n"
                               "\n"
                               "--set takes every comparator property (compare_timeout, expired_scan_cycle,\n"
                               "max_queue_size, idle_timeout, max_connections, ipv6, vlan, vnet_hdr_support;\n"
                               "see 'colo-graph inspect comparator'), bypass=RULE[,RULE...] and\n"
                               "checkpoint_delay=MS (simulated checkpoint duration, default 20).\n"
                               "\n"
                               "Exit status: 0 no checkpoint request (the pair would have run without one);\n"
                               "1 at least one checkpoint request (mismatch, timeout or full queue); 64 usage\n"
                               "or a bad setting; 65 a capture cannot be read; 66 a capture does not exist.\n";

// The replay graph. The comparator's settings are generated from its spec, so
// every property and default stays the node's own.
constexpr const char* kGraphHead = R"(description: colo-graph compare (built in)
variables:
  primary: ""
  secondary: ""
  checkpoint_delay: 20
)";

constexpr const char* kGraphTail = R"(  checkpoint: { type: checkpoint-sim, delay_ms: "${checkpoint_delay}" }
  released:   { type: null-sink }
links:
  - primary.out -> compare.primary
  - secondary.out -> compare.secondary
  - compare.out -> released.in
  - compare.events -> checkpoint.events
  - checkpoint.control -> compare.control
)";

std::string quoted(const std::string& s)
{
    std::string q(1, '"');
    q += json_escape(s);
    q += '"';
    return q;
}

std::vector<std::string> split_rules(const std::string& text)
{
    std::vector<std::string> rules;
    std::size_t from = 0;
    while (from <= text.size()) {
        std::size_t comma = std::min(text.find(',', from), text.size());
        std::string rule = text.substr(from, comma - from);
        rule.erase(0, rule.find_first_not_of(' '));
        rule.erase(rule.find_last_not_of(' ') + 1);
        if (!rule.empty()) rules.push_back(rule);
        from = comma + 1;
    }
    return rules;
}

std::string graph_text(const std::vector<std::string>& bypass)
{
    const NodeSpec* spec = Registry::instance().find("comparator");
    std::string vars, props;
    for (const auto& p : spec->properties) {
        if (p.type == PropType::list) continue;
        vars += "  " + p.name + ": " + quoted(p.default_value) + "\n";
        props += "    " + p.name + ": \"${" + p.name + "}\"\n";
    }
    std::string rules;
    for (const auto& r : bypass) rules += (rules.empty() ? "" : ", ") + quoted(r);
    return std::string(kGraphHead) + vars +
           "nodes:\n"
           "  primary:    { type: pcap-source, file: \"${primary}\" }\n"
           "  secondary:  { type: pcap-source, file: \"${secondary}\" }\n"
           "  compare:\n"
           "    type: comparator\n" +
           props + "    bypass: [" + rules + "]\n" + kGraphTail;
}

int usage_error(const std::string& msg)
{
    std::cerr << "colo-graph compare: " << msg << "\nTry 'colo-graph compare --help' for more information.\n";
    return EX_USAGE;
}

} // namespace

int cmd_compare(const std::vector<std::string>& args)
{
    po::options_description opts("compare options");
    std::vector<std::string> sets;
    opts.add_options()("help,h", "show this help")("json", "print one JSON document instead of text")(
        "set", po::value(&sets)->composing(),
        "NAME=VALUE: a comparator property, bypass or checkpoint_delay (repeatable)")(
        "primary", po::value<std::string>(), "the primary's capture")("secondary", po::value<std::string>(),
                                                                      "the secondary's capture");
    po::positional_options_description pos;
    pos.add("primary", 1).add("secondary", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return usage_error(e.what());
    }
    if (vm.count("help")) {
        std::cout << kUsage;
        return 0;
    }
    if (!vm.count("primary") || !vm.count("secondary")) return usage_error("needs PRIMARY.pcap and SECONDARY.pcap");
    const std::string primary = vm["primary"].as<std::string>(), secondary = vm["secondary"].as<std::string>();

    VariableOverrides vars;
    std::vector<std::string> bypass;
    for (const auto& s : sets) {
        const auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) return usage_error("--set expects NAME=VALUE, got '" + s + "'");
        const std::string name = s.substr(0, eq), value = s.substr(eq + 1);
        if (name == "bypass") {
            bypass = split_rules(value);
            for (const auto& rule : bypass) {
                try {
                    BypassRule::parse(rule);
                } catch (const std::exception& e) {
                    return usage_error(std::string("--set bypass: ") + e.what());
                }
            }
        } else if (name == "primary" || name == "secondary")
            return usage_error("the captures are arguments, not --set " + name);
        else vars[name] = value;
    }
    for (const auto& file : {primary, secondary})
        if (!std::filesystem::exists(file)) {
            std::cerr << file << ": error: no such file\n";
            return EX_NOINPUT;
        }
    vars["primary"] = primary;
    vars["secondary"] = secondary;

    Diagnostics diags;
    const GraphDecl graph = parse_graph(graph_text(bypass), "colo-graph compare", vars, diags);
    if (!diags.ok()) {
        for (const auto& d : diags.items()) std::cerr << "colo-graph compare: " << d.message << '\n';
        return EX_USAGE;
    }

    RunOptions options;
    options.mode = RunMode::replay;
    options.log = log_line; // above the progress bar, if there is one
    std::unique_ptr<Runtime> rt;
    try {
        rt = std::make_unique<Runtime>(graph, options);
    } catch (const std::exception& e) {
        // Settings are valid by now: what fails here is opening a capture.
        std::cerr << "colo-graph compare: " << e.what() << '\n';
        return EX_DATAERR;
    }

    ComparisonResult result;
    result.primary_file = primary;
    result.secondary_file = secondary;
    result.checkpoint_delay_ms = uint64_t(graph.nodes[graph.node_index("checkpoint")].props.integer("delay_ms"));
    uint64_t first = UINT64_MAX, ts = 0;
    for (const char* source : {"primary", "secondary"})
        if (rt->node(source)->peek_time(ts)) first = std::min(first, ts);
    result.start_ns = first == UINT64_MAX ? 0 : first;

    auto& comparator = static_cast<ComparatorNode&>(*rt->node("compare"));
    comparator.observe_requests([&](const CheckpointRequest& r) { result.requests.push_back(r); });
    comparator.observe_end([&](const Comparator& c) { result.connections = c.report(); });
    try {
        const auto progress = progress_on_terminal(*rt); // on a terminal; cleared before the report
        rt->run();
    } catch (const std::exception& e) {
        std::cerr << "colo-graph compare: " << e.what() << '\n';
        return EX_SOFTWARE;
    }
    result.config = comparator.core().config();
    result.counters = comparator.core().counters();
    std::cout << (vm.count("json") ? json_report(result) : text_report(result));
    return result.counters.checkpoint_requests ? 1 : 0;
}

} // namespace colo
