// ConnectionTable: the comparator's tracked connections.
//
// Connections live in fixed-size chunks allocated on demand, addressed by a
// 32-bit id (chunk number << kChunkShift | index in the chunk): a growing
// table never moves a connection and wastes at most one partly used chunk,
// where a doubling array would hold up to twice the connections it needs.
// An open-addressing index (8 bytes per slot, linear probing, backward-shift
// deletion) maps a FlowKey to its id, and two intrusive lists order them: by
// first packet (flush and timeout scans walk connections in the order QEMU's
// conn_list has) and by last activity (eviction picks the least recently
// active).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nodes/proto/divergence.hh"
#include "nodes/proto/flow_key.hh"
#include "nodes/proto/packet_queue.hh"
#include "nodes/proto/tcp_stream_compare.hh"

namespace colo {

// How a connection's packets are compared.
enum class CompareKind : uint8_t {
    tcp,   // byte stream by sequence (TcpStreamCompare)
    l4,    // UDP, ICMP, ICMPv6: L4 header to end of datagram
    frame, // other protocols: whole frame after the vnet header
};

struct ConnectionLinks {
    uint32_t prev, next;
};

struct CompareConnection {
    FlowKey key;
    PacketQueue primary, secondary;
    TcpStreamCompare tcp;
    uint64_t primary_packets = 0, primary_bytes = 0;
    uint64_t secondary_packets = 0, secondary_bytes = 0;
    uint64_t matched_packets = 0, matched_bytes = 0;
    std::unique_ptr<Divergence> first_divergence; // allocated on the first mismatch only
    uint64_t first_seen = 0;                      // creation serial
    uint64_t last_active_ns = 0;
    ConnectionLinks by_age{}, by_activity{};
    CompareKind kind = CompareKind::frame;
    bool closing = false; // FIN or RST seen: expire soon after the queues drain

    bool queues_empty() const { return primary.empty() && secondary.empty(); }
};

class ConnectionTable {
public:
    static constexpr uint32_t npos = UINT32_MAX;

    uint32_t size() const { return count_; }
    CompareConnection& operator[](uint32_t id) { return chunks_[id >> kChunkShift][id & kChunkMask]; }
    const CompareConnection& operator[](uint32_t id) const { return chunks_[id >> kChunkShift][id & kChunkMask]; }

    uint32_t find(const FlowKey& key) const; // npos when absent
    // Adds an absent key as the newest and most recently active connection.
    // Connections never move: ids and references to others stay valid.
    uint32_t insert(const FlowKey& key);
    void erase(uint32_t id);
    void touch(uint32_t id); // now the most recently active

    // Oldest first by first packet / by last activity; npos ends.
    uint32_t oldest() const { return age_.head; }
    uint32_t next_by_age(uint32_t id) const { return (*this)[id].by_age.next; }
    uint32_t least_active() const { return activity_.head; }
    uint32_t next_by_activity(uint32_t id) const { return (*this)[id].by_activity.next; }

private:
    // 256 connections (~55 KiB) per chunk: the waste is bounded by one chunk,
    // small against the tens of thousands of connections a guest may open.
    static constexpr uint32_t kChunkShift = 8;
    static constexpr uint32_t kChunkMask = (1u << kChunkShift) - 1;

    struct List {
        uint32_t head = npos, tail = npos;
    };
    struct Slot {
        uint32_t id_plus1 = 0; // 0: empty
        uint32_t hash = 0;     // low 32 bits of the key hash; also gives the home slot
    };

    void link(List& list, ConnectionLinks CompareConnection::*links, uint32_t id);
    void unlink(List& list, ConnectionLinks CompareConnection::*links, uint32_t id);
    void rehash(uint32_t capacity);
    uint32_t mask() const { return uint32_t(index_.size() - 1); }

    std::vector<std::unique_ptr<CompareConnection[]>> chunks_;
    uint32_t ids_used_ = 0; // ids below this were handed out at least once
    std::vector<uint32_t> free_ids_;
    std::vector<Slot> index_;
    uint32_t count_ = 0;
    List age_, activity_;
};

} // namespace colo
