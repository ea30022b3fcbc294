#include "nodes/exec.hh"

#include "engine/registry.hh"

#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

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

uint64_t steady_now()
{
    return uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}
} // namespace

ExecHook::ExecHook(const Properties& p)
    : argv_(p.get(prop::command)),
      max_running_(std::size_t(p.get(prop::max_running))),
      timeout_ns_(uint64_t(p.get(prop::timeout_ms)) * 1'000'000)
{
    if (argv_.empty() || argv_[0].empty()) throw std::runtime_error("'command' needs at least a program name");
}

void ExecHook::push(int, const Batch& batch, Emit&)
{
    reap();
    for (const auto& p : batch.packets) {
        const std::string_view json = packet_text(p);
        auto request = parse_checkpoint_request(json);
        if (!request && message_field(json, "event") == "secondary_lost") // degraded mode: the frame may act
            request = CheckpointRequestFields{message_field(json, "reason"), ""};
        if (!request) continue;
        if (running_.size() >= max_running_) {
            count(counter::skipped_busy);
            continue;
        }
        spawn(std::string(json), *request);
    }
}

void ExecHook::spawn(const std::string& json, const CheckpointRequestFields& request)
{
    std::vector<std::string> env_store = {"COLO_EVENT=" + json, "COLO_REASON=" + request.reason,
                                          "COLO_FLOW=" + request.flow};
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "COLO_", 5) != 0) envp.push_back(*e);
    for (auto& s : env_store) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (auto& a : argv_) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data());
    if (rc != 0) {
        count(counter::failed);
        log(argv_[0] + ": cannot start: " + std::strerror(rc));
        return;
    }
    count(counter::started);
    running_.push_back({pid, steady_now() + timeout_ns_});
}

void ExecHook::reap()
{
    const uint64_t now = steady_now();
    for (auto it = running_.begin(); it != running_.end();) {
        int status = 0;
        pid_t r = waitpid(it->pid, &status, WNOHANG);
        if (r == 0 && now >= it->deadline_ns) {
            kill(it->pid, SIGKILL);
            r = waitpid(it->pid, &status, 0);
            log(argv_[0] + ": killed after timeout");
        }
        if (r == 0) {
            ++it;
            continue;
        }
        count(r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? counter::succeeded : counter::failed);
        it = running_.erase(it);
    }
}

void ExecHook::finish()
{
    // Give running hooks their timeout to finish; they may be asking for a checkpoint.
    while (!running_.empty()) {
        reap();
        if (!running_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
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
