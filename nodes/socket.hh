// socket: one QEMU-compatible chardev socket (framing as net/net.c
// net_fill_rstate()). Records read from the peer leave on `out`; packets
// arriving on `in` are written to the peer.
// It can stand in for any `-chardev socket` of a COLO topology: a mirror's
// outdev, a redirector's indev/outdev, colo-compare's primary_in,
// secondary_in and outdev.
//
// Better than QEMU (docs/reliability.md, Bad input): zero-length records are ignored, an
// oversized record closes only that connection (the server keeps listening),
// a peer that reconnects starts with a clean parser, output is written with
// writev, and every packet dropped (no peer, stalled peer, shutdown) is
// counted. Like QEMU, a slow reader holds the graph back rather than lose
// packets: a full output queue makes the node wait for the peer (back-
// pressure, counted in queue_full_waits). Unlike QEMU, a peer that reads
// nothing for stall_timeout does not hold it for ever: what does not fit is
// dropped and counted (drop_stalled) until the peer reads again, so a hung
// peer, or two colo-graph processes whose sockets feed each other, cannot
// freeze a host.
#pragma once

#include "engine/node.hh"
#include "nodes/io/stream_endpoint.hh"
#include "nodes/proto/counter_table.hh"

#include <atomic>
#include <memory>

namespace colo {

class Socket : public Node {
public:
    explicit Socket(const Properties& p);
    SourceKind source_kind() const override { return SourceKind::live; }
    void push(int in_port, const Batch& batch, Emit& out) override;
    void tick(uint64_t now_ns, Emit& out) override { publish(); }
    uint64_t tick_interval_ns() const override { return 200'000'000; }
    void drain(Emit& out) override;
    void finish() override;

    // Shared with other socket-backed nodes, which declare the endpoint's
    // counters first, at endpoint_counter_range.
    static StreamEndpointConfig endpoint_config(const Properties& p);
    static constexpr CounterRange endpoint_counter_range{0, 18};

protected:
    void on_start(Injector& injector) override;

private:
    void publish();

    std::unique_ptr<StreamEndpoint> endpoint_;
    std::atomic<bool> draining_{false};
    std::atomic<uint64_t> dropped_after_stop_{0};
};

// Properties every socket-backed node has (the TLS ones included).
std::vector<PropertySpec> socket_properties(const char* address_doc);
// The TLS properties (tls_creds_dir, tls_verify_peer, tls_priority,
// tls_hostname), also those of the heartbeat node, and what they configure.
std::vector<PropertySpec> tls_properties();
TlsConfig tls_config(const Properties& p);

// The endpoint's counters, one entry per StreamEndpointCounters field.
inline constexpr std::array kEndpointCounterTable{
    CounterField<StreamEndpointCounters>{"frames_in", "records read from the peer", &StreamEndpointCounters::frames_in},
    CounterField<StreamEndpointCounters>{"bytes_in", "payload bytes read", &StreamEndpointCounters::bytes_in},
    CounterField<StreamEndpointCounters>{"frames_out", "records written to the peer",
                                         &StreamEndpointCounters::frames_out},
    CounterField<StreamEndpointCounters>{"bytes_out", "payload bytes written", &StreamEndpointCounters::bytes_out},
    CounterField<StreamEndpointCounters>{"connections", "peers accepted or connected",
                                         &StreamEndpointCounters::connections},
    CounterField<StreamEndpointCounters>{"disconnects", "connections closed", &StreamEndpointCounters::disconnects},
    CounterField<StreamEndpointCounters>{"reconnect_attempts", "client connect retries",
                                         &StreamEndpointCounters::reconnect_attempts},
    CounterField<StreamEndpointCounters>{"mid_record_disconnects", "peers that left in the middle of a record",
                                         &StreamEndpointCounters::mid_record_disconnects},
    CounterField<StreamEndpointCounters>{
        "queue_full_waits", "times the output queue was full and the graph waited for the peer to read (back-pressure)",
        &StreamEndpointCounters::queue_full_waits},
    CounterField<StreamEndpointCounters>{"queue_full_wait_ms", "milliseconds spent so waiting, in total",
                                         &StreamEndpointCounters::queue_full_wait_ms},
    CounterField<StreamEndpointCounters>{
        "stalls", "times the output queue was full and the peer read nothing for stall_timeout (one warning each)",
        &StreamEndpointCounters::stalls},
    CounterField<StreamEndpointCounters>{
        "drop_stalled",
        "outgoing packets dropped: the output queue was full and the peer had read nothing for stall_timeout",
        &StreamEndpointCounters::drop_stalled},
    CounterField<StreamEndpointCounters>{
        "drop_no_peer", "outgoing packets dropped: no peer connected, or it left before they were written",
        &StreamEndpointCounters::drop_no_peer},
    CounterField<StreamEndpointCounters>{
        "drop_shutdown",
        "outgoing packets dropped at shutdown: the peer read nothing for 1 s (or stall_timeout, if "
        "shorter), or they were still queued when the socket closed",
        &StreamEndpointCounters::drop_shutdown},
    CounterField<StreamEndpointCounters>{"drop_oversize", "records over 69632 bytes (the connection is closed)",
                                         &StreamEndpointCounters::drop_oversize},
    CounterField<StreamEndpointCounters>{"drop_zero_length", "zero-length records ignored",
                                         &StreamEndpointCounters::drop_zero_length},
    CounterField<StreamEndpointCounters>{"drop_bad_vnet", "records whose vnet header length exceeds the record or 20",
                                         &StreamEndpointCounters::drop_bad_vnet},
    CounterField<StreamEndpointCounters>{
        "tls_refused",
        "TLS handshakes that failed: a peer without TLS, an untrusted, expired or misnamed certificate, or no "
        "handshake within 5 s (each logged with the peer's address; the connection is closed)",
        &StreamEndpointCounters::tls_refused},
};
static_assert(covers_every_field(kEndpointCounterTable), "every counter needs a table entry");
static_assert(Socket::endpoint_counter_range.size == kEndpointCounterTable.size());

} // namespace colo
