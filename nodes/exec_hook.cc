#include "nodes/exec_hook.hh"

#include "engine/registry.hh"
#include "nodes/proto/event_json.hh"

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

namespace counter { enum { started, succeeded, failed, skipped_busy }; }

namespace {
uint64_t steady_now()
{
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}
} // namespace

ExecHook::ExecHook(const Properties& p)
    : argv_(p.list("command")), max_running_(std::size_t(p.integer("max_running"))),
      timeout_ns_(uint64_t(p.integer("timeout_ms")) * 1'000'000)
{
    if (argv_.empty() || argv_[0].empty()) throw std::runtime_error("'command' needs at least a program name");
}

void ExecHook::push(int, const Batch& batch, Emit&)
{
    reap();
    for (const auto& p : batch.packets) {
        const std::string_view json = packet_text(p);
        if (json_string_field(json, "event") != "checkpoint_request") continue;
        if (running_.size() >= max_running_) { count(counter::skipped_busy); continue; }
        spawn(std::string(json));
    }
}

void ExecHook::spawn(const std::string& json)
{
    std::vector<std::string> env_store = {"COLO_EVENT=" + json, "COLO_REASON=" + json_string_field(json, "reason"),
                                          "COLO_FLOW=" + json_string_field(json, "flow")};
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
        if (injector_) injector_->log(argv_[0] + ": cannot start: " + std::strerror(rc));
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
            if (injector_) injector_->log(argv_[0] + ": killed after timeout");
        }
        if (r == 0) { ++it; continue; }
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

COLO_REGISTER_NODE(exec_hook_spec());

} // namespace colo
