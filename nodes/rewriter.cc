#include "nodes/rewriter.hh"

#include "engine/registry.hh"
#include "nodes/proto/event_json.hh"

namespace colo {

namespace port { enum { to_guest = 0, from_guest = 1, control = 2 }; }

NodeSpec rewriter_spec()
{
    std::vector<CounterSpec> counters;
    for (const auto& c : TcpRewriter::counter_table()) counters.push_back({c.name, c.doc});
    for (std::size_t s = 0; s < kTcpStateCount; ++s)
        counters.push_back({std::string("connections_") + to_string(TcpState(s)), "tracked connections in this state (gauge)"});
    counters.push_back({"unknown_commands", "control messages that were neither checkpoint nor failover"});
    counters.push_back({"vnet_mismatches", "packets with a virtio-net header while vnet_hdr_support is off"});
    return {
        "rewriter",
        "Translate TCP sequence numbers between the secondary and primary guests (QEMU filter-rewriter)",
        "Tracks TCP connections (direction-normalised) and learns, from the handshake, the offset between "
        "the secondary guest's initial sequence number and the primary's, and between their TCP timestamp "
        "clocks. Packets on `to_guest` get ACK, SACK blocks and TSecr moved into the secondary's space; "
        "packets on `from_guest` get SEQ and TSval moved into the primary's space. Checksums are updated "
        "incrementally and stay right with IP options and virtio-net headers. Connections opened by the "
        "guest are translated too (QEMU leaves them). Passive and active closes, RST and idle timeouts end "
        "connections; non-TCP traffic passes untouched. A buffer shared with another path (a mirror's copy) "
        "is copied before it is edited.",
        {
            {"to_guest", PortDir::in, "packets heading into the secondary guest"},
            {"from_guest", PortDir::in, "packets the secondary guest sent"},
            {"control", PortDir::in, "{\"command\":\"checkpoint\"} (reset offsets) or {\"command\":\"failover\"}"},
            {"to_guest", PortDir::out, "translated packets for the secondary guest"},
            {"from_guest", PortDir::out, "translated packets from the secondary guest"},
        },
        {
            {"vnet_hdr_support", PropType::boolean, "false", false, INT64_MIN, INT64_MAX, {},
             "packets may carry virtio-net headers; when off, a packet that has one is counted as a configuration mismatch"},
            {"idle_timeout", PropType::integer, "300000", false, 0, INT64_MAX, {}, "ms after which an idle connection is forgotten; 0 = never"},
            {"max_connections", PropType::integer, "65536", false, 1, 16777216, {}, "tracked connections; the least recently used is evicted beyond"},
        },
        counters,
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<RewriterNode>(p); },
    };
}

RewriterNode::RewriterNode(const Properties& p)
    : core_(TcpRewriterConfig{uint64_t(p.integer("idle_timeout")), std::size_t(p.integer("max_connections"))}),
      vnet_hdr_support_(p.boolean("vnet_hdr_support"))
{
}

void RewriterNode::push(int in_port, const Batch& batch, Emit& out)
{
    if (in_port == port::control) {
        for (const auto& p : batch.packets) {
            const std::string cmd = json_string_field(packet_text(p), "command");
            if (cmd == "checkpoint") core_.checkpoint();
            else if (cmd == "failover") core_.failover();
            else if (unknown_commands_++ == 0 && injector_) injector_->log("unknown control message: " + std::string(packet_text(p).substr(0, 80)));
        }
    } else {
        const Direction d = in_port == port::to_guest ? Direction::to_guest : Direction::from_guest;
        // Edit the input in place when this node holds it alone; otherwise a
        // copy of the handles, whose edited packets then copy on write.
        Batch* editable = out.editable_input();
        Batch& packets = editable ? *editable : out.port(in_port);
        if (!editable) packets = batch;
        for (Packet& p : packets.packets) {
            if (p.vnet_len && !vnet_hdr_support_ && vnet_mismatches_++ == 0 && injector_)
                injector_->log("a packet carries a virtio-net header but vnet_hdr_support is off: check the peers' settings");
            core_.process(p, d, p.ts_ns);
        }
        if (editable) out.forward(in_port);
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
    const auto table = TcpRewriter::counter_table();
    std::size_t i = 0;
    for (; i < table.size(); ++i) set_counter(i, core_.counters().*(table[i].field));
    for (std::size_t s = 0; s < kTcpStateCount; ++s) set_counter(i++, core_.connections_by_state()[s]);
    set_counter(i++, unknown_commands_);
    set_counter(i, vnet_mismatches_);
}

COLO_REGISTER_NODE(rewriter_spec());

} // namespace colo
