// exec: runs a command for every checkpoint request (and every loss of the
// secondary, degraded mode), e.g. to ask QEMU for a
// checkpoint over QMP (docs/deployment.md, KVM checkpoint signalling). The command is an argv list, run
// without a shell; the event is passed in the environment (COLO_EVENT holds
// the JSON, COLO_REASON and COLO_FLOW its main fields). A helper process
// forked at start runs the commands (nodes/exec_spawner.hh: outside the
// sandbox of `colo-graph run`).
#pragma once

#include "engine/node.hh"
#include "nodes/exec_spawner.hh"

#include <memory>
#include <string>
#include <vector>

namespace colo {

class ExecHook : public Node {
public:
    explicit ExecHook(const Properties& p);
    void push(int in_port, const Batch& batch, Emit& out) override;
    void tick(uint64_t now_ns, Emit& out) override { collect(false); }
    uint64_t tick_interval_ns() const override { return 50'000'000; }
    void finish() override;

protected:
    void on_start(Injector& injector) override;

private:
    // Counts and logs the helper's results (`wait`: at least one); false if
    // none came.
    bool collect(bool wait);

    std::vector<std::string> argv_;
    std::size_t max_running_;
    uint64_t timeout_ms_;
    std::unique_ptr<ExecSpawner> spawner_;
    std::size_t running_ = 0; // asked for and not yet ended
};

} // namespace colo
