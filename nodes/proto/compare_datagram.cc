#include "nodes/proto/compare_datagram.hh"

#include <algorithm>
#include <cstring>

namespace colo {

namespace {

bool same_region(const QueuedPacket& a, const QueuedPacket& b)
{
    return a.region_len == b.region_len && std::memcmp(a.region(), b.region(), a.region_len) == 0;
}

Divergence describe(const QueuedPacket& p, const QueuedPacket& s)
{
    const std::size_t n = std::min(p.region_len, s.region_len);
    const std::size_t at = first_difference(p.region(), s.region(), n);
    Divergence d = divergence_context(p.region(), p.region_len, at, s.region(), s.region_len, at);
    d.offset = at;
    return d;
}

} // namespace

CompareProgress compare_datagrams(PacketQueue& primary, PacketQueue& secondary, std::vector<Packet>& released)
{
    CompareProgress progress;
    while (!primary.empty() && !secondary.empty()) {
        const QueuedPacket& p = primary.front();
        uint32_t match = 0;
        while (match < secondary.size() && !same_region(p, secondary[match])) ++match;
        if (match == secondary.size()) {
            progress.mismatch = describe(p, secondary.front());
            break;
        }
        progress.bytes_matched += p.region_len;
        secondary.erase(match);
        ++progress.secondaries_consumed;
        released.push_back(primary.pop_front());
        ++progress.released;
    }
    return progress;
}

CompareProgress compare_arriving_secondary(PacketQueue& primary, PacketQueue& secondary, QueuedPacket&& arriving,
                                           std::vector<Packet>& released)
{
    if (!secondary.empty() || primary.empty() || !same_region(primary.front(), arriving)) {
        secondary.push_back(std::move(arriving));
        return compare_datagrams(primary, secondary, released);
    }
    CompareProgress progress;
    progress.bytes_matched = arriving.region_len;
    progress.secondaries_consumed = 1;
    progress.released = 1;
    released.push_back(primary.pop_front());
    // A second primary can only match a secondary still to come.
    return progress;
}

} // namespace colo
