#include "nodes/socket.hh"

#include "engine/registry.hh"
#include "nodes/control_message.hh"

namespace colo {

namespace {
namespace port {
constexpr InPortId in{0, "in"};
constexpr OutPortId out{0, "out"}, status{1, "status"};
} // namespace port
namespace prop {
constexpr StringProperty address{"address"};
constexpr EnumProperty mode{"mode"};
constexpr BoolProperty vnet_hdr_support{"vnet_hdr_support"}, tls_verify_peer{"tls_verify_peer"};
constexpr StringProperty tls_creds_dir{"tls_creds_dir"}, tls_priority{"tls_priority"}, tls_hostname{"tls_hostname"};
constexpr IntProperty reconnect_ms{"reconnect_ms"}, queue_packets{"queue_packets"}, queue_bytes{"queue_bytes"},
    stall_timeout{"stall_timeout"};
} // namespace prop
namespace counter {
constexpr CounterRange endpoint = Socket::endpoint_counter_range;
constexpr CounterId drop_after_stop{endpoint.end(), "drop_after_stop"};
} // namespace counter
} // namespace

std::vector<PropertySpec> socket_properties(const char* address_doc)
{
    std::vector<PropertySpec> props{
        declare(prop::address, {.required = true, .doc = address_doc}),
        declare(prop::mode, {.default_value = "server",
                             .choices = {"server", "client"},
                             .doc = "server listens (QEMU server=on); client connects and reconnects"}),
        declare(prop::vnet_hdr_support,
                {.default_value = "false", .doc = "records carry a 4-byte vnet header length (must match the peer)"}),
        declare(prop::reconnect_ms, {.default_value = "100",
                                     .min = 1,
                                     .max = 60000,
                                     .doc = "client: first reconnect delay (doubles up to 5 s)"}),
        declare(
            prop::queue_packets,
            {.default_value = "8192",
             .min = 1,
             .max = 1 << 24,
             .doc =
                 "output queue bound in packets; when full, the graph waits while the peer reads (see stall_timeout)"}),
        declare(prop::queue_bytes,
                {.default_value = "33554432",
                 .min = 65536,
                 .max = int64_t(1) << 32,
                 .doc = "output queue bound in payload bytes; when full, the graph waits while the peer reads"}),
        declare(prop::stall_timeout,
                {.default_value = "2000",
                 .min = 10,
                 .max = 3600000,
                 .doc = "ms a full output queue waits for a peer that reads nothing; then what does not fit is dropped "
                        "(drop_stalled, one warning) and nothing waits for that peer until it reads again"}),
    };
    for (auto& t : tls_properties()) props.push_back(std::move(t));
    return props;
}

std::vector<PropertySpec> tls_properties()
{
    return {
        declare(prop::tls_creds_dir,
                {.doc = "TLS on every connection, with the x509 credentials in this directory laid out as for QEMU's "
                        "tls-creds-x509 dir: ca-cert.pem, and server-cert.pem + server-key.pem (server) or "
                        "client-cert.pem + client-key.pem (client); empty: no TLS"}),
        declare(prop::tls_verify_peer,
                {.default_value = "true",
                 .doc = "the peer's certificate must be signed by ca-cert.pem and valid now; a server requires "
                        "one (mutual authentication), as QEMU's verify-peer"}),
        declare(prop::tls_priority,
                {.default_value = "NORMAL", .doc = "GnuTLS priority string (QEMU's tls-creds priority)"}),
        declare(prop::tls_hostname,
                {.doc = "client: the name the server's certificate must carry; empty: the host of address, as QEMU "
                        "checks it (none for a unix socket)"}),
    };
}

StreamEndpointConfig Socket::endpoint_config(const Properties& p)
{
    StreamEndpointConfig c;
    c.address = p.get(prop::address);
    c.mode = p.get(prop::mode) == "client" ? StreamEndpointConfig::Mode::client : StreamEndpointConfig::Mode::server;
    c.vnet_hdr_in = c.vnet_hdr_out = p.get(prop::vnet_hdr_support);
    c.reconnect_min = std::chrono::milliseconds(p.get(prop::reconnect_ms));
    c.send_queue_packets = std::size_t(p.get(prop::queue_packets));
    c.send_queue_bytes = std::size_t(p.get(prop::queue_bytes));
    c.stall_timeout = std::chrono::milliseconds(p.get(prop::stall_timeout));
    c.tls = tls_config(p);
    return c;
}

TlsConfig tls_config(const Properties& p)
{
    TlsConfig t;
    t.creds_dir = p.get(prop::tls_creds_dir);
    t.verify_peer = p.get(prop::tls_verify_peer);
    t.priority = p.get(prop::tls_priority);
    t.hostname = p.get(prop::tls_hostname);
    return t;
}

void Socket::publish()
{
    set_counters(counter::endpoint, kEndpointCounterTable, endpoint_->counters());
}

Socket::Socket(const Properties& p) : endpoint_(std::make_unique<StreamEndpoint>(endpoint_config(p))) {}

void Socket::on_start(Injector& injector)
{
    endpoint_->on_log([this](StreamEndpoint::LogLevel, std::string_view msg) { log(std::string(msg)); });
    // A full output queue holds the graph back while the peer reads (up to
    // stall_timeout without a byte read); once the graph stops, up to 1 s.
    endpoint_->stop_waiting_when([&injector] { return injector.stopping(); });
    endpoint_->on_frames([this, &injector](std::vector<Packet>& frames) {
        Batch b;
        b.packets = std::move(frames);
        const std::size_t n = b.size();
        if (draining_.load() || !injector.inject(port::out, std::move(b))) dropped_after_stop_ += n;
    });
    endpoint_->on_peer([this, &injector](bool connected) {
        Batch b;
        b.packets.push_back(peer_status_event({connected, connected ? "" : "disconnect"}, injector.now_ns()));
        injector.inject(port::status, std::move(b));
    });
    endpoint_->start();
}

void Socket::push(int, const Batch& batch, Emit& out)
{
    // A batch this node alone holds gives its packets to the send queue.
    if (Batch* own = out.editable_input()) endpoint_->send_owned(own->packets);
    else endpoint_->send(batch.packets);
}

void Socket::drain(Emit&)
{
    // Stop taking input; keep the connection so that packets drained from
    // upstream nodes (a comparator's flush) still reach the peer in finish().
    draining_.store(true);
    publish();
}

void Socket::finish()
{
    endpoint_->stop();
    publish();
    set_counter(counter::drop_after_stop, dropped_after_stop_.load());
}

namespace {
NodeSpec spec()
{
    NodeSpec s{
        .type = "socket",
        .summary = "A QEMU chardev socket: read records to `out`, write `in` to the peer",
        .description = "Speaks QEMU's chardev packet framing byte for byte: a 4-byte big-endian length, a 4-byte "
                       "big-endian vnet header length when vnet_hdr_support is on, then the frame. As a server it "
                       "serves one peer at a time and accepts the next when it leaves (like -chardev "
                       "socket,server=on); as a client it reconnects with exponential backoff. Unix sockets are "
                       "created with mode 0600; TCP servers listen on loopback unless an address is given. Output "
                       "to a slow reader is not dropped: once the output queue is full the graph waits for the "
                       "peer to read (back-pressure, as QEMU blocks in its write). A peer that reads nothing for "
                       "stall_timeout is stalled (a hung host, or two processes waiting for each other): one "
                       "warning names the endpoint, and what does not fit the queue is dropped and counted "
                       "(drop_stalled), without waiting, until the peer reads again. Without a peer output is "
                       "dropped and counted, as QEMU loses it. With tls_creds_dir every connection starts with a "
                       "TLS handshake, as a QEMU chardev with tls-creds (same credentials layout, verify-peer and "
                       "priority): a failed one (a peer without TLS, a certificate from another CA, expired or for "
                       "another host, silence) is logged with the peer's address and counted in tls_refused, and "
                       "a server goes on listening.",
        .ports =
            {
                declare(port::in, "frames to write to the peer"),
                declare(port::out, "frames read from the peer"),
                declare(port::status, "peer_up when a peer connects, peer_down (reason disconnect) when it goes "
                                      "(JSON events; a comparator's secondary_status reads them)"),
            },
        .properties = socket_properties("tcp:HOST:PORT or unix:PATH"),
        .factory = construct<Socket>,
    };
    declare_counters(s.counters, counter::endpoint, kEndpointCounterTable);
    s.counters.push_back(declare(counter::drop_after_stop, "records read after the graph began to stop"));
    return s;
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
