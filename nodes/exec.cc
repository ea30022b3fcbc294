#include "nodes/exec.hh"

#include "engine/registry.hh"
#include "nodes/control_message.hh"

#include <sys/wait.h>

#include <cstring>
#include <stdexcept>

namespace colo {

namespace {

namespace port {
constexpr InPortId in{0, "in"};
}
namespace prop {
constexpr ListProperty command{"command"};
constexpr IntProperty max_running{"max_running"}, timeout_ms{"timeout_ms"};
} // namespace prop
namespace counter {
constexpr CounterId started{0, "started"}, succeeded{1, "succeeded"}, failed{2, "failed"},
    skipped_busy{3, "skipped_busy"};
} // namespace counter

} // namespace

ExecHook::ExecHook(const Properties& p)
    : argv_(p.get(prop::command)),
      max_running_(std::size_t(p.get(prop::max_running))),
      timeout_ms_(uint64_t(p.get(prop::timeout_ms)))
{
    if (argv_.empty() || argv_[0].empty()) throw std::runtime_error("'command' needs at least a program name");
}

void ExecHook::on_start(Injector&)
{
    spawner_ = std::make_unique<ExecSpawner>(argv_, timeout_ms_);
}

void ExecHook::push(int, const Batch& batch, Emit&)
{
    collect(false);
    for (const auto& p : batch.packets) {
        const std::string_view json = packet_text(p);
        auto request = parse_checkpoint_request(json);
        if (!request && message_field(json, "event") == "secondary_lost") // degraded mode: the frame may act
            request = CheckpointRequestFields{message_field(json, "reason"), ""};
        if (!request) continue;
        if (running_ >= max_running_) {
            count(counter::skipped_busy);
            continue;
        }
        if (!spawner_->request(std::string(json), request->reason, request->flow)) {
            count(counter::failed);
            log(argv_[0] + ": cannot start: the exec helper has gone");
            continue;
        }
        ++running_;
    }
}

bool ExecHook::collect(bool wait)
{
    if (!spawner_) return false;
    const auto results = spawner_->results(wait);
    for (const auto& r : results) {
        using Kind = ExecSpawner::Result::Kind;
        switch (r.kind) {
        case Kind::started: count(counter::started); continue;
        case Kind::cannot_start:
            count(counter::failed);
            log(argv_[0] + ": cannot start: " + std::strerror(r.value));
            break;
        case Kind::exited:
            count(WIFEXITED(r.value) && WEXITSTATUS(r.value) == 0 ? counter::succeeded : counter::failed);
            break;
        case Kind::timed_out:
            count(counter::failed);
            log(argv_[0] + ": killed after timeout");
            break;
        }
        --running_;
    }
    return !results.empty();
}

void ExecHook::finish()
{
    // Give running hooks their timeout to finish; they may be asking for a checkpoint.
    while (running_ > 0)
        if (!collect(true)) { // the helper is gone
            count(counter::failed, running_);
            running_ = 0;
        }
    spawner_.reset();
}

namespace {
NodeSpec spec()
{
    return {
        .type = "exec",
        .summary = "Run a command (argv, no shell) on each checkpoint request or loss of the secondary",
        .description =
            "For every checkpoint_request and secondary_lost event on `in`, starts COMMAND with the event in the "
            "environment: COLO_EVENT (the JSON object), COLO_REASON and COLO_FLOW (empty for secondary_lost). No shell "
            "is involved, so event text can "
            "never be interpreted as shell syntax. At most MAX_RUNNING commands run at once; further requests "
            "are counted as skipped. A command still running after TIMEOUT_MS is killed.",
        .ports = {declare(port::in, "events", Link::required)},
        .properties =
            {
                declare(prop::command, {.required = true, .doc = "argv: program and arguments"}),
                declare(prop::max_running,
                        {.default_value = "1", .min = 1, .max = 64, .doc = "commands allowed to run at once"}),
                declare(prop::timeout_ms,
                        {.default_value = "10000", .min = 1, .max = 3600000, .doc = "kill a command after this long"}),
            },
        .counters =
            {
                declare(counter::started, "commands started"),
                declare(counter::succeeded, "commands that exited 0"),
                declare(counter::failed, "commands that exited non-zero, were killed, or could not start"),
                declare(counter::skipped_busy, "requests not run because max_running commands were running"),
            },
        .factory = construct<ExecHook>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
