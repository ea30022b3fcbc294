// dump: one text line per packet, for golden tests and eyeballing.
//
//   0.000250 tcp 10.0.0.2:80 > 10.0.0.1:40000 [P.] seq=50001 ack=7001 len=512 hash=9f0c2a11
//
// Time is relative to the first packet this sink saw. `hash` is FNV-1a (32
// bit) of the L4 payload (TCP/UDP), or of the L4 part (ICMP, other IP), or of
// the whole frame (non-IP), so equal lines mean equal bytes where it matters.
#pragma once

#include "engine/node.hh"
#include "nodes/io/text_output.hh"

#include <string>

namespace colo {

struct ParsedFrame;

// The line for one packet, without a newline; shared with `colo-graph compare`.
std::string describe_packet(const Packet& p, uint64_t base_ts_ns);

class DumpSink : public Node {
public:
    explicit DumpSink(const Properties& p);
    void push(int in_port, const Batch& batch, Emit& out) override;
    void finish() override { out_.close(); }

private:
    TextOutput out_;
    uint64_t base_ts_ = 0;
};

inline NodeSpec dump_sink_spec()
{
    return {
        "dump",
        "Write one text line per packet (golden-test format)",
        "Writes a line per packet with relative time, protocol, addresses and ports, TCP flags, "
        "sequence and acknowledgment numbers, payload length and a payload hash. Golden replay tests "
        "compare these lines.",
        {{"in", PortDir::in, "packets to describe", true}},
        {{"file", PropType::string, "-", false, INT64_MIN, INT64_MAX, {}, "output file; - for standard output"}},
        {{"packets", "lines written"}},
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<DumpSink>(p); },
    };
}

} // namespace colo
