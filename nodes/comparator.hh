// comparator: QEMU colo-compare as a node (net/colo-compare.c; docs/comparator.md).
//
// Primary packets wait on `primary` until the secondary produced the same
// bytes on `secondary`, then leave on `out` byte-identical (vnet header
// included). Mismatch, timeout and queue overflow emit one checkpoint request
// on `events`; a {"command":"checkpoint"} on `control` (from a notify node,
// checkpoint-sim or an operator) flushes the queues, {"command":"failover"}
// switches to pass-through, {"command":"resume"} compares again. When the
// secondary's link goes down (`secondary_status`), degraded mode passes
// primaries through until it is back and re-synchronised. An operator
// sends the same as requests, and edits the bypass rules (`colo-graph ctl`). The logic lives in nodes/proto/compare.hh.
#pragma once

#include "engine/node.hh"
#include "nodes/control_port.hh"
#include "nodes/proto/compare.hh"

#include <functional>
#include <optional>

namespace colo {

class ComparatorNode : public Node {
public:
    explicit ComparatorNode(const Properties& p);
    void push(int in_port, const Batch& batch, Emit& out) override;
    void tick(uint64_t now_ns, Emit& out) override;
    uint64_t tick_interval_ns() const override { return uint64_t(core_.config().expired_scan_cycle_ms) * 1'000'000; }
    void drain(Emit& out) override;
    std::string handle(int handler, const std::string& arg, Emit& out) override;
    void set_property(const std::string& name, const Properties& p, Emit& out) override;

    static CompareConfig config_from(const Properties& p);

    // For tools that replay captures (colo-graph compare): the comparison
    // state, and a callback that sees every checkpoint request as it leaves
    // on `events`. Both are for the graph's own thread (replay mode).
    const Comparator& core() const { return core_; }
    void observe_requests(std::function<void(const CheckpointRequest&)> observer) { observer_ = std::move(observer); }
    // Called once at the end of input, before the final flush releases what
    // is still queued: what the input left held, and why (Comparator::report()).
    void observe_end(std::function<void(const Comparator&)> observer) { end_observer_ = std::move(observer); }

private:
    enum class Mode { comparing, degraded, failed_over };
    std::string apply(Command cmd, uint64_t now, Emit& out);
    void secondary_status(const PeerStatus& status, uint64_t now, Emit& out);
    void set_mode(Mode m);
    void timed_release(uint64_t now);
    void emit(Emit& out);
    void publish();

    Comparator core_;
    CompareOutput result_;
    ControlPort control_;
    std::function<void(const CheckpointRequest&)> observer_;
    std::function<void(const Comparator&)> end_observer_;
    std::size_t timed_ = 0;                 // result_.released entries whose hold time is recorded
    std::optional<uint64_t> request_since_; // the first checkpoint request not yet answered
    const bool resume_on_checkpoint_;
    Mode mode_ = Mode::comparing;
    bool secondary_back_ = false; // degraded: its link came up again
};

} // namespace colo
