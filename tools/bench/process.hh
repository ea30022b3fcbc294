// Child processes of the benchmark (the servers under test, perf) and what
// /proc says about them.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace colo::bench {

// Starts argv[0] (looked up in PATH) with stdout and stderr appended to
// `log_path`; the child gets SIGTERM if the benchmark dies. Throws on failure.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path);

struct Stopped {
    int status = 0;        // the wait status
    bool forced = false;   // still running after the grace: stop_process() SIGKILLed it
    bool unwaited = false; // waitpid() failed (not our child, or reaped elsewhere)
};

// Sends `signal`, waits up to `grace`, then SIGKILLs. Only for children
// started by spawn().
Stopped stop_process(pid_t pid, int signal, std::chrono::milliseconds grace);

// How a stopped process ended when that was not cleanly: "exit status 3",
// "killed by signal 11 (Segmentation fault)", "still running after the
// grace, killed", "not waited for". Empty for exit status 0 and for death by
// SIGTERM (what stop_process() sends a server).
std::string unclean_end(const Stopped& stopped);

// Waits for a child to exit; fills `usage` with its resource use.
int wait_process(pid_t pid, rusage& usage);

// utime + stime of every thread of `pid` so far (its CPU clock; /proc/PID/stat
// when that is refused).
double process_cpu_seconds(pid_t pid);

// A "Vm..." line of /proc/PID/status in KiB, e.g. "VmRSS" or "VmHWM".
uint64_t process_memory_kib(pid_t pid, const char* field);

// CPU time of the calling thread; of the whole calling process.
double thread_cpu_seconds();
double process_cpu_seconds();

// The first line a command prints (versions for the report); empty on failure.
std::string first_output_line(const std::string& shell_command);

double monotonic_seconds();

} // namespace colo::bench
