#include "nodes/rewriter.hh"

#include "engine/registry.hh"
#include "nodes/control_message.hh"

namespace colo {

namespace {
namespace port {
constexpr InPortId to_guest{0, "to_guest"}, from_guest{1, "from_guest"}, control{2, "control"};
constexpr OutPortId to_guest_out{0, "to_guest"}, from_guest_out{1, "from_guest"};
} // namespace port
namespace prop {
constexpr BoolProperty vnet_hdr_support{"vnet_hdr_support"};
constexpr IntProperty idle_timeout{"idle_timeout"}, max_connections{"max_connections"};
} // namespace prop
namespace counter {
constexpr CounterRange rewriter{0, kTcpRewriterCounterTable.size()};
constexpr CounterRange by_state{rewriter.end(), kTcpStateCount}; // connections_<state> gauges
constexpr CounterRange control{by_state.end(), ControlPort::kCounterCount};
} // namespace counter
namespace handler {
constexpr HandlerId checkpoint{0, "checkpoint"}, failover{1, "failover"};
}

// The output port of the direction a packet came in on.
OutPortId out_port(int in_port)
{
    return in_port == port::to_guest ? port::to_guest_out : port::from_guest_out;
}
} // namespace

RewriterNode::RewriterNode(const Properties& p)
    : core_(TcpRewriterConfig{uint64_t(p.get(prop::idle_timeout)), std::size_t(p.get(prop::max_connections))}),
      control_(*this, counter::control, p.get(prop::vnet_hdr_support), {Command::checkpoint, Command::failover})
{}

void RewriterNode::apply(Command cmd)
{
    if (cmd == Command::checkpoint) core_.checkpoint();
    else if (cmd == Command::failover) core_.failover();
}

std::string RewriterNode::handle(int handler, const std::string&, Emit&)
{
    const bool checkpoint = handler == handler::checkpoint.index;
    apply(checkpoint ? Command::checkpoint : Command::failover);
    publish();
    return checkpoint ? R"({"offsets_reset":true})" : R"({"failed_over":true})";
}

void RewriterNode::push(int in_port, const Batch& batch, Emit& out)
{
    if (in_port == port::control) {
        for (const auto& p : batch.packets) apply(control_.command(p));
    } else {
        const Direction d = in_port == port::to_guest ? Direction::to_guest : Direction::from_guest;
        // Edit the input in place when this node holds it alone; otherwise a
        // copy of the handles, whose edited packets then copy on write.
        Batch* editable = out.editable_input();
        Batch& packets = editable ? *editable : out.port(out_port(in_port));
        if (!editable) packets = batch;
        for (Packet& p : packets.packets) {
            control_.check_vnet(p);
            core_.process(p, d, p.ts_ns);
        }
        if (editable) out.forward(out_port(in_port));
    }
    publish();
}

void RewriterNode::tick(uint64_t now_ns, Emit&)
{
    core_.expire(now_ns);
    publish();
}

void RewriterNode::publish()
{
    set_counters(counter::rewriter, kTcpRewriterCounterTable, core_.counters());
    for (std::size_t s = 0; s < kTcpStateCount; ++s)
        set_counter(counter::by_state.at(s), core_.connections_by_state()[s]);
}

namespace {
NodeSpec spec()
{
    NodeSpec s{
        .type = "rewriter",
        .summary = "Translate TCP sequence numbers between the secondary and primary guests (QEMU filter-rewriter)",
        .description =
            "Tracks TCP connections (direction-normalised) and learns, from the handshake, the offset between "
            "the secondary guest's initial sequence number and the primary's, and between their TCP timestamp "
            "clocks. Packets on `to_guest` get ACK, SACK blocks and TSecr moved into the secondary's space; "
            "packets on `from_guest` get SEQ and TSval moved into the primary's space. Checksums are updated "
            "incrementally and stay right with IP options and virtio-net headers. Connections opened by the "
            "guest are translated too (QEMU leaves them). Passive and active closes, RST and idle timeouts end "
            "connections; non-TCP traffic passes untouched. A buffer shared with another path (a mirror's copy) "
            "is copied before it is edited.",
        .ports =
            {
                declare(port::to_guest, "packets heading into the secondary guest"),
                declare(port::from_guest, "packets the secondary guest sent"),
                declare(port::control, "{\"command\":\"checkpoint\"} (reset offsets) or {\"command\":\"failover\"}"),
                declare(port::to_guest_out, "translated packets for the secondary guest"),
                declare(port::from_guest_out, "translated packets from the secondary guest"),
            },
        .properties =
            {
                declare(prop::vnet_hdr_support, {.default_value = "false",
                                                 .doc = "packets may carry virtio-net headers; when off, a packet that "
                                                        "has one is counted as a configuration mismatch"}),
                declare(prop::idle_timeout, {.default_value = "300000",
                                             .min = 0,
                                             .doc = "ms after which an idle connection is forgotten; 0 = never"}),
                declare(prop::max_connections,
                        {.default_value = "65536",
                         .min = 1,
                         .max = 16777216,
                         .doc = "tracked connections; the least recently used is evicted beyond"}),
            },
        .handlers =
            {
                declare(handler::checkpoint, "", "reset every offset: both guests are identical again"),
                declare(handler::failover, "", "apply QEMU's failover rule (the secondary takes over)"),
            },
        .factory = construct<RewriterNode>,
    };
    declare_counters(s.counters, counter::rewriter, kTcpRewriterCounterTable);
    // connections_<state>, but the closed state's gauge is connections_in_closed:
    // connections_closed counts connections removed after both FINs.
    for (std::size_t i = 0; i < kTcpStateCount; ++i)
        s.counters.push_back(
            {std::string(TcpState(i) == TcpState::closed ? "connections_in_" : "connections_") + to_string(TcpState(i)),
             "tracked connections in this state", counter::by_state.first + i, true});
    ControlPort::declare_counters(s.counters, counter::control);
    return s;
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
