#include "tools/cli/control_protocol.hh"

#include <map>
#include <stdexcept>

namespace colo {

const std::vector<ControlCommandInfo> kControlCommands{
    {"stats", "", "every node's counters, histograms, ports, busy time and queue (JSON, schema in docs/operations.md)"},
    {"graph", "", "the live graph as DOT, with packet counts"},
    {"checkpoint", "[--node NAME]", "a checkpoint was taken: comparators flush, rewriters reset their offsets"},
    {"failover", "[--node NAME]", "fail over: comparators pass through, rewriters apply QEMU's failover rule"},
    {"resume", "[--node NAME]", "comparators compare again after failover"},
    {"bypass", "add RULE | del RULE | list [--node NAME]",
     "runtime pass-through rules on comparators, 'PROTO [host ADDR[/LEN]] [port N]'"},
    {"set", "NODE.PROPERTY VALUE", "change a property the node type marks changeable"},
    {"trace", "NODE.PORT [--filter EXPR] [--count N] --out FILE",
     "copy the next N packets crossing a port (that a tcpdump filter accepts) to a pcapng file"},
    {"help", "", "the commands, and what each node of this graph takes"},
};

namespace {

enum class Field { string, count };
struct Member {
    Field type;
    bool required;
};
// Every command's members besides "command".
const std::map<std::string, std::map<std::string, Member>, std::less<>> kMembers{
    {"stats", {}},
    {"graph", {}},
    {"help", {}},
    {"checkpoint", {{"node", {Field::string, false}}}},
    {"failover", {{"node", {Field::string, false}}}},
    {"resume", {{"node", {Field::string, false}}}},
    {"bypass", {{"action", {Field::string, true}}, {"rule", {Field::string, false}}, {"node", {Field::string, false}}}},
    {"set", {{"node", {Field::string, true}}, {"property", {Field::string, true}}, {"value", {Field::string, true}}}},
    {"trace",
     {{"node", {Field::string, true}},
      {"port", {Field::string, true}},
      {"filter", {Field::string, false}},
      {"count", {Field::count, false}},
      {"out", {Field::string, true}}}},
};

} // namespace

ControlRequest parse_control_request(std::string_view line)
{
    if (line.size() > kMaxControlLine) throw std::invalid_argument("request longer than 64 KiB");
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) throw std::invalid_argument("not JSON");
    if (!j.is_object()) throw std::invalid_argument("a request is a JSON object");
    const auto cmd = j.find("command");
    if (cmd == j.end() || !cmd->is_string()) throw std::invalid_argument("\"command\" (a string) is missing");
    ControlRequest r;
    r.command = cmd->get<std::string>();
    const auto members = kMembers.find(r.command);
    if (members == kMembers.end()) throw std::invalid_argument("unknown command '" + r.command + "' (try help)");
    j.erase("command");
    for (const auto& [name, value] : j.items()) {
        const auto m = members->second.find(name);
        if (m == members->second.end()) throw std::invalid_argument(r.command + ": unknown member '" + name + "'");
        const bool ok = m->second.type == Field::string ? value.is_string()
                                                        : value.is_number_unsigned() && value.get<uint64_t>() > 0 &&
                                                              value.get<uint64_t>() <= 1'000'000'000;
        if (!ok)
            throw std::invalid_argument(r.command + ": \"" + name + "\" must be " +
                                        (m->second.type == Field::string ? "a string" : "a count from 1 to 10^9"));
    }
    for (const auto& [name, m] : members->second)
        if (m.required && !j.contains(name)) throw std::invalid_argument(r.command + ": \"" + name + "\" is missing");
    r.args = std::move(j);
    return r;
}

std::string control_reply(const nlohmann::json& result)
{
    return nlohmann::json{{"ok", true}, {"result", result}}.dump(-1, ' ', false,
                                                                 nlohmann::json::error_handler_t::replace) +
           '\n';
}

std::string control_error(std::string_view message)
{
    return nlohmann::json{{"ok", false}, {"error", message}}.dump(-1, ' ', false,
                                                                  nlohmann::json::error_handler_t::replace) +
           '\n';
}

} // namespace colo
