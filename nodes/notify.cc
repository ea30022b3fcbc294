#include "nodes/notify.hh"

#include "engine/registry.hh"
#include "nodes/proto/event_json.hh"
#include "nodes/socket.hh"

namespace colo {

namespace {
// Counters after the socket's own.
enum { requests_sent, checkpoints_received, handshakes, unsupported };
} // namespace

NodeSpec notify_spec()
{
    std::vector<CounterSpec> counters = Socket::endpoint_counters();
    counters.push_back({"requests_sent", "DO_CHECKPOINT records sent"});
    counters.push_back({"checkpoints_received", "COLO_CHECKPOINT records received (flushes)"});
    counters.push_back({"handshakes", "COLO_USERSPACE_PROXY_INIT records answered"});
    counters.push_back({"unsupported", "records that are none of the protocol's messages"});
    return {
        "notify",
        "Xen COLO notify_dev channel: checkpoint requests out, flushes in",
        "Sends DO_CHECKPOINT for every checkpoint_request event on `events`; emits "
        "{\"command\":\"checkpoint\"} on `control` for every COLO_CHECKPOINT received, and answers "
        "COLO_USERSPACE_PROXY_INIT with COLO_COMPARE_GET_XEN_INIT. Link `control` to a comparator's "
        "`control` port. Unknown messages are logged and counted. Output is queued and waited for "
        "as on a socket node: a COLO frame that reads nothing for stall_timeout is stalled, and "
        "the requests that do not fit are dropped and counted (drop_stalled) until it reads again.",
        {
            {"events", PortDir::in, "events; checkpoint_request ones are sent as DO_CHECKPOINT"},
            {"control", PortDir::out, "checkpoint commands received from the COLO frame"},
        },
        socket_properties("tcp:HOST:PORT or unix:PATH of the notify channel"),
        counters,
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<Notify>(p); },
    };
}

Notify::Notify(const Properties& p)
{
    StreamEndpointConfig c = Socket::endpoint_config(p);
    c.vnet_hdr_out = false;   // QEMU never writes VNET_LEN on notify_dev
    endpoint_ = std::make_unique<StreamEndpoint>(c);
}

void Notify::start(Injector& injector)
{
    endpoint_->on_log([&injector](StreamEndpoint::LogLevel, std::string_view msg) { injector.log(std::string(msg)); });
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
                control.packets.push_back(event_packet(JsonObject().add("command", "checkpoint").str(), injector.now_ns()));
            } else {
                injector.log(endpoint_->address() + ": unsupported notify message (" + std::to_string(f.len) + " bytes)");
            }
        }
        if (!control.empty()) injector.inject(0, std::move(control));
    });
    endpoint_->start();
}

void Notify::push(int, const Batch& batch, Emit&)
{
    for (const auto& p : batch.packets) {
        if (json_string_field(packet_text(p), "event") != "checkpoint_request") continue;
        const Packet request = NotifyProtocol::do_checkpoint(p.ts_ns);
        if (endpoint_->send({&request, 1})) count(Socket::endpoint_counters().size() + requests_sent);
    }
}

void Notify::publish()
{
    Socket::publish(*this, *endpoint_, 0);
    const std::size_t base = Socket::endpoint_counters().size();
    std::lock_guard lock(protocol_mu_);
    set_counter(base + checkpoints_received, protocol_.checkpoints());
    set_counter(base + handshakes, protocol_.handshakes());
    set_counter(base + unsupported, protocol_.unsupported());
}

void Notify::finish()
{
    endpoint_->stop();
    publish();
}

COLO_REGISTER_NODE(notify_spec());

} // namespace colo
