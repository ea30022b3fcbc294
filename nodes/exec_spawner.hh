// ExecSpawner: a helper process that starts the exec node's commands. It is
// forked when the node starts, before `colo-graph run` installs its sandbox
// (tools/cli/sandbox.hh), so the commands run outside the syscall filter (a
// hook may be any program, and under a filter written for colo-graph most
// could not even start) and the sandboxed process never calls fork or
// execve. The helper runs nothing but the argv the graph file names: a
// request carries only the event's three fields, so a graph process taken
// over by a crafted packet can at most start that command with odd text.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace colo {

class ExecSpawner {
public:
    struct Result {
        enum class Kind : uint8_t {
            started,      // the command runs
            cannot_start, // value: errno of posix_spawnp
            exited,       // value: the wait status
            timed_out,    // killed after the timeout
        };
        Kind kind;
        int value;
    };

    // Forks the helper. Throws std::system_error if it cannot.
    ExecSpawner(std::vector<std::string> argv, uint64_t timeout_ms);
    // Closes the link; the helper lets running commands end (the timeout
    // still applies) and exits, and is reaped here.
    ~ExecSpawner();
    ExecSpawner(const ExecSpawner&) = delete;
    ExecSpawner& operator=(const ExecSpawner&) = delete;

    // Asks for one run with COLO_EVENT, COLO_REASON and COLO_FLOW set.
    // False if the helper is gone.
    bool request(const std::string& event, const std::string& reason, const std::string& flow);
    // The results that have arrived, or with `wait` at least one (for a
    // request made). Empty with `wait` only when the helper is gone.
    std::vector<Result> results(bool wait);

private:
    int fd_ = -1;
    pid_t pid_ = -1;
};

} // namespace colo
