#include "nodes/heartbeat.hh"

#include "engine/registry.hh"
#include "nodes/control_message.hh"
#include "nodes/socket.hh" // the TLS properties

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

namespace colo {

namespace {
namespace port {
constexpr OutPortId status{0, "status"}, control{1, "control"};
}
namespace prop {
constexpr StringProperty address{"address"};
constexpr EnumProperty mode{"mode"};
constexpr IntProperty interval_ms{"interval_ms"}, timeout_ms{"timeout_ms"}, reconnect_ms{"reconnect_ms"};
constexpr BoolProperty auto_failover{"auto_failover"};
} // namespace prop
namespace counter {
constexpr CounterRange link{0, kHeartbeatCounterTable.size()};
}

HeartbeatConfig link_config(const Properties& p)
{
    using std::chrono::milliseconds;
    HeartbeatConfig c;
    c.address = p.get(prop::address);
    c.mode = p.get(prop::mode) == "client" ? HeartbeatConfig::Mode::client : HeartbeatConfig::Mode::server;
    c.interval = milliseconds(p.get(prop::interval_ms));
    c.timeout = milliseconds(p.get(prop::timeout_ms));
    if (c.timeout <= c.interval)
        throw std::runtime_error("timeout_ms (" + std::to_string(c.timeout.count()) +
                                 ") must be greater than interval_ms (" + std::to_string(c.interval.count()) +
                                 "): the peer would count as lost between two of its pulses");
    c.reconnect_min = milliseconds(p.get(prop::reconnect_ms));
    c.reconnect_max = std::max(c.reconnect_min, milliseconds(5000));
    c.tls = tls_config(p);
    return c;
}
} // namespace

// No address: no heartbeat. A shipped graph carries the node, and a host opts
// in by giving it an address on both sides.
Heartbeat::Heartbeat(const Properties& p)
    : link_(p.get(prop::address).empty() ? nullptr : std::make_unique<HeartbeatLink>(link_config(p))),
      auto_failover_(p.get(prop::auto_failover))
{}

void Heartbeat::on_start(Injector& injector)
{
    if (!link_) return;
    link_->on_log([this](std::string_view msg) { log(std::string(msg)); });
    link_->on_status([this, &injector](bool up, std::string_view reason) { report(injector, up, reason); });
    link_->start();
}

// On the link's thread: while the graph takes these (back-pressure), the
// link pulses no more; a transition is rare and its events few.
void Heartbeat::report(Injector& injector, bool up, std::string_view reason)
{
    const bool failover = !up && auto_failover_;
    log(link_->address() + (up ? ": peer up (its pulses arrive)"
                               : ": peer down (" + std::string(reason) + ")" + (failover ? ", sending failover" : "")));
    if (draining_.load()) return;
    const uint64_t now = injector.now_ns();
    Batch status;
    status.packets.push_back(peer_status_event({up, std::string(reason)}, now));
    injector.inject(port::status, std::move(status));
    if (failover) {
        Batch control;
        control.packets.push_back(command_message("failover", now));
        injector.inject(port::control, std::move(control));
    }
}

// Counters are published from the node's serial context only (tick, drain,
// finish), so that a snapshot never overwrites a newer one.
void Heartbeat::publish()
{
    if (link_) set_counters(counter::link, kHeartbeatCounterTable, link_->counters());
}

void Heartbeat::drain(Emit&)
{
    // The graph is stopping: a peer that stops too is no news.
    draining_.store(true);
    publish();
}

void Heartbeat::finish()
{
    if (link_) link_->stop();
    publish();
}

namespace {
NodeSpec spec()
{
    NodeSpec s{
        .type = "heartbeat",
        .summary = "Tell whether the other colo-graph host is alive: peer_up/peer_down events, optionally failover",
        .description =
            "Pulses a heartbeat node on the other host over a socket of its own (never a chardev QEMU uses): both "
            "ends send a 12-byte pulse (\"CGHB\", a u32 version, a u32 sequence) every interval_ms. The peer is up "
            "from its first pulse (not on connect: a frozen process's kernel still accepts connections) and lost "
            "when the connection closes (peer_down, reason disconnect) or nothing arrives for timeout_ms while it "
            "stays open (reason heartbeat: a frozen process, a partition); each transition is reported once on "
            "`status`, where a comparator's `secondary_status` reads it, and logged. With auto_failover, each loss "
            "also sends {\"command\":\"failover\"} on `control`, for the secondary host's switches and rewriter. "
            "A record that is not a valid pulse (a wrong peer, e.g. a QEMU chardev) is counted in bad_records, "
            "logged, and its connection closed. As a server it serves one peer at a time; a new connection "
            "replaces it once it pulses, so that a stray connection cannot cut off a healthy peer. As a client it "
            "reconnects with exponential backoff. Pulses run on a thread of their own, so that a data path held "
            "by back-pressure does not look like a dead host. With tls_creds_dir the pulses travel inside TLS, "
            "as on the socket nodes: a failed handshake is logged with the peer's address and counted in "
            "tls_refused, and never cuts off a healthy peer.",
        .ports =
            {
                declare(port::status, "peer_up and peer_down events (JSON), one per transition"),
                declare(port::control, "{\"command\":\"failover\"} at each loss, when auto_failover is on"),
            },
        .properties =
            {
                declare(prop::address, {.doc = "tcp:HOST:PORT or unix:PATH; a socket of its own, never one of QEMU's "
                                               "chardevs; empty: no heartbeat (both hosts opt in with an address)"}),
                declare(prop::mode, {.default_value = "server",
                                     .choices = {"server", "client"},
                                     .doc = "server listens (one peer at a time); client connects and reconnects"}),
                declare(prop::interval_ms,
                        {.default_value = "100", .min = 10, .max = 60000, .doc = "ms between two pulses"}),
                declare(prop::timeout_ms, {.default_value = "1000",
                                           .min = 11,
                                           .max = 3600000,
                                           .doc = "ms without a pulse after which a connected peer is lost "
                                                  "(reason heartbeat); must be greater than interval_ms"}),
                declare(prop::reconnect_ms,
                        {.default_value = "100",
                         .min = 1,
                         .max = 60000,
                         .doc = "client: first reconnect delay (doubles up to 5 s while no pulse arrives)"}),
                declare(prop::auto_failover,
                        {.default_value = "false", .doc = "send a failover command on `control` at each loss"}),
            },
        .factory = construct<Heartbeat>,
    };
    for (auto& t : tls_properties()) s.properties.push_back(std::move(t));
    declare_counters(s.counters, counter::link, kHeartbeatCounterTable);
    return s;
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
