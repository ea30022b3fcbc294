// What the comparator and the rewriter share: a `control` port that takes
// commands (checkpoint, failover, and for the comparator resume), and a vnet_hdr_support setting that must
// match the peers'. Both odd conditions are handled one way: the first is
// logged (with the message, or the advice to check the settings), every one
// is counted, in two counters the node declares after its own:
//   unknown_commands  control messages that were no command the node takes
//   vnet_mismatches   packets with a virtio-net header while vnet_hdr_support is off
#pragma once

#include "engine/node.hh"
#include "nodes/control_message.hh"

#include <initializer_list>
#include <vector>

namespace colo {

class ControlPort {
public:
    static constexpr std::size_t kCounterCount = 2;
    static void declare_counters(std::vector<CounterSpec>& specs, CounterRange at);

    // `at`: where `node` declared the two counters; `takes`: the commands it
    // acts on, every other message being unknown.
    ControlPort(Node& node, CounterRange at, bool vnet_hdr_support, std::initializer_list<Command> takes)
        : node_(node),
          unknown_commands_(at.at(0)),
          vnet_mismatches_(at.at(1)),
          vnet_hdr_support_(vnet_hdr_support),
          takes_(takes)
    {}

    // What a message on the control port asks for; an unknown one is logged
    // the first time and counted every time.
    Command command(const Packet& p);
    // For every packet on a data port: one branch unless it mismatches.
    void check_vnet(const Packet& p)
    {
        if (p.vnet_len && !vnet_hdr_support_) vnet_mismatch();
    }

private:
    void vnet_mismatch();

    Node& node_;
    CounterId unknown_commands_, vnet_mismatches_;
    bool vnet_hdr_support_;
    std::vector<Command> takes_;
};

} // namespace colo
