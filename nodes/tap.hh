// tap: a Linux TAP device as a node. Frames the kernel sends out of the
// device leave on `out`; frames arriving on `in` are written into it. On a
// COLO host the device faces either the client network or a guest.
//
// The device is opened when the graph is built, so `run --user` can drop
// root privileges afterwards. Without CAP_NET_ADMIN it fails with a clear
// error naming the device.
#pragma once

#include "engine/node.hh"
#include "nodes/io/fd_reader.hh"
#include "nodes/io/tap_device.hh"

#include <memory>

namespace colo {

class Tap : public Node {
public:
    explicit Tap(const Properties& p);
    SourceKind source_kind() const override { return SourceKind::live; }
    void start(Injector& injector) override;
    void push(int in_port, const Batch& batch, Emit& out) override;
    void drain(Emit& out) override { reader_.stop(); }
    void finish() override { reader_.stop(); }

private:
    void read_ready(Injector& injector);

    std::unique_ptr<TapDevice> dev_;
    uint32_t vnet_len_;
    FdReader reader_;
    Injector* injector_ = nullptr;
};

inline NodeSpec tap_spec()
{
    return {
        "tap",
        "A Linux TAP device: frames out of the kernel to `out`, `in` into the kernel",
        "Opens /dev/net/tun with IFF_TAP | IFF_NO_PI (and IFF_VNET_HDR when vnet_hdr_len > 0), creating "
        "the device or attaching to an existing one of that name. Frames the kernel transmits on the "
        "device are read on a thread of their own and leave on `out` with the wall-clock time; frames on "
        "`in` are written to the device. Needs CAP_NET_ADMIN to create a device.",
        {
            {"in", PortDir::in, "frames to write into the device"},
            {"out", PortDir::out, "frames read from the device"},
        },
        {
            {"device", PropType::string, "", true, INT64_MIN, INT64_MAX, {}, "interface name (created if absent)"},
            {"vnet_hdr_len", PropType::integer, "0", false, 0, 12, {},
             "0: plain frames; 10 or 12: frames carry a virtio-net header (IFF_VNET_HDR)"},
            {"up", PropType::boolean, "true", false, INT64_MIN, INT64_MAX, {}, "bring the interface up"},
            {"tx_queue_len", PropType::integer, "10000", false, 0, 1000000, {},
             "frames the kernel queues on the device for colo-graph to read (its txqueuelen; 0: leave it); "
             "the tun driver drops beyond it, and a lost guest frame costs the comparator a checkpoint"},
        },
        {
            {"frames_in", "frames read from the device"},
            {"frames_out", "frames written to the device"},
            {"drop_write_error", "frames the device refused (errno logged once)"},
            {"drop_after_stop", "frames read after the graph began to stop"},
        },
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<Tap>(p); },
    };
}

} // namespace colo
