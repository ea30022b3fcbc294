// control-script: emits control commands at fixed packet times, so a replay
// can deliver a checkpoint or a failover exactly where a capture has a quiet
// gap (e.g. tests/replay/rw-checkpoint-mid-stream).
//
// An offline source: the runtime merges it with the pcap sources by time, so
// the command reaches its consumer between the right packets, every run.
#pragma once

#include "engine/node.hh"

#include <cstdint>
#include <string>
#include <vector>

namespace colo {

class ControlScript : public Node {
public:
    explicit ControlScript(const Properties& p);
    SourceKind source_kind() const override { return SourceKind::offline; }
    bool peek_time(uint64_t& ts_ns) override;
    bool pull(std::size_t max, uint64_t until_ns, int& out_port, Batch& out) override;

    struct Step {
        uint64_t ts_ns;
        std::string command;
    };
    // "SECONDS COMMAND", e.g. "1700000000.020000 checkpoint": seconds since
    // the epoch with up to 9 decimals, then one word. Throws
    // std::runtime_error naming the item when it is not of that form.
    static Step parse_step(const std::string& item);

private:
    std::vector<Step> steps_; // in time order
    std::size_t next_ = 0;
};

} // namespace colo
