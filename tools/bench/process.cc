#include "tools/bench/process.hh"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace colo::bench {

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path)
{
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) throw std::runtime_error("cannot open " + log_path);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) _exit(127); // the parent died before prctl
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        ::dup2(log, 1);
        ::dup2(log, 2);
        ::execvp(args[0], args.data());
        _exit(127);
    }
    ::close(log);
    if (pid < 0) throw std::runtime_error("fork failed");
    return pid;
}

Stopped stop_process(pid_t pid, int signal, std::chrono::milliseconds grace)
{
    ::kill(pid, signal);
    Stopped s;
    const auto deadline = std::chrono::steady_clock::now() + grace;
    for (;;) {
        const pid_t r = ::waitpid(pid, &s.status, WNOHANG);
        if (r == pid) return s;
        if (r < 0 && errno != EINTR) {
            s.unwaited = true;
            return s;
        }
        if (r == 0 && std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            s.forced = true;
            while (::waitpid(pid, &s.status, 0) < 0 && errno == EINTR) {}
            return s;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::string unclean_end(const Stopped& stopped)
{
    if (stopped.unwaited) return "not waited for";
    if (stopped.forced) return "still running after the grace, killed";
    const int status = stopped.status;
    if (WIFEXITED(status)) return WEXITSTATUS(status) == 0 ? "" : "exit status " + std::to_string(WEXITSTATUS(status));
    if (!WIFSIGNALED(status) || WTERMSIG(status) == SIGTERM) return "";
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) + ")" +
           (WCOREDUMP(status) ? ", core dumped" : "");
}

int wait_process(pid_t pid, rusage& usage)
{
    int status = 0;
    ::wait4(pid, &status, 0, &usage);
    return status;
}

double process_cpu_seconds(pid_t pid)
{
    // The process's CPU clock counts in nanoseconds; /proc/PID/stat in ticks
    // of 10 ms, too coarse for a server that needs 20 ms for a whole run.
    clockid_t clock;
    timespec ts;
    if (::clock_getcpuclockid(pid, &clock) == 0 && ::clock_gettime(clock, &ts) == 0)
        return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream fields(text.substr(paren + 2));
    std::string field;
    unsigned long utime = 0, stime = 0;
    // After the command: state is field 3; utime and stime are fields 14 and 15.
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::stoul(field);
        if (i == 15) stime = std::stoul(field);
    }
    return double(utime + stime) / double(::sysconf(_SC_CLK_TCK));
}

uint64_t process_memory_kib(pid_t pid, const char* field)
{
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    const std::string prefix = std::string(field) + ":";
    for (std::string line; std::getline(f, line);)
        if (line.rfind(prefix, 0) == 0) return std::stoull(line.substr(prefix.size()));
    return 0;
}

namespace {

double rusage_seconds(int who)
{
    rusage u{};
    ::getrusage(who, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

} // namespace

double thread_cpu_seconds()
{
    return rusage_seconds(RUSAGE_THREAD);
}
double process_cpu_seconds()
{
    return rusage_seconds(RUSAGE_SELF);
}

std::string first_output_line(const std::string& shell_command)
{
    FILE* p = ::popen(shell_command.c_str(), "r");
    if (!p) return {};
    char buf[512] = {};
    std::string line = std::fgets(buf, sizeof buf, p) ? buf : "";
    ::pclose(p);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return line;
}

double monotonic_seconds()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace colo::bench
