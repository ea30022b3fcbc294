#include "nodes/proto/notify_protocol.hh"

namespace colo {

NotifyProtocol::Result NotifyProtocol::on_message(const Packet& payload)
{
    const std::string_view text = payload.len == 0
                                      ? std::string_view{}
                                      : std::string_view(reinterpret_cast<const char*>(payload.data()), payload.len);
    if (text == notify_msg::kProxyInit) {
        ++handshakes_;
        return {Action::reply, notify_msg::kGetXenInit};
    }
    if (text == notify_msg::kCheckpoint) {
        ++checkpoints_;
        return {Action::checkpoint_done, {}};
    }
    ++unsupported_;
    return {Action::unsupported, {}};
}

Packet NotifyProtocol::do_checkpoint(uint64_t ts_ns)
{
    return message(notify_msg::kDoCheckpoint, ts_ns);
}

Packet NotifyProtocol::message(std::string_view text, uint64_t ts_ns)
{
    return Packet::copy_of(reinterpret_cast<const uint8_t*>(text.data()), uint32_t(text.size()), 0, ts_ns);
}

} // namespace colo
