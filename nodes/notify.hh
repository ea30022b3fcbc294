// notify: the Xen COLO notify_dev channel (net/colo-compare.c,
// notify_remote_frame()) as a node. Checkpoint requests arriving on `events`
// are sent as DO_CHECKPOINT; a COLO_CHECKPOINT from the peer leaves on
// `control` as a checkpoint command (flush); COLO_USERSPACE_PROXY_INIT is
// answered with COLO_COMPARE_GET_XEN_INIT. Exact bytes, no terminator;
// inbound records carry VNET_LEN when vnet_hdr_support is on, outbound ones
// never do (as QEMU).
#pragma once

#include "engine/node.hh"
#include "nodes/io/stream_endpoint.hh"
#include "nodes/proto/notify_protocol.hh"

#include <memory>
#include <mutex>

namespace colo {

class Notify : public Node {
public:
    explicit Notify(const Properties& p);
    SourceKind source_kind() const override { return SourceKind::live; }
    void push(int in_port, const Batch& batch, Emit& out) override;
    void tick(uint64_t now_ns, Emit& out) override { publish(); }
    uint64_t tick_interval_ns() const override { return 200'000'000; }
    void finish() override;

protected:
    void on_start(Injector& injector) override;

private:
    void publish();

    std::unique_ptr<StreamEndpoint> endpoint_;
    std::mutex protocol_mu_; // on_message runs on the I/O thread, counters are read from the graph
    NotifyProtocol protocol_;
};

} // namespace colo
