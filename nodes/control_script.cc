#include "nodes/control_script.hh"

#include "engine/registry.hh"
#include "nodes/control_message.hh"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>

namespace colo {

namespace {

namespace port {
constexpr OutPortId control{0, "control"};
}
namespace prop {
constexpr ListProperty at{"at"};
}
namespace counter {
constexpr CounterId commands{0, "commands"};
}

// Whole decimal seconds to nanoseconds without floating point, so that
// "1700000000.020000" is exactly the capture's microsecond timestamp.
bool parse_seconds(const std::string& text, uint64_t& ns)
{
    const auto dot = text.find('.');
    const std::string whole = text.substr(0, dot), frac = dot == std::string::npos ? "" : text.substr(dot + 1);
    const auto digits = [](const std::string& s) {
        return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
    };
    if (whole.empty() || whole.size() > 10 || !digits(whole) || frac.size() > 9 || !digits(frac)) return false;
    if (dot != std::string::npos && frac.empty()) return false;
    ns = std::stoull(whole) * 1'000'000'000ull +
         (frac.empty() ? 0 : std::stoull(frac + std::string(9 - frac.size(), '0')));
    return true;
}

} // namespace

ControlScript::Step ControlScript::parse_step(const std::string& item)
{
    std::istringstream in(item);
    std::string seconds, command, extra;
    Step step{};
    if (!(in >> seconds >> command) || (in >> extra) || !parse_seconds(seconds, step.ts_ns))
        throw std::runtime_error("'" + item + "' is not \"SECONDS COMMAND\" (e.g. \"1700000000.020000 checkpoint\")");
    step.command = command;
    return step;
}

ControlScript::ControlScript(const Properties& p)
{
    for (const auto& item : p.get(prop::at)) steps_.push_back(parse_step(item));
    std::stable_sort(steps_.begin(), steps_.end(), [](const Step& a, const Step& b) { return a.ts_ns < b.ts_ns; });
}

bool ControlScript::peek_time(uint64_t& ts_ns)
{
    if (next_ >= steps_.size()) return false;
    ts_ns = steps_[next_].ts_ns;
    return true;
}

bool ControlScript::pull(std::size_t max, uint64_t until_ns, int& out_port, Batch& out)
{
    out_port = port::control.index;
    while (out.size() < max && next_ < steps_.size()) {
        const Step& s = steps_[next_];
        if (!out.empty() && s.ts_ns > until_ns) break;
        out.packets.push_back(command_message(s.command, s.ts_ns));
        ++next_;
    }
    count(counter::commands, out.size());
    return !out.empty();
}

namespace {
NodeSpec spec()
{
    return {
        .type = "control-script",
        .summary = "Emit control commands at given packet times (replays and tests)",
        .description = "For each item of AT, \"SECONDS COMMAND\" (e.g. \"1700000000.020000 checkpoint\"), emits "
                       "{\"command\":\"COMMAND\"} on `control` stamped with that time. It is an offline source: in a "
                       "replay the runtime merges it with the pcap sources by timestamp, so the command arrives after "
                       "every earlier packet and before every later one. Items may be given in any order; equal times "
                       "keep their order.",
        .ports = {declare(port::control, "control commands, e.g. for a rewriter's or comparator's control port")},
        .properties =
            {
                declare(prop::at,
                        {.required = true,
                         .doc = "\"SECONDS COMMAND\" items: epoch seconds (up to 9 decimals) and one word such as "
                                "checkpoint or failover"}),
            },
        .counters = {declare(counter::commands, "commands emitted")},
        .factory = construct<ControlScript>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
