// BypassRule: one entry of the comparator's `bypass` list, traffic that is
// released uncompared on the primary side and dropped on the secondary side.
// This is the pass-through list proposed for QEMU and never merged
// (the qemu-devel series "Bypass specific network traffic in COLO", 2021;
// docs/comparator.md, differences from QEMU, row 17).
//
// Grammar (whitespace separated, keywords lower case):
//     PROTO [host ADDR[/PREFIX]] [port N]
//     PROTO := tcp | udp | icmp | any        (icmp also matches ICMPv6)
// `host` matches the source or the destination address, `port` the source or
// the destination port. Examples: "tcp port 3389", "udp", "any host 10.0.0.0/8".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "nodes/proto/flow_key.hh"

namespace colo {

class BypassRule {
public:
    // Throws std::invalid_argument with a message naming the rule and the
    // offending token.
    static BypassRule parse(std::string_view text);

    bool matches(const FlowKey& key) const;
    const std::string& text() const { return text_; }

    // The same rule: protocol, host prefix (address bits beyond the prefix
    // length ignored) and port are equal. The text's spacing and word order
    // do not matter: "tcp port 80 host 10.0.0.0/8" == "tcp host 10.0.0.1/8 port 80".
    bool operator==(const BypassRule& other) const;

private:
    enum class Proto : uint8_t { any, tcp, udp, icmp };
    struct Prefix {
        uint8_t ip_version = 4;
        uint8_t bits = 0;
        std::array<uint8_t, 16> addr{};
        bool contains(const std::array<uint8_t, 16>& a, uint8_t version) const;
        bool operator==(const Prefix& other) const
        {
            return bits == other.bits && contains(other.addr, other.ip_version);
        }
    };

    bool proto_matches(uint8_t proto) const;

    std::string text_;
    Proto proto_ = Proto::any;
    std::optional<Prefix> host_;
    std::optional<uint16_t> port_;
};

// True when any rule matches.
bool bypassed(std::span<const BypassRule> rules, const FlowKey& key);

} // namespace colo
