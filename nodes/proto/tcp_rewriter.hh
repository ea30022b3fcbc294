// TcpRewriter: QEMU's filter-rewriter (net/filter-rewriter.c) as a plain class,
// with QEMU's known bugs fixed (docs/rewriter.md, "Deliberate differences from
// QEMU 7.2"). Runs on the secondary.
//
// The client only ever talks to the primary guest (PVM), so it sees the PVM's
// initial sequence number and TCP timestamp clock; the secondary guest (SVM)
// has its own. Per connection the rewriter learns both offsets from the
// handshake and translates every segment crossing it:
//   to the guest:   ACK, SACK edges +seq_offset; TSecr +ts_offset
//   from the guest: SEQ −seq_offset; TSval −ts_offset
// Checksums are patched incrementally, in place, and only after
// Packet::mutable_data() (the buffer may be shared with a mirror).
// docs/rewriter.md lists the rules and every deliberate difference from QEMU.
#pragma once

#include "engine/packet.hh"
#include "nodes/proto/counter_table.hh"
#include "nodes/proto/flow_key.hh"
#include "nodes/proto/flow_table.hh"
#include "nodes/proto/frame_parse.hh"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace colo {

enum class Direction : uint8_t { to_guest, from_guest };

// The secondary guest's side of a connection, as far as the rewriter can tell.
enum class TcpState : uint8_t {
    closed,
    syn_sent,
    syn_received,
    established,
    fin_wait_1,
    fin_wait_2,
    closing,
    time_wait, // guest closed first
    close_wait,
    last_ack, // peer closed first
};
constexpr std::size_t kTcpStateCount = 10;
const char* to_string(TcpState s);

enum class RewriteResult : uint8_t {
    passed,    // not a tracked TCP segment: untouched
    tracked,   // tracked, nothing needed changing
    rewritten, // at least one field changed
};

struct TcpRewriterConfig {
    uint64_t idle_timeout_ms = 300000;   // expire() drops connections idle this long; 0 = never
    std::size_t max_connections = 65536; // opening one more evicts the least recently used
};

struct TcpRewriterCounters {
    uint64_t packets = 0;
    uint64_t passed_not_tcp = 0;
    uint64_t passed_untracked = 0;
    uint64_t tracked = 0;
    uint64_t rewritten = 0;
    uint64_t seq_rewrites = 0;
    uint64_t ack_rewrites = 0;
    uint64_t sack_edge_rewrites = 0;
    uint64_t tsval_rewrites = 0;
    uint64_t tsecr_rewrites = 0;
    uint64_t copied_for_write = 0;
    uint64_t checksum_left_partial = 0;
    uint64_t malformed_options = 0;
    uint64_t connections_opened = 0;
    uint64_t offsets_learned = 0;
    uint64_t connections_closed = 0;
    uint64_t connections_reset = 0;
    uint64_t connections_expired = 0;
    uint64_t connections_evicted = 0;
    uint64_t checkpoints = 0;
    uint64_t failovers = 0;
};

using TcpRewriterCounterInfo = CounterField<TcpRewriterCounters>;

// One entry per TcpRewriterCounters field, in declaration order.
inline constexpr std::array kTcpRewriterCounterTable{
    TcpRewriterCounterInfo{"packets", "frames offered to the rewriter", &TcpRewriterCounters::packets},
    TcpRewriterCounterInfo{"passed_not_tcp", "non-TCP, unparsable or fragmented frames passed untouched",
                           &TcpRewriterCounters::passed_not_tcp},
    TcpRewriterCounterInfo{"passed_untracked", "TCP segments of untracked connections passed untouched",
                           &TcpRewriterCounters::passed_untracked},
    TcpRewriterCounterInfo{"tracked", "TCP segments of tracked connections", &TcpRewriterCounters::tracked},
    TcpRewriterCounterInfo{"rewritten", "segments with at least one field changed", &TcpRewriterCounters::rewritten},
    TcpRewriterCounterInfo{"seq_rewrites", "SEQ fields moved into PVM space (from the guest)",
                           &TcpRewriterCounters::seq_rewrites},
    TcpRewriterCounterInfo{"ack_rewrites", "ACK fields moved into SVM space (to the guest)",
                           &TcpRewriterCounters::ack_rewrites},
    TcpRewriterCounterInfo{"sack_edge_rewrites", "SACK block edges moved into SVM space (to the guest)",
                           &TcpRewriterCounters::sack_edge_rewrites},
    TcpRewriterCounterInfo{"tsval_rewrites", "timestamp TSval fields moved to the PVM clock (from the guest)",
                           &TcpRewriterCounters::tsval_rewrites},
    TcpRewriterCounterInfo{"tsecr_rewrites", "timestamp TSecr fields moved to the SVM clock (to the guest)",
                           &TcpRewriterCounters::tsecr_rewrites},
    TcpRewriterCounterInfo{"copied_for_write", "rewritten packets whose shared buffer had to be copied first",
                           &TcpRewriterCounters::copied_for_write},
    TcpRewriterCounterInfo{"checksum_left_partial",
                           "rewritten packets whose vnet header asks the receiver to finish the checksum",
                           &TcpRewriterCounters::checksum_left_partial},
    TcpRewriterCounterInfo{"malformed_options",
                           "tracked segments with a malformed TCP option list (options left alone)",
                           &TcpRewriterCounters::malformed_options},
    TcpRewriterCounterInfo{"connections_opened", "connections created by a SYN",
                           &TcpRewriterCounters::connections_opened},
    TcpRewriterCounterInfo{"offsets_learned", "connections whose sequence offset was learned from the handshake",
                           &TcpRewriterCounters::offsets_learned},
    TcpRewriterCounterInfo{"connections_closed", "connections removed after both FINs were acknowledged",
                           &TcpRewriterCounters::connections_closed},
    TcpRewriterCounterInfo{"connections_reset", "connections removed by a RST",
                           &TcpRewriterCounters::connections_reset},
    TcpRewriterCounterInfo{"connections_expired", "connections removed after idle_timeout_ms without traffic",
                           &TcpRewriterCounters::connections_expired},
    TcpRewriterCounterInfo{"connections_evicted", "least recently used connections dropped at max_connections",
                           &TcpRewriterCounters::connections_evicted},
    TcpRewriterCounterInfo{"checkpoints", "checkpoint events (all offsets reset to 0)",
                           &TcpRewriterCounters::checkpoints},
    TcpRewriterCounterInfo{"failovers", "failover events", &TcpRewriterCounters::failovers},
};
static_assert(covers_every_field(kTcpRewriterCounterTable), "every counter needs a table entry");

