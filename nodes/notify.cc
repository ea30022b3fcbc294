#include "nodes/notify.hh"

#include "engine/registry.hh"
#include "nodes/control_message.hh"
#include "nodes/socket.hh"

namespace colo {

namespace {
namespace port {
constexpr InPortId events{0, "events"};
constexpr OutPortId control{0, "control"};
} // namespace port
namespace counter {
constexpr CounterRange endpoint = Socket::endpoint_counter_range;
constexpr CounterId requests_sent{endpoint.end(), "requests_sent"},
    checkpoints_received{endpoint.end() + 1, "checkpoints_received"}, handshakes{endpoint.end() + 2, "handshakes"},
    unsupported{endpoint.end() + 3, "unsupported"};
} // namespace counter
} // namespace

Notify::Notify(const Properties& p)
{
    StreamEndpointConfig c = Socket::endpoint_config(p);
    c.vnet_hdr_out = false; // QEMU never writes VNET_LEN on notify_dev
    endpoint_ = std::make_unique<StreamEndpoint>(c);
}

void Notify::on_start(Injector& injector)
{
    endpoint_->on_log([this](StreamEndpoint::LogLevel, std::string_view msg) { log(std::string(msg)); });
    endpoint_->stop_waiting_when([&injector] { return injector.stopping(); });
    endpoint_->on_frames([this, &injector](std::vector<Packet>& frames) {
        Batch control;
        for (const auto& f : frames) {
            std::lock_guard lock(protocol_mu_);
            const auto r = protocol_.on_message(f);
            if (r.action == NotifyProtocol::Action::reply) {
                const Packet reply = NotifyProtocol::message(r.reply);
                // On the I/O thread: a full queue holds every endpoint of the
                // process, at most stall_timeout without the peer reading.
                endpoint_->send({&reply, 1});
            } else if (r.action == NotifyProtocol::Action::checkpoint_done) {
                control.packets.push_back(checkpoint_command(injector.now_ns()));
            } else {
                log(endpoint_->address() + ": unsupported notify message (" + std::to_string(f.len) + " bytes)");
            }
        }
        if (!control.empty()) injector.inject(port::control, std::move(control));
    });
    endpoint_->start();
}

void Notify::push(int, const Batch& batch, Emit&)
{
    for (const auto& p : batch.packets) {
        if (!is_checkpoint_request(p)) continue;
        const Packet request = NotifyProtocol::do_checkpoint(p.ts_ns);
        if (endpoint_->send({&request, 1})) count(counter::requests_sent);
    }
}

void Notify::publish()
{
    set_counters(counter::endpoint, kEndpointCounterTable, endpoint_->counters());
    std::lock_guard lock(protocol_mu_);
    set_counter(counter::checkpoints_received, protocol_.checkpoints());
    set_counter(counter::handshakes, protocol_.handshakes());
    set_counter(counter::unsupported, protocol_.unsupported());
}

void Notify::finish()
{
    endpoint_->stop();
    publish();
}

namespace {
NodeSpec spec()
{
    NodeSpec s{
        .type = "notify",
        .summary = "Xen COLO notify_dev channel: checkpoint requests out, flushes in",
        .description = "Sends DO_CHECKPOINT for every checkpoint_request event on `events`; emits "
                       "{\"command\":\"checkpoint\"} on `control` for every COLO_CHECKPOINT received, and answers "
                       "COLO_USERSPACE_PROXY_INIT with COLO_COMPARE_GET_XEN_INIT. Link `control` to a comparator's "
                       "`control` port. Unknown messages are logged and counted. Output is queued and waited for "
                       "as on a socket node: a COLO frame that reads nothing for stall_timeout is stalled, and "
                       "the requests that do not fit are dropped and counted (drop_stalled) until it reads again.",
        .ports =
            {
                declare(port::events, "events; checkpoint_request ones are sent as DO_CHECKPOINT"),
                declare(port::control, "checkpoint commands received from the COLO frame"),
            },
        .properties = socket_properties("tcp:HOST:PORT or unix:PATH of the notify channel"),
        .factory = construct<Notify>,
    };
    declare_counters(s.counters, counter::endpoint, kEndpointCounterTable);
    s.counters.push_back(declare(counter::requests_sent, "DO_CHECKPOINT records sent"));
    s.counters.push_back(declare(counter::checkpoints_received, "COLO_CHECKPOINT records received (flushes)"));
    s.counters.push_back(declare(counter::handshakes, "COLO_USERSPACE_PROXY_INIT records answered"));
    s.counters.push_back(declare(counter::unsupported, "records that are none of the protocol's messages"));
    return s;
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
