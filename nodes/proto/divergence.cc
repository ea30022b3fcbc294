#include "nodes/proto/divergence.hh"

#include <algorithm>
#include <cstring>

namespace colo {

std::size_t first_difference(const uint8_t* a, const uint8_t* b, std::size_t n)
{
    // memcmp first: equal data is the common case, and memcmp is far faster than
    // the byte loop below, which only runs once a difference is known to exist.
    if (n == 0 || std::memcmp(a, b, n) == 0) return n;
    std::size_t i = 0;
    while (a[i] == b[i]) ++i;
    return i;
}

Divergence divergence_context(const uint8_t* p, std::size_t plen, std::size_t pi, const uint8_t* s, std::size_t slen,
                              std::size_t si)
{
    Divergence d;
    const std::size_t lead = std::min({Divergence::kLead, pi, si});
    d.lead = uint8_t(lead);
    const std::size_t pstart = pi - lead, sstart = si - lead;
    d.primary_len = uint8_t(std::min(Divergence::kContext, plen > pstart ? plen - pstart : 0));
    d.secondary_len = uint8_t(std::min(Divergence::kContext, slen > sstart ? slen - sstart : 0));
    std::copy_n(p + pstart, d.primary_len, d.primary.begin());
    std::copy_n(s + sstart, d.secondary_len, d.secondary.begin());
    return d;
}

const char* to_string(HoldReason r)
{
    switch (r) {
    case HoldReason::secondary_packet: return "secondary_packet";
    case HoldReason::ack_gate: return "ack_gate";
    case HoldReason::secondary_bytes: return "secondary_bytes";
    case HoldReason::secondary_gap: return "secondary_gap";
    case HoldReason::primary_gap: return "primary_gap";
    case HoldReason::diverged: return "diverged";
    }
    return "?";
}

const char* describe(HoldReason r)
{
    switch (r) {
    case HoldReason::secondary_packet: return "no payload; waits for any secondary packet of the connection";
    case HoldReason::ack_gate: return "ACK gate: matched, but the secondary has not acknowledged as much";
    case HoldReason::secondary_bytes: return "waiting for the secondary's bytes";
    case HoldReason::secondary_gap: return "a gap: the secondary sent later bytes, not these";
    case HoldReason::primary_gap: return "a gap: earlier primary bytes are missing";
    case HoldReason::diverged: return "behind a divergence";
    }
    return "?";
}

} // namespace colo