// A read-only view of one tracked connection.
struct TcpConnectionInfo {
    TcpState state = TcpState::closed;
    bool seq_synced = false; // seq_offset known (learned, or zeroed by a checkpoint)
    uint32_t seq_offset = 0; // SVM − PVM, mod 2^32
    bool ts_synced = false;
    uint32_t ts_offset = 0; // SVM TSval − PVM TSval, mod 2^32
    uint64_t last_seen_ns = 0;
};

class TcpRewriter {
public:
    explicit TcpRewriter(TcpRewriterConfig config = {});

    // Parses `p`, updates the connection and patches the packet in place
    // when a field must change. Non-TCP, unparsable and fragmented frames,
    // and segments of untracked connections, pass untouched.
    RewriteResult process(Packet& p, Direction d, uint64_t now_ns);

    // COLO checkpoint: both guests are identical again, so every offset
    // becomes 0 (states kept).
    void checkpoint();
    // COLO failover, QEMU's rule: if no tracked connection needs translation,
    // stop tracking new connections; otherwise keep going unchanged.
    void failover();
    bool failover_mode() const { return failover_mode_; }

    // Drops connections idle for idle_timeout_ms; returns how many.
    std::size_t expire(uint64_t now_ns);

    const TcpRewriterCounters& counters() const { return counters_; }
    static std::span<const TcpRewriterCounterInfo> counter_table();

    std::size_t connection_count() const { return table_.size(); }
    const std::array<std::size_t, kTcpStateCount>& connections_by_state() const { return by_state_; }

    // The connection's key: `src` is always the guest's endpoint.
    static FlowKey key_of(const ParsedFrame& f, Direction d);
    std::optional<TcpConnectionInfo> connection(const FlowKey& key) const;

private:
    struct Connection {
        TcpConnectionInfo info;
        // Handshake observations; offsets are learned once both sides are seen.
        std::optional<uint32_t> svm_isn, pvm_isn, svm_tsval, pvm_tsval;
        // Sequence number just past each FIN: the guest's in PVM space, the peer's in its own.
        std::optional<uint32_t> guest_fin_end, peer_fin_end;
        bool guest_fin_acked = false, peer_fin_acked = false;
        FlowKey key;                       // FlowTable's
        FlowLinks by_age{}, by_activity{}; // FlowTable's
    };
    struct Segment;
    class EditList;

    uint32_t find_or_open(const FlowKey& key, uint8_t tcp_flags, uint64_t now_ns); // npos: untracked
    void reopen(Connection& c);
    void set_state(Connection& c, TcpState s);
    void learn_offsets(Connection& c);
    void track_to_guest(Connection& c, const Segment& s);
    void track_from_guest(Connection& c, const Segment& s);
    void track_close(Connection& c, const Segment& s, Direction d);
    void plan_edits(const Connection& c, const Segment& s, Direction d, EditList& edits) const;
    bool apply_edits(Packet& p, const ParsedFrame& f, const EditList& edits);
    void remove(uint32_t id);

    TcpRewriterConfig config_;
    TcpRewriterCounters counters_;
    FlowTable<Connection> table_;
    std::array<std::size_t, kTcpStateCount> by_state_{};
    bool failover_mode_ = false;
};

} // namespace colo
