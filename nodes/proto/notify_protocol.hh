// The Xen COLO notify_dev channel, colo-compare side (QEMU: net/colo-compare.c
// notify_remote_frame(), compare_notify_rs_finalize(); docs/deployment.md).
// Messages are ASCII without a terminator, one per chardev record, matched on
// exact length and bytes. The framing is asymmetric: records we *receive*
// carry VNET_LEN when vnet support is on, records we *send* never do. So the
// notify port decodes with the port's vnet flag and encodes with it off.
#pragma once

#include "engine/packet.hh"

#include <cstdint>
#include <string_view>

namespace colo {

namespace notify_msg {
// colo-compare -> COLO frame: please take a checkpoint.
inline constexpr std::string_view kDoCheckpoint = "DO_CHECKPOINT";
// COLO frame -> colo-compare: handshake, answered with kGetXenInit.
inline constexpr std::string_view kProxyInit = "COLO_USERSPACE_PROXY_INIT";
inline constexpr std::string_view kGetXenInit = "COLO_COMPARE_GET_XEN_INIT";
// COLO frame -> colo-compare: checkpoint taken, flush the queues.
inline constexpr std::string_view kCheckpoint = "COLO_CHECKPOINT";
} // namespace notify_msg

// Interprets inbound notify records. Stateless apart from its counters: QEMU
// accepts COLO_CHECKPOINT with or without a prior handshake, and so do we.
class NotifyProtocol {
public:
    enum class Action {
        reply,           // send `reply` back on the notify channel
        checkpoint_done, // the COLO frame checkpointed: flush the comparator
        unsupported,     // unknown message: counted, otherwise ignored
    };
    struct Result {
        Action action;
        std::string_view reply; // set for Action::reply (static storage)
    };

    // `payload` is the whole record payload; its vnet_len is ignored because
    // QEMU matches the message against the full payload.
    Result on_message(const Packet& payload);

    // The outbound checkpoint request, ready for a vnet-less FrameEncoder.
    static Packet do_checkpoint(uint64_t ts_ns = 0);
    // Any message as a packet (vnet_len 0), e.g. a reply from on_message().
    static Packet message(std::string_view text, uint64_t ts_ns = 0);

    uint64_t handshakes() const { return handshakes_; }
    uint64_t checkpoints() const { return checkpoints_; }
    uint64_t unsupported() const { return unsupported_; }

private:
    uint64_t handshakes_ = 0;
    uint64_t checkpoints_ = 0;
    uint64_t unsupported_ = 0;
};

} // namespace colo
