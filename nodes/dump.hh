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

} // namespace colo
