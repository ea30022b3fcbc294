// socket: one QEMU-compatible chardev socket (reference §1). Records read from
// the peer leave on `out`; packets arriving on `in` are written to the peer.
// It can stand in for any `-chardev socket` of a COLO topology: a mirror's
// outdev, a redirector's indev/outdev, colo-compare's primary_in,
// secondary_in and outdev.
//
// Better than QEMU (reference §12): zero-length records are ignored, an
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

#include <atomic>
#include <memory>

namespace colo {

class Socket : public Node {
public:
    explicit Socket(const Properties& p);
    SourceKind source_kind() const override { return SourceKind::live; }
    void start(Injector& injector) override;
    void push(int in_port, const Batch& batch, Emit& out) override;
    void tick(uint64_t now_ns, Emit& out) override { publish(); }
    uint64_t tick_interval_ns() const override { return 200'000'000; }
    void drain(Emit& out) override;
    void finish() override;

    // Shared with other socket-backed nodes.
    static StreamEndpointConfig endpoint_config(const Properties& p);
    static const std::vector<CounterSpec>& endpoint_counters();
    static void publish(Node& node, const StreamEndpoint& endpoint, std::size_t first);

private:
    void publish() { publish(*this, *endpoint_, 0); }

    std::unique_ptr<StreamEndpoint> endpoint_;
    std::atomic<bool> draining_{false};
    std::atomic<uint64_t> dropped_after_stop_{0};
};

// Properties every socket-backed node has.
std::vector<PropertySpec> socket_properties(const char* address_doc);

inline NodeSpec socket_spec()
{
    std::vector<CounterSpec> counters = Socket::endpoint_counters();
    counters.push_back({"drop_after_stop", "records read after the graph began to stop"});
    return {
        "socket",
        "A QEMU chardev socket: read records to `out`, write `in` to the peer",
        "Speaks QEMU's chardev packet framing byte for byte: a 4-byte big-endian length, a 4-byte "
        "big-endian vnet header length when vnet_hdr_support is on, then the frame. As a server it "
        "serves one peer at a time and accepts the next when it leaves (like -chardev "
        "socket,server=on); as a client it reconnects with exponential backoff. Unix sockets are "
        "created with mode 0600; TCP servers listen on loopback unless an address is given. Output "
        "to a slow reader is not dropped: once the output queue is full the graph waits for the "
        "peer to read (back-pressure, as QEMU blocks in its write). A peer that reads nothing for "
        "stall_timeout is stalled (a hung host, or two processes waiting for each other): one "
        "warning names the endpoint, and what does not fit the queue is dropped and counted "
        "(drop_stalled), without waiting, until the peer reads again. Without a peer output is "
        "dropped and counted, as QEMU loses it.",
        {
            {"in", PortDir::in, "frames to write to the peer"},
            {"out", PortDir::out, "frames read from the peer"},
        },
        socket_properties("tcp:HOST:PORT or unix:PATH"),
        counters,
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<Socket>(p); },
    };
}

} // namespace colo
