// heartbeat: tells whether the other colo-graph host is alive (issue #16).
// Two heartbeat nodes, one per host, pulse each other on a socket of their
// own (nodes/io/heartbeat_link.hh), never on a chardev QEMU peers see. A peer
// that closes the connection, or is connected but silent for timeout_ms (a
// frozen process, a partition: nothing else notices, since the kernel keeps
// its sockets open), is reported on `status` as peer_down, and peer_up when
// it pulses again; a comparator reads these on `secondary_status`. With
// auto_failover, each loss also sends a failover command on `control`, for
// the secondary's switches and rewriter.
#pragma once

#include "engine/node.hh"
#include "nodes/io/heartbeat_link.hh"
#include "nodes/proto/counter_table.hh"

#include <array>
#include <atomic>
#include <memory>
#include <string_view>

namespace colo {

class Heartbeat : public Node {
public:
    explicit Heartbeat(const Properties& p);
    SourceKind source_kind() const override { return SourceKind::live; }
    void tick(uint64_t now_ns, Emit& out) override { publish(); }
    uint64_t tick_interval_ns() const override { return 200'000'000; }
    void drain(Emit& out) override;
    void finish() override;

protected:
    void on_start(Injector& injector) override;

private:
    void publish();
    void report(Injector& injector, bool up, std::string_view reason);

    std::unique_ptr<HeartbeatLink> link_;
    const bool auto_failover_;
    std::atomic<bool> draining_{false};
};

// The link's counters, one entry per HeartbeatCounters field.
inline constexpr std::array kHeartbeatCounterTable{
    CounterField<HeartbeatCounters>{"pulses_sent", "pulses written whole to the peer", &HeartbeatCounters::pulses_sent},
    CounterField<HeartbeatCounters>{"pulses_received", "valid pulses read from the peer",
                                    &HeartbeatCounters::pulses_received},
    CounterField<HeartbeatCounters>{"losses", "times the peer was lost (peer_down events)", &HeartbeatCounters::losses},
    CounterField<HeartbeatCounters>{"recoveries", "times a lost peer came back (peer_up events after a loss)",
                                    &HeartbeatCounters::recoveries},
    CounterField<HeartbeatCounters>{"bad_records",
                                    "records that were not a valid pulse: a wrong peer (its connection is closed)",
                                    &HeartbeatCounters::bad_records},
    CounterField<HeartbeatCounters>{"connections", "peers accepted or connected", &HeartbeatCounters::connections},
    CounterField<HeartbeatCounters>{"peer_up", "1 while the peer is up, else 0", &HeartbeatCounters::peer_up, true},
    CounterField<HeartbeatCounters>{"tls_refused",
                                    "TLS handshakes that failed: a peer without TLS, an untrusted, expired or misnamed "
                                    "certificate, or silence (each logged with the peer's address)",
                                    &HeartbeatCounters::tls_refused},
};
static_assert(covers_every_field(kHeartbeatCounterTable), "every counter needs a table entry");

} // namespace colo
