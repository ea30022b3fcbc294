#include "nodes/proto/bypass_rule.hh"

#include <arpa/inet.h>

#include <charconv>
#include <stdexcept>
#include <vector>

namespace colo {

namespace {

std::vector<std::string_view> split_words(std::string_view s)
{
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
        if (j > i) words.push_back(s.substr(i, j - i));
        i = j;
    }
    return words;
}

[[noreturn]] void fail(std::string_view rule, const std::string& why)
{
    throw std::invalid_argument("bypass rule '" + std::string(rule) + "': " + why);
}

bool parse_uint(std::string_view s, unsigned max, unsigned& out)
{
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && out <= max;
}

} // namespace

bool BypassRule::Prefix::contains(const std::array<uint8_t, 16>& a, uint8_t version) const
{
    if (version != ip_version) return false;
    const unsigned full = bits / 8, rest = bits % 8;
    for (unsigned i = 0; i < full; ++i)
        if (a[i] != addr[i]) return false;
    if (rest == 0) return true;
    const uint8_t mask = uint8_t(0xff << (8 - rest));
    return (a[full] & mask) == (addr[full] & mask);
}

BypassRule BypassRule::parse(std::string_view text)
{
    BypassRule r;
    r.text_ = std::string(text);
    const auto words = split_words(text);
    if (words.empty()) fail(text, "empty rule (expected e.g. \"tcp port 3389\")");

    const std::string_view proto = words[0];
    if (proto == "any") r.proto_ = Proto::any;
    else if (proto == "tcp") r.proto_ = Proto::tcp;
    else if (proto == "udp") r.proto_ = Proto::udp;
    else if (proto == "icmp") r.proto_ = Proto::icmp;
    else fail(text, "unknown protocol '" + std::string(proto) + "' (expected tcp, udp, icmp or any)");

    for (std::size_t i = 1; i < words.size(); i += 2) {
        const std::string keyword(words[i]);
        if (keyword != "host" && keyword != "port")
            fail(text, "unexpected '" + keyword + "' (expected 'host' or 'port')");
        if (i + 1 >= words.size()) fail(text, "missing value after '" + keyword + "'");
        const std::string value(words[i + 1]);

        if (keyword == "port") {
            if (r.port_) fail(text, "'port' given twice");
            if (r.proto_ == Proto::icmp) fail(text, "'port' does not apply to icmp");
            unsigned port = 0;
            if (!parse_uint(value, 65535, port)) fail(text, "invalid port '" + value + "' (expected 0-65535)");
            r.port_ = uint16_t(port);
            continue;
        }

        if (r.host_) fail(text, "'host' given twice");
        Prefix p;
        const auto slash = value.find('/');
        const std::string addr = value.substr(0, slash);
        if (inet_pton(AF_INET, addr.c_str(), p.addr.data()) == 1) p.ip_version = 4;
        else if (inet_pton(AF_INET6, addr.c_str(), p.addr.data()) == 1) p.ip_version = 6;
        else fail(text, "invalid address '" + addr + "' (expected IPv4 or IPv6)");
        const unsigned max_bits = p.ip_version == 4 ? 32 : 128;
        unsigned bits = max_bits;
        if (slash != std::string::npos && !parse_uint(std::string_view(value).substr(slash + 1), max_bits, bits))
            fail(text, "invalid prefix length in '" + value + "' (expected 0-" + std::to_string(max_bits) + ")");
        p.bits = uint8_t(bits);
        r.host_ = p;
    }
    return r;
}

bool BypassRule::proto_matches(uint8_t proto) const
{
    switch (proto_) {
    case Proto::any: return true;
    case Proto::tcp: return proto == 6;
    case Proto::udp: return proto == 17;
    case Proto::icmp: return proto == 1 || proto == 58;
    }
    return false;
}

bool BypassRule::matches(const FlowKey& key) const
{
    if (!proto_matches(key.proto)) return false;
    if (host_ && !host_->contains(key.src, key.ip_version) && !host_->contains(key.dst, key.ip_version)) return false;
    if (port_ && !(ip_proto_has_ports(key.proto) && (key.sport == *port_ || key.dport == *port_))) return false;
    return true;
}

bool BypassRule::operator==(const BypassRule& other) const
{
    return proto_ == other.proto_ && host_ == other.host_ && port_ == other.port_;
}

bool bypassed(std::span<const BypassRule> rules, const FlowKey& key)
{
    for (const auto& r : rules)
        if (r.matches(key)) return true;
    return false;
}

} // namespace colo
