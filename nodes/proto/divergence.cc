#include "nodes/proto/divergence.hh"

#include <algorithm>
#include <cstring>

namespace colo {

std::size_t first_difference(const uint8_t* a, const uint8_t* b, std::size_t n)
{
    // memcmp first: equal data is the common case and it is fast (field-notes E.2).
    if (n == 0 || std::memcmp(a, b, n) == 0) return n;
    std::size_t i = 0;
    while (a[i] == b[i]) ++i;
    return i;
}

Divergence divergence_context(const uint8_t* p, std::size_t plen, std::size_t pi,
                              const uint8_t* s, std::size_t slen, std::size_t si)
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

} // namespace colo
