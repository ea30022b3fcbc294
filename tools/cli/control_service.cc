#include "tools/cli/control_service.hh"

#include "engine/dot.hh"
#include "nodes/packet_trace.hh"
#include "tools/cli/stats_json.hh"

#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace colo {

namespace {

// Copies packets crossing one port to a PacketTrace until `count` are
// written, then answers the client that asked.
class TraceTap final : public PortTap {
public:
    TraceTap(std::unique_ptr<PacketTrace> file, std::string label, bool timed, uint64_t count, std::string path,
             std::function<void(std::string)> done)
        : file_(std::move(file)),
          label_(std::move(label)),
          timed_(timed),
          count_(count),
          path_(std::move(path)),
          done_(std::move(done))
    {}

    bool copy(const Batch& batch, uint64_t now_ns) override
    {
        std::lock_guard lock(mu_);
        if (finished_) return false;
        try {
            for (const auto& p : batch.packets) {
                if (!file_->matches(p.frame(), p.frame_len())) continue;
                std::string comment = label_;
                if (timed_) {
                    char hold[48];
                    std::snprintf(hold, sizeof hold, " hold=%.6fs",
                                  double(now_ns > p.ts_ns ? now_ns - p.ts_ns : 0) / 1e9);
                    comment += hold;
                }
                file_->write(p.frame(), p.frame_len(), p.ts_ns, comment);
                if (++written_ == count_) return finish(control_reply({{"file", path_}, {"packets", written_}}));
            }
        } catch (const std::exception& e) {
            return finish(control_error(e.what()));
        }
        return true;
    }

    // The client left early: keep what was written.
    void abandon()
    {
        std::lock_guard lock(mu_);
        if (!finished_) finish("");
    }

private:
    bool finish(const std::string& reply) // with mu_ held
    {
        finished_ = true;
        std::string answer = reply;
        try {
            file_->flush();
        } catch (const std::exception& e) {
            answer = control_error(e.what());
        }
        file_.reset();
        if (!reply.empty()) done_(answer);
        return false;
    }

    std::mutex mu_;
    std::unique_ptr<PacketTrace> file_;
    const std::string label_;
    const bool timed_;
    const uint64_t count_;
    const std::string path_;
    std::function<void(std::string)> done_;
    uint64_t written_ = 0;
    bool finished_ = false;
};

std::string string_arg(const nlohmann::json& args, const char* name)
{
    const auto it = args.find(name);
    return it == args.end() ? std::string() : it->get<std::string>();
}

} // namespace

ControlService::Client::~Client()
{
    for (const auto& t : traces_) {
        service_.rt_.untap(t.tap);
        t.abandon(); // waits for a copy in progress: `later` is not called after this
    }
}

std::string ControlService::Client::request(std::string_view line)
{
    try {
        const ControlRequest r = parse_control_request(line);
        bool deferred = false;
        nlohmann::json result = service_.execute(r, later_, traces_, deferred);
        return deferred ? std::string() : control_reply(result);
    } catch (const std::exception& e) {
        return control_error(e.what());
    }
}

nlohmann::json ControlService::execute(const ControlRequest& r, std::function<void(std::string)>& later,
                                       std::vector<Trace>& traces, bool& deferred)
{
    const auto& a = r.args;
    if (r.command == "stats")
        return stats_json(rt_, std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    if (r.command == "graph") {
        const auto stats = rt_.stats();
        return graph_to_dot(rt_.graph(), &stats);
    }
    if (r.command == "help") return help();
    if (r.command == "checkpoint" || r.command == "failover" || r.command == "resume")
        return to_nodes(r.command, a, "");
    if (r.command == "bypass") {
        const std::string action = string_arg(a, "action"), rule = string_arg(a, "rule");
        if (action != "add" && action != "del" && action != "list")
            throw std::invalid_argument("bypass: action must be add, del or list, not '" + action + "'");
        if (action != "list" && rule.empty()) throw std::invalid_argument("bypass " + action + ": a rule is missing");
        if (action == "list" && !rule.empty()) throw std::invalid_argument("bypass list takes no rule");
        return to_nodes("bypass_" + action, a, rule);
    }
    if (r.command == "set") {
        rt_.set(a["node"], a["property"], a["value"], node_timeout);
        return {{"node", a["node"]}, {"property", a["property"]}, {"value", a["value"]}};
    }
    if (r.command == "trace") {
        deferred = true;
        return trace(a, later, traces);
    }
    throw std::invalid_argument("unknown command '" + r.command + "'");
}

nlohmann::json ControlService::to_nodes(const std::string& handler, const nlohmann::json& args, const std::string& arg)
{
    const std::string only = string_arg(args, "node");
    std::vector<std::string> targets;
    for (const auto& n : rt_.graph().nodes)
        if ((only.empty() || n.name == only) && n.spec->handler(handler)) targets.push_back(n.name);
    if (!only.empty() && targets.empty()) {
        if (rt_.graph().node_index(only) < 0) throw std::invalid_argument("no node named '" + only + "'");
        throw std::invalid_argument("node '" + only + "' does not take " + handler);
    }
    if (targets.empty()) throw std::invalid_argument("no node in this graph takes " + handler);
    nlohmann::json results = nlohmann::json::object();
    for (const auto& name : targets) {
        const std::string out = rt_.call(name, handler, arg, node_timeout);
        results[name] = nlohmann::json::parse(out, nullptr, false);
        if (results[name].is_discarded()) results[name] = out;
    }
    return results;
}

nlohmann::json ControlService::trace(const nlohmann::json& args, std::function<void(std::string)> later,
                                     std::vector<Trace>& traces)
{
    const std::string node = args["node"], port = args["port"], path = args["out"];
    const uint64_t count = args.contains("count") ? args["count"].get<uint64_t>() : 100;
    const int i = rt_.graph().node_index(node);
    if (i < 0) throw std::invalid_argument("no node named '" + node + "'");
    const PortSpec* p = rt_.graph().nodes[i].spec->port(port, PortDir::out);
    if (!p) p = rt_.graph().nodes[i].spec->port(port, PortDir::in);
    if (!p) throw std::invalid_argument("node '" + node + "' has no port '" + port + "'");
    std::string label = "node=" + node + " port=" + port;
    if (!p->verdict.empty()) label += " verdict=" + p->verdict;
    auto file = std::make_unique<PacketTrace>(path, string_arg(args, "filter"));
    auto tap = std::make_shared<TraceTap>(std::move(file), label, !p->verdict.empty(), count, path, std::move(later));
    traces.push_back({rt_.tap(node, port, tap), [tap] { tap->abandon(); }});
    return nullptr;
}

nlohmann::json ControlService::help() const
{
    nlohmann::json commands = nlohmann::json::array();
    for (const auto& c : kControlCommands)
        commands.push_back({{"command", c.name}, {"arguments", c.usage}, {"doc", c.doc}});
    nlohmann::json nodes = nlohmann::json::object();
    for (const auto& n : rt_.graph().nodes) {
        nlohmann::json handlers = nlohmann::json::array(), changeable = nlohmann::json::array();
        for (const auto& h : n.spec->handlers) handlers.push_back(h.name);
        for (const auto& p : n.spec->properties)
            if (p.changeable) changeable.push_back(p.name);
        if (!handlers.empty() || !changeable.empty())
            nodes[n.name] = {{"type", n.type}, {"handlers", handlers}, {"changeable", changeable}};
    }
    return {{"commands", commands}, {"nodes", nodes}};
}

} // namespace colo
