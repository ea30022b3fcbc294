// Cutting a TSO frame: a TCP segment of up to 64 KiB that a stack with
// segmentation offload handed over with a virtio-net header (GSO type TCPV4
// or TCPV6), for the device or the kernel to cut into MSS-sized segments.
//
// The comparator releases the front of such a frame as soon as the secondary
// has sent those bytes: holding 64 KiB until the secondary sent all of it
// can deadlock, because the secondary may need the client's ACK for the
// start before it may send the rest (its congestion window). The kernel
// segments the frame anyway, so the client cannot tell where we cut.
#pragma once

#include <cstdint>
#include <optional>

#include "engine/packet.hh"

namespace colo {

// True for a frame whose virtio-net header asks for TCP segmentation.
bool is_tso_frame(const Packet& p);

// Splits the TSO frame `p` after `payload_bytes` bytes of TCP payload
// (0 < payload_bytes < its payload): returns the front as a frame of its own
// and leaves the rest in `p`, headers rebuilt in front of the remaining
// payload (no copy of it). Both keep their virtio-net header (a part no
// longer than the MSS becomes a plain frame) and get the right IP length,
// sequence number and flags (FIN and PSH on the rest only, CWR on the front
// only); a partial checksum (NEEDS_CSUM: the pseudo-header sum) is adjusted
// to the new TCP length, a full one recomputed. nullopt, `p` untouched, for
// anything else.
std::optional<Packet> cut_tso_front(Packet& p, uint32_t payload_bytes);

} // namespace colo
