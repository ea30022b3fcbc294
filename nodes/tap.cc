#include "nodes/tap.hh"

#include "engine/registry.hh"

#include <cerrno>
#include <cstring>
#include <vector>

namespace colo {

namespace counter { enum { frames_in, frames_out, drop_write_error, drop_after_stop }; }

Tap::Tap(const Properties& p) : vnet_len_(uint32_t(p.integer("vnet_hdr_len")))
{
    dev_ = std::make_unique<TapDevice>(p.str("device"), vnet_len_ > 0, int(vnet_len_), p.boolean("up"),
                                       uint32_t(p.integer("tx_queue_len")));
}

void Tap::start(Injector& injector)
{
    injector_ = &injector;
    reader_.start(dev_->fd(), [this, &injector] { read_ready(injector); });
}

void Tap::read_ready(Injector& injector)
{
    // Read into scratch, then copy into a right-sized pooled buffer: a frame
    // that waits in a comparator queue should not pin 68 KiB.
    static thread_local std::vector<uint8_t> scratch(kMaxFrameLen);
    Batch b;
    while (b.size() < 64) {
        const long n = dev_->read_frame(scratch.data(), scratch.size());
        if (n <= 0) break;
        b.packets.push_back(Packet::copy_of(scratch.data(), uint32_t(n), vnet_len_, injector.now_ns()));
    }
    if (b.empty()) return;
    const std::size_t n = b.size();
    count(counter::frames_in, n);
    if (!injector.inject(0, std::move(b))) count(counter::drop_after_stop, n);
}

void Tap::push(int, const Batch& batch, Emit&)
{
    for (const auto& p : batch.packets) {
        if (dev_->write_frame(p.data(), p.len) == long(p.len)) {
            count(counter::frames_out);
        } else {
            if (counter(counter::drop_write_error) == 0 && injector_)
                injector_->log("tap " + dev_->name() + ": write failed: " + std::strerror(errno));
            count(counter::drop_write_error);
        }
    }
}

COLO_REGISTER_NODE(tap_spec());

} // namespace colo
