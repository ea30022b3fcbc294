#include "nodes/exec_spawner.hh"

#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <system_error>

extern char** environ;

namespace colo {

namespace {

// Big enough for any event the nodes emit (a few hundred bytes); a bigger
// request is refused with EMSGSIZE rather than cut.
constexpr std::size_t kMaxRequest = 64 * 1024;

uint64_t steady_ms()
{
    using namespace std::chrono;
    return uint64_t(duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

void reply(int fd, ExecSpawner::Result::Kind kind, int value)
{
    const ExecSpawner::Result r{kind, value};
    [[maybe_unused]] const auto n = ::send(fd, &r, sizeof r, MSG_NOSIGNAL); // the node may be gone
}

// The helper's side. It is a fork of a process with threads, so it uses no
// lock another thread may have held: no stdio, no iostreams; glibc's malloc
// is reset for the child by fork itself.
class Helper {
public:
    Helper(int fd, std::vector<std::string> argv, uint64_t timeout_ms)
        : fd_(fd), argv_(std::move(argv)), timeout_ms_(timeout_ms)
    {}

    [[noreturn]] void run()
    {
        bool open = true;
        while (open || !running_.empty()) {
            pollfd p{fd_, POLLIN, 0};
            const int ready = ::poll(&p, open ? 1 : 0, running_.empty() ? -1 : 10);
            if (ready > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) open = read_request();
            reap();
        }
        _exit(0);
    }

private:
    struct Child {
        pid_t pid;
        uint64_t deadline_ms;
    };

    // False once the node has closed its end.
    bool read_request()
    {
        std::vector<char> buf(kMaxRequest + 1);
        const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
        if (n < 0) return errno == EINTR || errno == EAGAIN;
        if (n == 0) return false;
        if (std::size_t(n) > kMaxRequest) {
            reply(fd_, ExecSpawner::Result::Kind::cannot_start, EMSGSIZE);
            return true;
        }
        // event NUL reason NUL flow
        std::vector<std::string> fields(1);
        for (ssize_t i = 0; i < n; ++i) {
            if (buf[i] == '\0') fields.emplace_back();
            else fields.back() += buf[i];
        }
        if (fields.size() != 3) {
            reply(fd_, ExecSpawner::Result::Kind::cannot_start, EINVAL);
            return true;
        }
        spawn(fields);
        return true;
    }

    void spawn(const std::vector<std::string>& fields)
    {
        std::vector<std::string> own = {"COLO_EVENT=" + fields[0], "COLO_REASON=" + fields[1],
                                        "COLO_FLOW=" + fields[2]};
        std::vector<char*> envp;
        for (char** e = environ; *e; ++e)
            if (std::strncmp(*e, "COLO_", 5) != 0) envp.push_back(*e);
        for (auto& s : own) envp.push_back(s.data());
        envp.push_back(nullptr);
        std::vector<char*> argv;
        for (auto& a : argv_) argv.push_back(a.data());
        argv.push_back(nullptr);
        // The command starts with no signal blocked or ignored, whatever
        // colo-graph's threads had blocked for its signal watcher.
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        pid_t pid = 0;
        const int rc = posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), envp.data());
        posix_spawnattr_destroy(&attr);
        if (rc != 0) {
            reply(fd_, ExecSpawner::Result::Kind::cannot_start, rc);
            return;
        }
        running_.push_back({pid, steady_ms() + timeout_ms_});
        reply(fd_, ExecSpawner::Result::Kind::started, 0);
    }

    void reap()
    {
        const uint64_t now = steady_ms();
        for (auto it = running_.begin(); it != running_.end();) {
            int status = 0;
            pid_t r = ::waitpid(it->pid, &status, WNOHANG);
            if (r == 0 && now >= it->deadline_ms) {
                ::kill(it->pid, SIGKILL);
                ::waitpid(it->pid, &status, 0);
                reply(fd_, ExecSpawner::Result::Kind::timed_out, 0);
                it = running_.erase(it);
                continue;
            }
            if (r == 0) {
                ++it;
                continue;
            }
            reply(fd_, ExecSpawner::Result::Kind::exited, r > 0 ? status : -1);
            it = running_.erase(it);
        }
    }

    int fd_;
    std::vector<std::string> argv_;
    uint64_t timeout_ms_;
    std::vector<Child> running_;
};

} // namespace

ExecSpawner::ExecSpawner(std::vector<std::string> argv, uint64_t timeout_ms)
{
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
        throw std::system_error(errno, std::generic_category(), "exec helper: socketpair");
    Helper helper(fds[1], std::move(argv), timeout_ms); // built before fork: the child only runs it
    pid_ = ::fork();
    if (pid_ < 0) {
        const int err = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        throw std::system_error(err, std::generic_category(), "exec helper: fork");
    }
    if (pid_ == 0) {
        // Nothing of the graph's (devices, sockets, files) reaches the commands;
        // Ctrl-C on a terminal is for colo-graph, which ends the helper by
        // closing the link once its running commands are waited for.
        if (fds[1] > 3) ::close_range(3, unsigned(fds[1]) - 1, 0);
        ::close_range(unsigned(fds[1]) + 1, ~0U, 0);
        ::signal(SIGINT, SIG_IGN);
        ::signal(SIGTERM, SIG_IGN);
        ::signal(SIGHUP, SIG_IGN);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::prctl(PR_SET_NAME, "colo-graph-exec");
        helper.run();
    }
    ::close(fds[1]);
    fd_ = fds[0];
}

ExecSpawner::~ExecSpawner()
{
    ::close(fd_);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
}

bool ExecSpawner::request(const std::string& event, const std::string& reason, const std::string& flow)
{
    std::string message = event;
    message += '\0';
    message += reason;
    message += '\0';
    message += flow;
    return ::send(fd_, message.data(), message.size(), MSG_NOSIGNAL) == ssize_t(message.size());
}

std::vector<ExecSpawner::Result> ExecSpawner::results(bool wait)
{
    std::vector<Result> out;
    for (;;) {
        Result r{};
        const ssize_t n = ::recv(fd_, &r, sizeof r, wait && out.empty() ? 0 : MSG_DONTWAIT);
        if (n == ssize_t(sizeof r)) out.push_back(r);
        else if (n < 0 && errno == EINTR) continue;
        else break; // EAGAIN: nothing more now; 0: the helper is gone
    }
    return out;
}

} // namespace colo
