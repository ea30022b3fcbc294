#include "nodes/proto/event_json.hh"

#include <cstdio>

namespace colo {

std::string json_escape(std::string_view s)
{
    std::string o;
    o.reserve(s.size() + 2);
    for (unsigned char c : s) {
        switch (c) {
        case '"': o += "\\\""; break;
        case '\\': o += "\\\\"; break;
        case '\n': o += "\\n"; break;
        case '\t': o += "\\t"; break;
        case '\r': o += "\\r"; break;
        default:
            if (c < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", c);
                o += b;
            } else {
                o += char(c);
            }
        }
    }
    return o;
}

void JsonObject::key(std::string_view k)
{
    if (body_.size() > 1) body_ += ',';
    body_ += '"';
    body_ += json_escape(k);
    body_ += "\":";
}

JsonObject& JsonObject::add(std::string_view k, std::string_view v)
{
    key(k);
    body_ += '"';
    body_ += json_escape(v);
    body_ += '"';
    return *this;
}

JsonObject& JsonObject::add(std::string_view k, uint64_t v)
{
    key(k);
    body_ += std::to_string(v);
    return *this;
}
JsonObject& JsonObject::add(std::string_view k, int64_t v)
{
    key(k);
    body_ += std::to_string(v);
    return *this;
}
JsonObject& JsonObject::add(std::string_view k, bool v)
{
    key(k);
    body_ += v ? "true" : "false";
    return *this;
}
JsonObject& JsonObject::add_raw(std::string_view k, std::string_view json)
{
    key(k);
    body_ += json;
    return *this;
}

JsonObject& JsonObject::add_time(std::string_view k, uint64_t ns)
{
    char b[32];
    std::snprintf(b, sizeof b, "%llu.%06llu", (unsigned long long)(ns / 1'000'000'000ull),
                  (unsigned long long)(ns % 1'000'000'000ull / 1000));
    key(k);
    body_ += b;
    return *this;
}

Packet event_packet(const std::string& json, uint64_t ts_ns)
{
    return Packet::copy_of(reinterpret_cast<const uint8_t*>(json.data()), uint32_t(json.size()), 0, ts_ns);
}

std::string hex_string(const uint8_t* bytes, std::size_t n)
{
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    s.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        s += kDigits[bytes[i] >> 4];
        s += kDigits[bytes[i] & 15];
    }
    return s;
}

} // namespace colo
