// exec: runs a command for every checkpoint request (and every loss of the
// secondary, degraded mode), e.g. to ask QEMU for a
// checkpoint over QMP (docs/deployment.md, KVM checkpoint signalling). The command is an argv list, run
// without a shell; the event is passed in the environment (COLO_EVENT holds
// the JSON, COLO_REASON and COLO_FLOW its main fields).
#pragma once

#include "engine/node.hh"
#include "nodes/control_message.hh"

#include <sys/types.h>

#include <string>
#include <vector>

namespace colo {

class ExecHook : public Node {
public:
    explicit ExecHook(const Properties& p);
    void push(int in_port, const Batch& batch, Emit& out) override;
    void tick(uint64_t now_ns, Emit& out) override { reap(); }
    uint64_t tick_interval_ns() const override { return 50'000'000; }
    void finish() override;

private:
    void spawn(const std::string& event_json, const CheckpointRequestFields& request);
    void reap();

    struct Child {
        pid_t pid;
        uint64_t deadline_ns;
    };
    std::vector<std::string> argv_;
    std::size_t max_running_;
    uint64_t timeout_ns_;
    std::vector<Child> running_;
};

} // namespace colo
