// rewriter: QEMU filter-rewriter as a node, done right (net/filter-rewriter.c,
// docs/rewriter.md). On the secondary host it translates between the
// secondary guest's TCP sequence space and the primary's:
//   to_guest   packets heading into the secondary guest: ACK, SACK blocks and
//              TSecr moved into the secondary's space
//   from_guest packets the secondary guest sent: SEQ and TSval moved into the
//              primary's space, so the comparator can line them up
// {"command":"checkpoint"} on `control` resets every offset to 0 (both guests
// are identical again); {"command":"failover"} applies QEMU's failover rule.
// An operator sends the same two as requests (`colo-graph ctl`).
// The logic lives in nodes/proto/tcp_rewriter.hh.
#pragma once

#include "engine/node.hh"
#include "nodes/control_port.hh"
#include "nodes/proto/tcp_rewriter.hh"

namespace colo {

class RewriterNode : public Node {
public:
    explicit RewriterNode(const Properties& p);
    void push(int in_port, const Batch& batch, Emit& out) override;
    void tick(uint64_t now_ns, Emit& out) override;
    uint64_t tick_interval_ns() const override { return 1'000'000'000; }
    std::string handle(int handler, const std::string& arg, Emit& out) override;

private:
    void apply(Command cmd);
    void publish();

    TcpRewriter core_;
    ControlPort control_;
};

} // namespace colo
