// generator: synthetic UDP frames, for benchmarks and engine tests.
//
// An offline source: frames carry their sequence number in the first 8 bytes
// of the UDP payload (big-endian) and timestamps 1 µs apart, so a sink can
// check order and a replay is deterministic.
#pragma once

#include "engine/node.hh"

namespace colo {

class Generator : public Node {
public:
    explicit Generator(const Properties& p);
    SourceKind source_kind() const override { return SourceKind::offline; }
    bool peek_time(uint64_t& ts_ns) override;
    bool pull(std::size_t max, uint64_t until_ns, int& out_port, Batch& out) override;

private:
    Packet make(uint64_t n) const;

    uint64_t count_, next_ = 0;
    uint32_t size_, flows_;
    uint64_t start_ns_ = 1'700'000'000'000'000'000ull;
};

} // namespace colo
