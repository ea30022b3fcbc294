// Events travel between nodes as packets whose payload is one flat JSON
// object, e.g. {"event":"checkpoint_request","time":1700000001.25,...}.
// This file writes such objects and reads their top-level string fields.
#pragma once

#include "engine/packet.hh"

#include <cstdint>
#include <string>
#include <string_view>

namespace colo {

class JsonObject {
public:
    JsonObject& add(std::string_view key, std::string_view value);
    JsonObject& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    JsonObject& add(std::string_view key, uint64_t value);
    JsonObject& add(std::string_view key, int64_t value);
    JsonObject& add(std::string_view key, int value) { return add(key, int64_t(value)); }
    JsonObject& add(std::string_view key, bool value);
    JsonObject& add_time(std::string_view key, uint64_t ns); // seconds with 6 decimals
    JsonObject& add_raw(std::string_view key, std::string_view json);
    std::string str() const { return body_ + "}"; }

private:
    void key(std::string_view k);
    std::string body_ = "{";
};

std::string json_escape(std::string_view s);
// Bytes as lowercase hex digits, two per byte (the events' byte fields).
std::string hex_string(const uint8_t* bytes, std::size_t n);

Packet event_packet(const std::string& json, uint64_t ts_ns);
inline std::string_view packet_text(const Packet& p)
{
    return {reinterpret_cast<const char*>(p.data()), p.len};
}

} // namespace colo
