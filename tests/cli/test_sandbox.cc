// The sandbox of `colo-graph run` (tools/cli/sandbox.hh): each case forks a
// child that enters the sandbox exactly as `run` does and then makes calls;
// the parent sees how it ended and what it wrote to standard error.
#include "tools/cli/sandbox.hh"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Ending {
    int exit_code = -1; // -1: killed by a signal
    std::string err;
};

// Runs `body` in a forked child whose standard error is captured; the child
// exits 0 if `body` returns true, 1 if false.
Ending in_child(const std::function<bool()>& body)
{
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(pipe_fds[1], STDERR_FILENO);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        bool ok = false;
        try {
            ok = body();
        } catch (const std::exception& e) {
            const std::string text = std::string("exception: ") + e.what() + "\n";
            [[maybe_unused]] auto n = ::write(STDERR_FILENO, text.data(), text.size());
        }
        _exit(ok ? 0 : 1);
    }
    ::close(pipe_fds[1]);
    Ending end;
    char buf[512];
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) end.err.append(buf, std::size_t(n));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) end.exit_code = WEXITSTATUS(status);
    return end;
}

// The value of a "Name:\tvalue" line of /proc/<task>/status.
std::string status_field(const std::string& status_path, const std::string& name)
{
    std::ifstream in(status_path);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(name + ":", 0) == 0) return line.substr(line.find_first_not_of(" \t", name.size() + 1));
    return "";
}

constexpr const char* kNoCapabilities = "0000000000000000";

// ThreadSanitizer's runtime keeps a background thread that blocks every
// signal: it never drops its capabilities (the sandbox passes over it), and
// glibc's setuid() has every thread make the call first (the setxid
// broadcast), so there the trap comes on that thread and the kernel kills
// the process with SIGSYS before a handler can name the call. The main stage
// and the ASan stage run these cases.
using colo::sandbox::kThreadSanitizerBuild;

} // namespace

TEST_CASE("a forbidden syscall after entering the sandbox stops the process and names it", "[sandbox]")
{
    struct Forbidden {
        const char* name;
        std::function<void()> call;
        bool sanitizers_need_it; // allowed in sanitizer builds (sandbox.hh), or see kThreadSanitizerBuild
    };
    const std::vector<Forbidden> calls = {
        {"ptrace", [] { ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr); }, true},
        {"mount", [] { ::mount("none", "/mnt", "tmpfs", 0, nullptr); }, false},
        {"socket", [] { ::socket(AF_PACKET, SOCK_RAW, 0); }, false}, // packet sockets: only the families in use
        {"execve", [] { ::execl("/bin/true", "true", static_cast<char*>(nullptr)); }, true},
        {"clone", [] { ::fork(); }, true}, // threads only
        {"setuid", [] { [[maybe_unused]] int rc = ::setuid(0); }, kThreadSanitizerBuild},
        {"bpf", [] { ::syscall(SYS_bpf, 0, nullptr, 0); }, false},
    };
    for (const auto& f : calls) {
        if (f.sanitizers_need_it && colo::sandbox::kSanitizerBuild) continue;
        SECTION(f.name)
        {
            const Ending end = in_child([&] {
                colo::sandbox::enter();
                f.call();
                return true; // not reached: the call ends the process
            });
            INFO(end.err);
            CHECK(end.exit_code == EX_SOFTWARE);
            CHECK(end.err.find(std::string("colo-graph: sandbox: syscall ")) == 0);
            CHECK(end.err.find(std::string(" (") + f.name + ") refused") != std::string::npos);
        }
    }
}

