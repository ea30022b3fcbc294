// tcp_options: a defensive walk over TCP options that finds the two options
// whose values live in a sequence or clock space the rewriter translates:
// SACK blocks (RFC 2018) and timestamps (RFC 7323).
//
// The walk stops at End-of-Option-List, skips NOPs, and gives up on any
// length that is short, overruns the header, or does not fit the option's
// kind. A malformed or ambiguous (duplicated) list is reported as such so
// callers leave every option alone rather than edit half of them.
#pragma once

#include "nodes/proto/frame_parse.hh"

#include <cstdint>
#include <optional>

namespace colo {

namespace tcpopt {
constexpr uint8_t EOL = 0, NOP = 1, MSS = 2, SACK = 5, TIMESTAMP = 8;
constexpr uint8_t kTimestampLen = 10;
constexpr uint8_t kSackBlockLen = 8;
constexpr uint8_t kMaxSackBlocks = 4; // 40 option bytes at most
} // namespace tcpopt

struct TcpOptionScan {
    bool malformed = false;            // broken length or duplicate SACK/timestamp
    std::optional<uint32_t> tsval_off; // buffer offset of TSval; TSecr follows it
    std::optional<uint32_t> sack_off;  // buffer offset of the first block's left edge
    uint8_t sack_blocks = 0;           // blocks of 8 bytes (left edge, right edge)
};

// Walks the options in data[begin, end). Offsets in the result are offsets
// into `data`. Never reads outside [begin, end).
TcpOptionScan scan_tcp_options(const uint8_t* data, uint32_t begin, uint32_t end);

// Convenience for a parsed TCP frame: options lie between the 20-byte fixed
// header and the payload. Empty result unless f.is_tcp().
TcpOptionScan scan_tcp_options(const uint8_t* data, const ParsedFrame& f);

} // namespace colo
