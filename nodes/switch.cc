#include "nodes/switch.hh"

#include "engine/registry.hh"

#include <iterator>
#include <stdexcept>

namespace colo {

namespace {
namespace port {
constexpr InPortId in{0, "in"}, control{1, "control"};
constexpr OutPortId out0{0, "out0"}, out1{1, "out1"};
constexpr OutPortId outputs[] = {out0, out1};
} // namespace port
namespace prop {
constexpr IntProperty output{"output"}, on_failover{"on_failover"}, on_resume{"on_resume"};
}
namespace counter {
constexpr CounterId discarded{0, "discarded"}, switches{1, "switches"};
// The control port's unknown_commands only: the switch never looks inside a
// packet, so the helper's second counter (vnet_mismatches) is never written.
constexpr CounterRange control{2, 1};
} // namespace counter
namespace handler {
constexpr HandlerId failover{0, "failover"}, resume{1, "resume"}, select{2, "select"};
}

constexpr int kNone = -1;
constexpr int kLast = int(std::size(port::outputs)) - 1;

std::optional<int> optional_output(const Properties& p, IntProperty prop)
{
    if (p.str(prop.name).empty()) return std::nullopt;
    return int(p.get(prop));
}

int parse_output(const std::string& arg)
{
    int64_t n = 0;
    if (!parse_integer(arg, n) || n < kNone || n > kLast)
        throw std::invalid_argument("select takes an output: -1 (none), 0 or 1, not '" + arg + "'");
    return int(n);
}
} // namespace

Switch::Switch(const Properties& p)
    : output_(int(p.get(prop::output))),
      on_failover_(int(p.get(prop::on_failover))),
      on_resume_(optional_output(p, prop::on_resume)),
      control_(*this, counter::control, true, {Command::checkpoint, Command::failover, Command::resume})
{}

void Switch::push(int in_port, const Batch& batch, Emit& out)
{
    if (in_port == port::control) {
        for (const auto& p : batch.packets) {
            const Command c = control_.command(p);
            if (c == Command::failover) select(on_failover_, "failover");
            else if (c == Command::resume && on_resume_) select(*on_resume_, "resume");
        }
    } else if (output_ == kNone) {
        count(counter::discarded, batch.size());
    } else {
        out.forward(port::outputs[output_]);
    }
}

std::string Switch::select(int output, const char* why)
{
    const int was = output_;
    if (output != was) {
        output_ = output;
        count(counter::switches);
        log(std::string(why) + ": output " + std::to_string(was) + " -> " + std::to_string(output));
    }
    return "{\"output\":" + std::to_string(output_) + ",\"was\":" + std::to_string(was) + "}";
}

std::string Switch::handle(int handler, const std::string& arg, Emit&)
{
    if (handler == handler::failover.index) return select(on_failover_, "failover");
    if (handler == handler::resume.index) return on_resume_ ? select(*on_resume_, "resume") : select(output_, "resume");
    return select(parse_output(arg), "select");
}

void Switch::set_property(const std::string& name, const Properties& p, Emit&)
{
    if (name != prop::output.name) throw std::invalid_argument(name + " cannot be changed");
    select(int(p.get(prop::output)), "set output");
}

namespace {
PropertyOptions output_options(std::string default_value, std::string doc, bool changeable = false)
{
    return {.default_value = std::move(default_value),
            .min = kNone,
            .max = kLast,
            .doc = std::move(doc),
            .changeable = changeable};
}

NodeSpec spec()
{
    return {
        .type = "switch",
        .summary = "Send packets to one of two outputs, or discard them, as commands select (Click's Switch)",
        .description =
            "Every packet arriving on `in` leaves on the selected output, `out0` or `out1`, untouched; while the "
            "selection is -1 it is discarded and counted. Commands on `control` change the selection: "
            "{\"command\":\"failover\"} selects `on_failover`, {\"command\":\"resume\"} selects `on_resume` when "
            "it is set, a checkpoint changes nothing. The same from an operator: the failover, resume and select "
            "handlers, or `colo-graph ctl set NODE.output N`. Every change is logged. On a COLO secondary, "
            "switches move the client's path from the primary to the secondary guest at failover "
            "(graphs/secondary.yaml).",
        .ports =
            {
                declare(port::in, "packets to route", Link::required),
                declare(port::control,
                        "{\"command\":\"failover\"} (select on_failover) or {\"command\":\"resume\"} (select "
                        "on_resume); checkpoints are taken and change nothing"),
                declare(port::out0, "packets while output is 0"),
                declare(port::out1, "packets while output is 1"),
            },
        .properties =
            {
                declare(prop::output,
                        output_options("0", "the output selected at start: 0, 1, or -1 to discard", true)),
                declare(prop::on_failover, output_options("1", "the output a failover selects")),
                declare(prop::on_resume,
                        output_options("", "the output a resume selects; unset, a resume changes nothing")),
            },
        .counters =
            {
                declare(counter::discarded, "packets discarded while no output was selected"),
                declare(counter::switches, "changes of the selected output"),
                {"unknown_commands", "control messages that were no command this node takes", counter::control.first},
            },
        .handlers =
            {
                declare(handler::failover, "", "select on_failover, as {\"command\":\"failover\"}"),
                declare(handler::resume, "", "select on_resume if set, as {\"command\":\"resume\"}"),
                declare(handler::select, "N", "select output N: 0, 1, or -1 to discard"),
            },
        .factory = construct<Switch>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
