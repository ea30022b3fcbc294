// checksum: the Internet checksum (RFC 1071), its incremental update
// (RFC 1624) and full TCP/UDP checksums over IPv4/IPv6 pseudo-headers.
//
// The rewriter patches 32-bit fields and fixes the checksum incrementally, so
// it never needs the pseudo-header; the full computation is here to verify
// frames (tests, diagnostics) and to build them.
#pragma once

#include "nodes/proto/frame_parse.hh"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace colo {

// Adds `len` bytes to a running one's-complement sum as big-endian 16-bit
// words, zero-padding an odd tail. Chain calls only on even-length pieces.
uint64_t ones_complement_add(uint64_t sum, const uint8_t* data, std::size_t len);

// Folds a running sum to 16 bits with end-around carry (not complemented).
uint16_t fold_ones_complement(uint64_t sum);

// RFC 1071 checksum of a buffer: the complement of its folded sum.
uint16_t internet_checksum(const uint8_t* data, std::size_t len);

// RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): the checksum after a 16-bit word
// changes from `old_value` to `new_value`.
uint16_t checksum_update16(uint16_t checksum, uint16_t old_value, uint16_t new_value);

// The same for a 32-bit field. `odd_offset` says the field starts at an odd
// byte offset from the start of the checksummed data (TCP options are not
// word aligned); its bytes then straddle words and count byte-swapped.
uint16_t checksum_update32(uint16_t checksum, uint32_t old_value, uint32_t new_value, bool odd_offset = false);

// The value the TCP or UDP checksum field of `f` must hold, computed over the
// pseudo-header and the whole segment with the field itself taken as zero.
// nullopt unless `f` is unfragmented TCP/UDP whose datagram is complete.
// A UDP result of 0 is returned as 0xffff (0 means "no checksum").
std::optional<uint16_t> l4_checksum(const uint8_t* data, const ParsedFrame& f);

// True when the TCP/UDP checksum field of `f` is correct (an IPv4 UDP
// checksum of 0, "not computed", counts as correct). False for anything
// l4_checksum() cannot compute.
bool l4_checksum_ok(const uint8_t* data, const ParsedFrame& f);

// Offset of the TCP/UDP checksum field inside the L4 header.
constexpr uint32_t l4_checksum_field(uint8_t l4_proto)
{
    return l4_proto == 6 ? 16 : 6;
}

} // namespace colo
