// FlowKey: the identity of one IP flow (QEMU's ConnectionKey, net/colo.h, filled
// by net/colo.c fill_connection_key(); widened for IPv6 and VLANs).
//
// Two flavours come from one frame:
//  * directional (`from_frame`): src/dst as seen in the packet. The
//    comparator uses it because the PVM's and the SVM's outbound packets of
//    one flow travel in the same direction (QEMU: reverse=false).
//  * normalised (`normalized_from_frame`): both directions of a flow give the
//    same key (the rewriter's view, QEMU: reverse = packet from the netdev).
//    The endpoint that sorts lower is always `src`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>

#include "nodes/proto/frame_parse.hh"

namespace colo {

struct FlowKey {
    std::array<uint8_t, 16> src{}, dst{}; // IPv4 uses the first 4 bytes
    uint16_t sport = 0, dport = 0;        // 0 for protocols without ports (ICMP...)
    uint16_t vlan = 0;                    // VLAN id of the outermost tag, 0 if untagged
    uint8_t ip_version = 0;               // 4 or 6
    uint8_t proto = 0;                    // IPv4 protocol / IPv6 next header

    // Byte-wise: the key has no padding (asserted below), and a 40-byte
    // memcmp compiles to five word compares instead of field by field.
    bool operator==(const FlowKey& o) const { return std::memcmp(this, &o, sizeof *this) == 0; }

    // The key of the opposite direction.
    FlowKey reversed() const;
    // The direction-independent key: reversed() when dst sorts before src.
    FlowKey normalized() const;

    // "tcp 10.0.0.1:1234 > 10.0.0.2:80", "icmp6 fe80::1 > fe80::2 vlan 7",
    // "udp [fe80::1]:53 > [fe80::2]:5353".
    std::string to_string() const;
    std::size_t hash() const;

    // Directional key of a parsed frame (status must be ok).
    static FlowKey from_frame(const ParsedFrame& f);
    static FlowKey normalized_from_frame(const ParsedFrame& f) { return from_frame(f).normalized(); }
};

// Hashing and equality read the key as raw words: no padding bytes allowed.
static_assert(sizeof(FlowKey) == 40 && std::has_unique_object_representations_v<FlowKey>);

// Short protocol name for logs and reports: "tcp", "udp", "icmp", "icmp6", ...
// or "proto N" for the rest.
std::string ip_proto_name(uint8_t proto);
// True for the protocols whose first four L4 bytes are source and destination ports.
bool ip_proto_has_ports(uint8_t proto);

} // namespace colo

template <>
struct std::hash<colo::FlowKey> {
    std::size_t operator()(const colo::FlowKey& k) const { return k.hash(); }
};