TEST_CASE("inside the sandbox a graph's calls still work", "[sandbox]")
{
    char dir_template[] = "/tmp/colo-sandbox-XXXXXX";
    REQUIRE(::mkdtemp(dir_template));
    const std::string dir = dir_template;
    const Ending end = in_child([&] {
        colo::sandbox::enter();
        // A file opened while running (ctl trace --out), written and removed.
        const std::string file = dir + "/trace.pcapng";
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || ::write(fd, "x", 1) != 1 || ::close(fd) != 0 || ::unlink(file.c_str()) != 0) return false;
        // A TCP listener on loopback and a client connecting to it (endpoints reconnecting).
        const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (server < 0 || ::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(server, 1) != 0 || ::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            return false;
        const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (client < 0 || ::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
        const int accepted = ::accept4(server, nullptr, nullptr, SOCK_CLOEXEC);
        if (accepted < 0 || ::send(client, "ping", 4, MSG_NOSIGNAL) != 4) return false;
        char buf[4];
        if (::recv(accepted, buf, sizeof buf, 0) != 4) return false;
        if (::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0) return false; // QMP, the control socket
        // A thread (oneTBB's workers start late), the clock, randomness.
        bool ran = false;
        std::thread([&] { ran = true; }).join();
        timespec ts{};
        unsigned random = 0;
        return ran && ::clock_gettime(CLOCK_MONOTONIC, &ts) == 0 && ::getrandom(&random, sizeof random, 0) == 4;
    });
    ::rmdir(dir.c_str());
    INFO(end.err);
    CHECK(end.err.empty());
    CHECK(end.exit_code == 0);
}

TEST_CASE("entering the sandbox empties every thread's capabilities and filters every thread", "[sandbox]")
{
    if (kThreadSanitizerBuild) return; // its runtime's own thread keeps them (above)
    INFO("run as root (as CI does): the test needs capabilities to drop");
    REQUIRE(status_field("/proc/self/status", "CapEff") != kNoCapabilities);
    const Ending end = in_child([] {
        // Threads that exist before, as the I/O and endpoint threads do in `run`.
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
        std::vector<std::thread> threads;
        for (int i = 0; i < 3; ++i)
            threads.emplace_back([&] {
                std::unique_lock lock(mu);
                cv.wait(lock, [&] { return done; });
            });
        colo::sandbox::enter();
        // Every task of the process, as /proc shows it from inside.
        int tasks = 0;
        bool ok = true;
        DIR* dir = ::opendir("/proc/self/task");
        while (const dirent* e = dir ? ::readdir(dir) : nullptr) {
            if (e->d_name[0] == '.') continue;
            ++tasks;
            const std::string status = std::string("/proc/self/task/") + e->d_name + "/status";
            for (const char* field : {"CapEff", "CapPrm", "CapInh", "CapAmb"})
                if (status_field(status, field) != kNoCapabilities) {
                    std::fprintf(stderr, "task %s: %s %s\n", e->d_name, field, status_field(status, field).c_str());
                    ok = false;
                }
            if (status_field(status, "Seccomp") != "2" || status_field(status, "NoNewPrivs") != "1") {
                std::fprintf(stderr, "task %s: Seccomp %s NoNewPrivs %s\n", e->d_name,
                             status_field(status, "Seccomp").c_str(), status_field(status, "NoNewPrivs").c_str());
                ok = false;
            }
        }
        if (dir) ::closedir(dir);
        {
            std::lock_guard lock(mu);
            done = true;
        }
        cv.notify_all();
        for (auto& t : threads) t.join();
        return ok && tasks == 4;
    });
    INFO(end.err);
    CHECK(end.exit_code == 0);
}

TEST_CASE("a thread that cannot be asked to drop its capabilities stops the sandbox", "[sandbox]")
{
    if (colo::sandbox::kSanitizerBuild) return; // there such a thread is the runtime's own, passed over
    INFO("run as root (as CI does): the test needs capabilities to drop");
    REQUIRE(status_field("/proc/self/status", "CapEff") != kNoCapabilities);
    const Ending end = in_child([] {
        // A thread that blocks every signal, as oneTBB's workers do.
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
        std::thread deaf([&] {
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return done; });
        });
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        bool refused = false;
        try {
            colo::sandbox::drop_capabilities();
        } catch (const std::exception& e) {
            refused = std::string(e.what()).find("kept capabilities (CapEff ") != std::string::npos;
            std::fprintf(stderr, "%s\n", e.what());
        }
        {
            std::lock_guard lock(mu);
            done = true;
        }
        cv.notify_all();
        deaf.join();
        return refused;
    });
    INFO(end.err);
    CHECK(end.exit_code == 0);
    CHECK(end.err.find("thread ") == 0);
}
