// Divergence: where the primary and the secondary first differ, with a few
// bytes of each side for a hex/ASCII report; CompareProgress, what one
// compare pass over a connection's queues did; HoldReason, why a primary is
// still queued.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace colo {

struct Divergence {
    static constexpr std::size_t kContext = 32; // bytes of context per side
    static constexpr std::size_t kLead = 8;     // of which at most this many precede the difference

    // TCP: stream offset from the connection's first compared byte.
    // Others: offset within the compared region (L4 header on, or the frame).
    uint64_t offset = 0;
    bool tcp = false;
    uint32_t seq = 0; // TCP: absolute sequence number of the first differing byte
    uint8_t lead = 0; // context bytes before the first differing one
    uint8_t primary_len = 0, secondary_len = 0;
    std::array<uint8_t, kContext> primary{}, secondary{};
};

// Index of the first differing byte among the first n, or n if all equal.
std::size_t first_difference(const uint8_t* a, const uint8_t* b, std::size_t n);

// Context of both sides: region `p` (length plen) differs at index pi, region
// `s` at index si. The offset fields are left for the caller.
Divergence divergence_context(const uint8_t* p, std::size_t plen, std::size_t pi, const uint8_t* s, std::size_t slen,
                              std::size_t si);

// Why a primary is still queued (colo-graph compare explains each one).
enum class HoldReason : uint8_t {
    secondary_packet, // no payload to compare: waits for any secondary packet (QEMU's pure-ACK hold)
    ack_gate,         // data matched, but the secondary has not acknowledged as much as the primary
    secondary_bytes,  // the secondary has not sent these bytes yet
    secondary_gap,    // the secondary sent later bytes but not these (a gap on the secondary side)
    primary_gap,      // earlier primary bytes are missing (a gap on the primary side)
    diverged,         // the comparison stopped at a divergence at or before it
};
const char* to_string(HoldReason r); // "ack_gate"
const char* describe(HoldReason r);  // a sentence for reports

struct CompareProgress {
    uint32_t released = 0;             // primaries released by the comparison
    uint32_t retransmits = 0;          // of which TCP data already verified
    uint32_t cuts = 0;                 // verified fronts cut off TSO frames (released, the rest queued)
    uint32_t secondaries_consumed = 0; // secondaries matched (or spent) and freed
    uint64_t bytes_matched = 0;        // compared bytes found equal
    bool ack_gate_hold = false;        // TCP data matched but held by the ACK rule
    std::optional<Divergence> mismatch;
};

} // namespace colo
