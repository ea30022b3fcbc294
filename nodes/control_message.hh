// The messages node types send each other on control and event ports, as
// packets whose payload is one flat JSON object (nodes/proto/event_json.hh).
// Every node that writes or reads one does it here, so the wire format, which
// event logs, scripts and interop peers read, is defined in one place:
//
//   commands, to a comparator's or rewriter's `control` port:
//     {"command":"checkpoint"}   flush (comparator) / reset offsets (rewriter)
//     {"command":"failover"}     switch to pass-through / QEMU's failover rule
//     {"command":"resume"}       compare again after pass-through (comparator)
//   events, from a comparator's `events` port (docs/events.md, schema version 1):
//     {"version":1,"event":"checkpoint_request","time":T,"reason":R,"side":S,"flow":F[,divergence fields]}
//     {"version":1,"event":"checkpoint_done","time":T,"released":N,"secondary_dropped":N}
//     {"version":1,"event":"failover","time":T}
//     {"version":1,"event":"resume","time":T}
//     {"version":1,"event":"secondary_lost","time":T,"reason":"disconnect"|"heartbeat"}
//     {"version":1,"event":"secondary_back","time":T}
//   peer status, from a socket's or a heartbeat's `status` port (a comparator
//   reads them on `secondary_status`):
//     {"version":1,"event":"peer_down","time":T,"reason":"disconnect"|"heartbeat"}
//     {"version":1,"event":"peer_up","time":T}
#pragma once

#include "engine/packet.hh"
#include "nodes/proto/event_json.hh" // packet_text()

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace colo {

struct CheckpointRequest;

// The events' schema (docs/events.md): a member may be added under the same
// version; any other change bumps it.
inline constexpr uint64_t kEventSchemaVersion = 1;

enum class Command { checkpoint, failover, resume, unknown };

// A top-level string member of a message ("" when absent, not a string, or
// the message is not a JSON object).
std::string message_field(std::string_view json, const char* key);

// {"command":"NAME"}, stamped ts_ns. control-script sends any NAME it is given.
Packet command_message(std::string_view name, uint64_t ts_ns);
inline Packet checkpoint_command(uint64_t ts_ns)
{
    return command_message("checkpoint", ts_ns);
}
// What a control message asks for; unknown for anything else.
Command parse_command(const Packet& p);

Packet checkpoint_request_event(const CheckpointRequest& r);
Packet checkpoint_done_event(uint64_t ts_ns, uint64_t released, uint64_t secondary_dropped);
Packet failover_event(uint64_t ts_ns);
Packet resume_event(uint64_t ts_ns);
Packet secondary_lost_event(uint64_t ts_ns, std::string_view reason);
Packet secondary_back_event(uint64_t ts_ns);

// Whether a link's peer is there: a socket's connection, a heartbeat's pulse.
struct PeerStatus {
    bool up = false;
    std::string reason; // peer_down: "disconnect" or "heartbeat"
};
Packet peer_status_event(const PeerStatus& s, uint64_t ts_ns);
std::optional<PeerStatus> parse_peer_status(const Packet& p);

// The fields of a checkpoint_request event that consumers use; nullopt for
// any other message.
struct CheckpointRequestFields {
    std::string reason;
    std::string flow;
};
std::optional<CheckpointRequestFields> parse_checkpoint_request(std::string_view json);
bool is_checkpoint_request(const Packet& p);

} // namespace colo
