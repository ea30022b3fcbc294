#include "nodes/tap.hh"

#include "engine/registry.hh"

#include <cerrno>
#include <cstring>
#include <utility>

namespace colo {

namespace {
namespace port {
constexpr InPortId in{0, "in"};
constexpr OutPortId out{0, "out"};
} // namespace port
namespace prop {
constexpr StringProperty device{"device"};
constexpr IntProperty vnet_hdr_len{"vnet_hdr_len"}, tx_queue_len{"tx_queue_len"};
constexpr BoolProperty up{"up"}, offload{"offload"};
} // namespace prop
namespace counter {
constexpr CounterId frames_in{0, "frames_in"}, frames_out{1, "frames_out"}, drop_write_error{2, "drop_write_error"},
    drop_after_stop{3, "drop_after_stop"};
} // namespace counter
} // namespace

Tap::Tap(const Properties& p) : vnet_len_(uint32_t(p.get(prop::vnet_hdr_len)))
{
    dev_ = std::make_unique<TapDevice>(p.get(prop::device), vnet_len_ > 0, int(vnet_len_), p.get(prop::up),
                                       uint32_t(p.get(prop::tx_queue_len)), vnet_len_ > 0 && p.get(prop::offload));
}

void Tap::on_start(Injector& injector)
{
    reader_.start(dev_->fd(), [this, &injector] { read_ready(injector); });
}

void Tap::read_ready(Injector& injector)
{
    // Read straight into a pooled buffer of the largest size class. A frame
    // of up to an MTU moves into a buffer of its size (a held ACK should not
    // pin 68 KiB); a larger one (a 64 KiB segment, with offload) keeps the
    // buffer it was read into: a copy would land in the same size class.
    constexpr uint32_t kCopyUpTo = 2048; // the pool's MTU-sized class
    Batch b;
    Packet spare = Packet::with_capacity(kMaxFrameLen);
    while (b.size() < 64) {
        const long n = dev_->read_frame(spare.buf.get()->data(), kMaxFrameLen);
        if (n <= 0) break;
        if (uint32_t(n) <= kCopyUpTo) {
            b.packets.push_back(Packet::copy_of(spare.data(), uint32_t(n), vnet_len_, injector.now_ns()));
            continue;
        }
        spare.len = uint32_t(n);
        spare.vnet_len = vnet_len_;
        spare.ts_ns = injector.now_ns();
        b.packets.push_back(std::exchange(spare, Packet::with_capacity(kMaxFrameLen)));
    }
    if (b.empty()) return;
    const std::size_t n = b.size();
    count(counter::frames_in, n);
    if (!injector.inject(port::out, std::move(b))) count(counter::drop_after_stop, n);
}

void Tap::push(int, const Batch& batch, Emit&)
{
    for (const auto& p : batch.packets) {
        if (dev_->write_frame(p.data(), p.len) == long(p.len)) {
            count(counter::frames_out);
        } else {
            if (counter(counter::drop_write_error) == 0)
                log("tap " + dev_->name() + ": write failed: " + std::strerror(errno));
            count(counter::drop_write_error);
        }
    }
}

namespace {
NodeSpec spec()
{
    return {
        .type = "tap",
        .summary = "A Linux TAP device: frames out of the kernel to `out`, `in` into the kernel",
        .description =
            "Opens /dev/net/tun with IFF_TAP | IFF_NO_PI (and IFF_VNET_HDR when vnet_hdr_len > 0), creating "
            "the device or attaching to an existing one of that name. Frames the kernel transmits on the "
            "device are read on the process's I/O thread, with its sockets, and leave on `out` with the wall-clock "
            "time; frames on "
            "`in` are written to the device, GSO frames included (the kernel segments them). Needs CAP_NET_ADMIN to "
            "create a device.",
        .ports =
            {
                declare(port::in, "frames to write into the device"),
                declare(port::out, "frames read from the device"),
            },
        .properties =
            {
                declare(prop::device, {.required = true, .doc = "interface name (created if absent)"}),
                declare(prop::vnet_hdr_len,
                        {.default_value = "0",
                         .min = 0,
                         .max = 12,
                         .doc = "0: plain frames; 10 or 12: frames carry a virtio-net header (IFF_VNET_HDR)"}),
                declare(prop::up, {.default_value = "true", .doc = "bring the interface up"}),
                declare(prop::offload,
                        {.default_value = "true",
                         .doc = "with a vnet header: accept partial checksums and TCP/UDP segments of up to 64 KiB "
                                "from the kernel (TUNSETOFFLOAD), so the stack behind the device sends large "
                                "segments; without a vnet header there is nothing to describe them with"}),
                declare(
                    prop::tx_queue_len,
                    {.default_value = "10000",
                     .min = 0,
                     .max = 1000000,
                     .doc =
                         "frames the kernel queues on the device for colo-graph to read (its txqueuelen; 0: leave it); "
                         "the tun driver drops beyond it, and a lost guest frame costs the comparator a checkpoint"}),
            },
        .counters =
            {
                declare(counter::frames_in, "frames read from the device"),
                declare(counter::frames_out, "frames written to the device"),
                declare(counter::drop_write_error, "frames the device refused (errno logged once)"),
                declare(counter::drop_after_stop, "frames read after the graph began to stop"),
            },
        .factory = construct<Tap>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
