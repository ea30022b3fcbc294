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

// What secondary.push_back(arriving) and then compare_datagrams() give. In a
// datagram pair's usual order, no secondary waiting and an equal primary the
// oldest queued, that primary is released and `arriving` never enters the
// queue (no ring taken from the spares and given back for every pair).
CompareProgress compare_arriving_secondary(PacketQueue& primary, PacketQueue& secondary, QueuedPacket&& arriving,
                                           std::vector<Packet>& released);

} // namespace colo
