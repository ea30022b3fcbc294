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
    void push(int in_port, const Batch& batch, Emit& out) override;
    void drain(Emit& out) override { reader_.pause(); }
    void finish() override { reader_.stop(); }

protected:
    void on_start(Injector& injector) override;

private:
    void read_ready(Injector& injector);

    std::unique_ptr<TapDevice> dev_;
    uint32_t vnet_len_;
    FdReader reader_;
};

} // namespace colo
