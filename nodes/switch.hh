// switch: Click's Switch, GStreamer's output-selector. Every packet on `in`
// leaves on the one selected output, out0 or out1, or is discarded (counted)
// while none is. Commands change the selection, so a failover is a route
// change in the graph, not a special case in a protocol node:
//   {"command":"failover"} on `control` (or the `failover` handler) selects
//   `on_failover`; {"command":"resume"} selects `on_resume` when it is set;
//   a checkpoint changes no route. An operator selects directly with the
//   `select` handler or `ctl set NODE.output N`.
// On a secondary host one switch keeps the client's frames away from the
// guest until failover, another moves the guest's output from the primary's
// comparator to the client network (graphs/secondary.yaml).
#pragma once

#include "engine/node.hh"
#include "nodes/control_port.hh"

#include <optional>
#include <string>

namespace colo {

class Switch : public Node {
public:
    explicit Switch(const Properties& p);
    void push(int in_port, const Batch& batch, Emit& out) override;
    std::string handle(int handler, const std::string& arg, Emit& out) override;
    void set_property(const std::string& name, const Properties& p, Emit& out) override;

    int output() const { return output_; }

private:
    // Selects `output` (-1: none) and says what changed, as the handlers' JSON result.
    std::string select(int output, const char* why);

    int output_;
    int on_failover_;
    std::optional<int> on_resume_;
    ControlPort control_;
};

} // namespace colo
