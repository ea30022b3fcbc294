#include "nodes/control_message.hh"

#include "nodes/proto/compare_events.hh"

#include <nlohmann/json.hpp>

namespace colo {

// Messages are read with nlohmann-json, so that spacing, member order or a
// nested member of the same name cannot fool a reader; text that is not a
// JSON object has no members.
std::string message_field(std::string_view json, const char* key)
{
    const nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
    if (!j.is_object()) return "";
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Packet command_message(std::string_view name, uint64_t ts_ns)
{
    return event_packet(JsonObject().add("command", name).str(), ts_ns);
}

Command parse_command(const Packet& p)
{
    const std::string name = message_field(packet_text(p), "command");
    if (name == "checkpoint") return Command::checkpoint;
    if (name == "failover") return Command::failover;
    if (name == "resume") return Command::resume;
    return Command::unknown;
}

Packet checkpoint_request_event(const CheckpointRequest& r)
{
    JsonObject j;
    j.add("version", kEventSchemaVersion)
        .add("event", "checkpoint_request")
        .add_time("time", r.time_ns)
        .add("reason", to_string(r.reason))
        .add("side", to_string(r.side))
        .add("flow", r.flow.to_string());
    if (r.divergence) {
        const Divergence& d = *r.divergence;
        j.add("offset", d.offset);
        if (d.tcp) j.add("seq", uint64_t(d.seq));
        j.add("context_lead", uint64_t(d.lead))
            .add("primary_bytes", hex_string(d.primary.data(), d.primary_len))
            .add("secondary_bytes", hex_string(d.secondary.data(), d.secondary_len));
    }
    return event_packet(j.str(), r.time_ns);
}

Packet checkpoint_done_event(uint64_t ts_ns, uint64_t released, uint64_t secondary_dropped)
{
    return event_packet(JsonObject()
                            .add("version", kEventSchemaVersion)
                            .add("event", "checkpoint_done")
                            .add_time("time", ts_ns)
                            .add("released", released)
                            .add("secondary_dropped", secondary_dropped)
                            .str(),
                        ts_ns);
}

Packet failover_event(uint64_t ts_ns)
{
    return event_packet(
        JsonObject().add("version", kEventSchemaVersion).add("event", "failover").add_time("time", ts_ns).str(), ts_ns);
}

Packet resume_event(uint64_t ts_ns)
{
    return event_packet(
        JsonObject().add("version", kEventSchemaVersion).add("event", "resume").add_time("time", ts_ns).str(), ts_ns);
}

Packet secondary_lost_event(uint64_t ts_ns, std::string_view reason)
{
    return event_packet(JsonObject()
                            .add("version", kEventSchemaVersion)
                            .add("event", "secondary_lost")
                            .add_time("time", ts_ns)
                            .add("reason", reason)
                            .str(),
                        ts_ns);
}

Packet secondary_back_event(uint64_t ts_ns)
{
    return event_packet(
        JsonObject().add("version", kEventSchemaVersion).add("event", "secondary_back").add_time("time", ts_ns).str(),
        ts_ns);
}

Packet peer_status_event(const PeerStatus& s, uint64_t ts_ns)
{
    JsonObject j;
    j.add("version", kEventSchemaVersion).add("event", s.up ? "peer_up" : "peer_down").add_time("time", ts_ns);
    if (!s.up) j.add("reason", s.reason);
    return event_packet(j.str(), ts_ns);
}

std::optional<PeerStatus> parse_peer_status(const Packet& p)
{
    const std::string_view json = packet_text(p);
    const std::string event = message_field(json, "event");
    if (event == "peer_up") return PeerStatus{true, ""};
    if (event == "peer_down") return PeerStatus{false, message_field(json, "reason")};
    return std::nullopt;
}

bool is_checkpoint_request(const Packet& p)
{
    return message_field(packet_text(p), "event") == "checkpoint_request";
}

std::optional<CheckpointRequestFields> parse_checkpoint_request(std::string_view json)
{
    if (message_field(json, "event") != "checkpoint_request") return std::nullopt;
    return CheckpointRequestFields{message_field(json, "reason"), message_field(json, "flow")};
}

} // namespace colo
