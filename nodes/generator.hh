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

inline NodeSpec generator_spec()
{
    return {
        "generator",
        "Emit synthetic UDP frames (benchmarks and tests)",
        "Emits COUNT Ethernet/IPv4/UDP frames of SIZE bytes, spread round-robin over FLOWS source "
        "ports. The first 8 payload bytes hold the frame's sequence number (big-endian); timestamps "
        "advance by 1 µs per frame from 2023-11-14T22:13:20Z.",
        {{"out", PortDir::out, "generated frames"}},
        {
            {"count", PropType::integer, "1000", false, 0, INT64_MAX, {}, "frames to emit"},
            {"size", PropType::integer, "64", false, 60, 9000, {}, "frame size in bytes"},
            {"flows", PropType::integer, "1", false, 1, 65535, {}, "distinct UDP source ports"},
        },
        {{"packets", "frames emitted"}},
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<Generator>(p); },
    };
}

} // namespace colo
