// exec: runs a command for every checkpoint request, e.g. to ask QEMU for a
// checkpoint over QMP (reference §8.4). The command is an argv list, run
// without a shell; the event is passed in the environment (COLO_EVENT holds
// the JSON, COLO_REASON and COLO_FLOW its main fields).
#pragma once

#include "engine/node.hh"

#include <sys/types.h>

#include <string>
#include <vector>

namespace colo {

class ExecHook : public Node {
public:
    explicit ExecHook(const Properties& p);
    void start(Injector& injector) override { injector_ = &injector; }
    void push(int in_port, const Batch& batch, Emit& out) override;
    void tick(uint64_t now_ns, Emit& out) override { reap(); }
    uint64_t tick_interval_ns() const override { return 50'000'000; }
    void finish() override;

private:
    void spawn(const std::string& event_json);
    void reap();

    struct Child {
        pid_t pid;
        uint64_t deadline_ns;
    };
    std::vector<std::string> argv_;
    std::size_t max_running_;
    uint64_t timeout_ns_;
    std::vector<Child> running_;
    Injector* injector_ = nullptr;
};

inline NodeSpec exec_hook_spec()
{
    return {
        "exec",
        "Run a command (argv, no shell) on each checkpoint request",
        "For every checkpoint_request event on `in`, starts COMMAND with the event in the environment: "
        "COLO_EVENT (the JSON object), COLO_REASON and COLO_FLOW. No shell is involved, so event text can "
        "never be interpreted as shell syntax. At most MAX_RUNNING commands run at once; further requests "
        "are counted as skipped. A command still running after TIMEOUT_MS is killed.",
        {{"in", PortDir::in, "events", true}},
        {
            {"command", PropType::list, "", true, INT64_MIN, INT64_MAX, {}, "argv: program and arguments"},
            {"max_running", PropType::integer, "1", false, 1, 64, {}, "commands allowed to run at once"},
            {"timeout_ms", PropType::integer, "10000", false, 1, 3600000, {}, "kill a command after this long"},
        },
        {
            {"started", "commands started"},
            {"succeeded", "commands that exited 0"},
            {"failed", "commands that exited non-zero, were killed, or could not start"},
            {"skipped_busy", "requests not run because max_running commands were running"},
        },
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<ExecHook>(p); },
    };
}

} // namespace colo
