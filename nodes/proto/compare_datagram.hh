// Datagram comparison for UDP, ICMP/ICMPv6 and other IP protocols
// (QEMU: net/colo-compare.c colo_compare_packet()), matched first-in first-out.
//
// Each queued packet carries its compared region (set at enqueue): UDP and
// ICMP from the L4 header to the end of the IP datagram, other protocols the
// whole frame after the virtio-net header up to the end of the IP datagram.
// Two packets are equal when their regions have the same length and bytes.
//
// The oldest primary is matched against the oldest equal secondary; if none
// is equal the pass stops with a mismatch (described against the oldest
// secondary) and both queues stay as they are. QEMU 7.x tries the newest
// primary first (LIFO, colo_compare_packet() pops the primary queue's tail);
// FIFO is the deliberate fix (docs/comparator.md, differences from QEMU, row 3).
#pragma once

#include <vector>

#include "engine/packet.hh"
#include "nodes/proto/divergence.hh"
#include "nodes/proto/packet_queue.hh"

namespace colo {

CompareProgress compare_datagrams(PacketQueue& primary, PacketQueue& secondary, std::vector<Packet>& released);

// compare_datagrams() after `arriving` joined an empty secondary queue, for a
// non-empty primary queue: a datagram pair's usual order. When it equals the
// oldest primary, that primary is released and `arriving` never enters the
// queue (no ring taken and given back per pair); otherwise it is queued and
// the pass runs as usual. The result is the same either way.
CompareProgress compare_arriving_secondary(PacketQueue& primary, PacketQueue& secondary, QueuedPacket&& arriving,
                                           std::vector<Packet>& released);

} // namespace colo
