#include "nodes/socket.hh"

#include "engine/registry.hh"

namespace colo {

std::vector<PropertySpec> socket_properties(const char* address_doc)
{
    return {
        {"address", PropType::string, "", true, INT64_MIN, INT64_MAX, {}, address_doc},
        {"mode", PropType::enumeration, "server", false, INT64_MIN, INT64_MAX, {"server", "client"},
         "server listens (QEMU server=on); client connects and reconnects"},
        {"vnet_hdr_support", PropType::boolean, "false", false, INT64_MIN, INT64_MAX, {},
         "records carry a 4-byte vnet header length (must match the peer)"},
        {"reconnect_ms", PropType::integer, "100", false, 1, 60000, {}, "client: first reconnect delay (doubles up to 5 s)"},
        {"queue_packets", PropType::integer, "8192", false, 1, 1 << 24, {},
         "output queue bound in packets; when full, the graph waits while the peer reads (see stall_timeout)"},
        {"queue_bytes", PropType::integer, "33554432", false, 65536, int64_t(1) << 32, {},
         "output queue bound in payload bytes; when full, the graph waits while the peer reads"},
        {"stall_timeout", PropType::integer, "2000", false, 10, 3600000, {},
         "ms a full output queue waits for a peer that reads nothing; then what does not fit is dropped "
         "(drop_stalled, one warning) and nothing waits for that peer until it reads again"},
    };
}

StreamEndpointConfig Socket::endpoint_config(const Properties& p)
{
    StreamEndpointConfig c;
    c.address = p.str("address");
    c.mode = p.str("mode") == "client" ? StreamEndpointConfig::Mode::client : StreamEndpointConfig::Mode::server;
    c.vnet_hdr_in = c.vnet_hdr_out = p.boolean("vnet_hdr_support");
    c.reconnect_min = std::chrono::milliseconds(p.integer("reconnect_ms"));
    c.send_queue_packets = std::size_t(p.integer("queue_packets"));
    c.send_queue_bytes = std::size_t(p.integer("queue_bytes"));
    c.stall_timeout = std::chrono::milliseconds(p.integer("stall_timeout"));
    return c;
}

const std::vector<CounterSpec>& Socket::endpoint_counters()
{
    static const std::vector<CounterSpec> specs = {
        {"frames_in", "records read from the peer"},
        {"bytes_in", "payload bytes read"},
        {"frames_out", "records written to the peer"},
        {"bytes_out", "payload bytes written"},
        {"connections", "peers accepted or connected"},
        {"disconnects", "connections closed"},
        {"reconnect_attempts", "client connect retries"},
        {"mid_record_disconnects", "peers that left in the middle of a record"},
        {"queue_full_waits", "times the output queue was full and the graph waited for the peer to read (back-pressure)"},
        {"queue_full_wait_ms", "milliseconds spent so waiting, in total"},
        {"stalls", "times the output queue was full and the peer read nothing for stall_timeout (one warning each)"},
        {"drop_stalled", "outgoing packets dropped: the output queue was full and the peer had read nothing for stall_timeout"},
        {"drop_no_peer", "outgoing packets dropped: no peer connected, or it left before they were written"},
        {"drop_shutdown", "outgoing packets dropped at shutdown: the peer read nothing for 1 s (or stall_timeout, if shorter), or they were still queued when the socket closed"},
        {"drop_oversize", "records over 69632 bytes (the connection is closed)"},
        {"drop_zero_length", "zero-length records ignored"},
        {"drop_bad_vnet", "records whose vnet header length exceeds the record or 20"},
    };
    return specs;
}

void Socket::publish(Node& node, const StreamEndpoint& endpoint, std::size_t first)
{
    const StreamEndpointCounters c = endpoint.counters();
    const uint64_t values[] = {c.frames_in, c.bytes_in, c.frames_out, c.bytes_out, c.connections, c.disconnects,
                               c.reconnect_attempts, c.mid_record_disconnects, c.queue_full_waits,
                               c.queue_full_wait_ms, c.stalls, c.drop_stalled, c.drop_no_peer, c.drop_shutdown,
                               c.drop_oversize, c.drop_zero_length, c.drop_bad_vnet};
    for (std::size_t i = 0; i < std::size(values); ++i) node.set_counter(first + i, values[i]);
}

Socket::Socket(const Properties& p) : endpoint_(std::make_unique<StreamEndpoint>(endpoint_config(p))) {}

void Socket::start(Injector& injector)
{
    endpoint_->on_log([&injector](StreamEndpoint::LogLevel, std::string_view msg) { injector.log(std::string(msg)); });
    // A full output queue holds the graph back while the peer reads (up to
    // stall_timeout without a byte read); once the graph stops, up to 1 s.
    endpoint_->stop_waiting_when([&injector] { return injector.stopping(); });
    endpoint_->on_frames([this, &injector](std::vector<Packet>& frames) {
        Batch b;
        b.packets = std::move(frames);
        const std::size_t n = b.size();
        if (draining_.load() || !injector.inject(0, std::move(b))) dropped_after_stop_ += n;
    });
    endpoint_->start();
}

void Socket::push(int, const Batch& batch, Emit&) { endpoint_->send(batch.packets); }

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
    set_counter(endpoint_counters().size(), dropped_after_stop_.load());
}

COLO_REGISTER_NODE(socket_spec());

} // namespace colo
