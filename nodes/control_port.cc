#include "nodes/control_port.hh"

namespace colo {

void ControlPort::declare_counters(std::vector<CounterSpec>& specs, CounterRange at)
{
    specs.push_back({"unknown_commands", "control messages that were no command this node takes", at.first});
    specs.push_back(
        {"vnet_mismatches", "packets with a virtio-net header while vnet_hdr_support is off", at.first + 1});
}

Command ControlPort::command(const Packet& p)
{
    const Command c = parse_command(p);
    for (Command taken : takes_)
        if (c == taken) return c;
    if (node_.counter(unknown_commands_) == 0)
        node_.log("unknown control message: " + std::string(packet_text(p).substr(0, 80)));
    node_.count(unknown_commands_);
    return Command::unknown;
}

void ControlPort::vnet_mismatch()
{
    if (node_.counter(vnet_mismatches_) == 0)
        node_.log("a packet carries a virtio-net header but vnet_hdr_support is off: check the peers' settings");
    node_.count(vnet_mismatches_);
}

} // namespace colo
