#include "tools/cli/sandbox.hh"

#include <seccomp.h>

#include <dirent.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace colo::sandbox {

namespace {

// ------------------------------------------------------------ the allow-list

// What a started graph calls, collected with `strace -f` over the test suite's
// graphs (replays, sockets, TAPs, live captures, QMP, heartbeat, exec, the
// control socket and /metrics, systemd's notify socket, SIGTERM) and sorted
// by purpose. socket, clone, clone3 and tgkill have argument rules below.
// clang-format off
constexpr const char* kAllowed[] = {
    // Memory: malloc and oneTBB's allocator, thread stacks and their guards.
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
    // Threads: oneTBB's workers and the nodes' threads starting, waiting for
    // each other and ending (clone is restricted to threads below).
    "futex", "set_robust_list", "get_robust_list", "rseq", "sched_yield", "sched_getaffinity",
    "sched_setaffinity", "exit", "exit_group", "gettid", "getpid", "getppid", "membarrier",
    // The exec node's helper process (forked before the filter) reaped when
    // the node finishes: wait4 acts on the process's own children only.
    "wait4",
    // Time: the graph's clock, timeouts, pacing.
    "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
    // Descriptors already open (devices, sockets, files, pipes): I/O and
    // waiting for it, in every flavour glibc, libpcap and libsystemd use.
    "read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close", "fcntl", "dup",
    "dup2", "dup3", "poll", "ppoll", "select", "pselect6", "epoll_create1", "epoll_ctl",
    "epoll_wait", "epoll_pwait", "eventfd2", "pipe2", "fsync", "fdatasync", "ftruncate", "ioctl",
    // Files opened while running: `ctl trace --out`, event logs and dumps
    // reopened after a failure, oneTBB's optional libraries looked for when
    // its workers first start; the control socket removed at exit.
    "openat", "newfstatat", "fstat", "statx", "access", "faccessat", "faccessat2", "readlink",
    "readlinkat", "getdents64", "unlink", "unlinkat", "fchmod", "umask", "getcwd",
    // Sockets: endpoints reconnecting and accepting (chardev sockets, QMP,
    // notify, heartbeat, the control socket, /metrics, sd_notify).
    "connect", "accept", "accept4", "bind", "listen", "shutdown", "getsockname", "getpeername",
    "setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
    "socketpair",
    // Signals: SIGINT/SIGTERM/SIGUSR1 to the watcher thread, which main wakes
    // with SIGUSR2; glibc's restart after a handler.
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "rt_sigpending",
    "sigaltstack", "restart_syscall",
    // Process facts glibc and the libraries read: ids, limits, randomness
    // (hash seeds, TLS), --stats' peak RSS, a terminal for the progress bar.
    "getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid", "prlimit64",
    "getrlimit", "getrusage", "getrandom", "uname", "sysinfo", "prctl", "capget",
};
// clang-format on

void must(int rc, const char* what)
{
    if (rc < 0) throw std::runtime_error(std::string("seccomp rule for ") + what + ": " + std::strerror(-rc));
}

// Thread creation only: no fork, no new process (`any_clone`: a sanitizer's
// tracer). glibc 2.36's pthread_create tries clone3 first, whose flags live
// in memory a filter cannot read, so clone3 fails with ENOSYS and glibc falls
// back to clone.
void add_argument_rules(scmp_filter_ctx ctx, bool any_clone)
{
    if (any_clone) must(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 0), "clone");
    else
        must(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)),
             "clone");
    must(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), "clone3");
    // Sockets of the families the nodes and endpoints use: no raw or packet
    // sockets (a live capture's socket is opened before the sandbox).
    for (int family : {AF_UNIX, AF_INET, AF_INET6})
        must(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, scmp_datum_t(family))),
             "socket");
    // Signals to this process's own threads only (pthread_kill, raise, abort).
    must(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, scmp_datum_t(getpid()))),
         "tgkill");
}

// Sanitizer runtimes (tools/test-hardening.sh) make calls of their own: the
// leak check at exit stops the world with a tracer (clone without
// CLONE_THREAD, ptrace, kill) that lists /proc/self/task with the old open
// and getdents (seen in the kernel's audit log with SCMP_ACT_LOG); a report's
// stack trace starts a symbolizer (pipe, vfork, execve, wait4).
constexpr const char* kSanitizerAllowed[] = {"ptrace", "kill",  "tkill",  "open",   "getdents",
                                             "pipe",   "vfork", "execve", "waitid", "sched_getparam"};

// ------------------------------------------------------------ refusals

// The handler may only make async-signal-safe calls, so the names are looked
// up before the filter is installed.
constexpr int kMaxSyscall = 512;
std::array<std::array<char, 32>, kMaxSyscall> g_names{};

void append(char*& at, const char* end, const char* text)
{
    while (*text && at < end) *at++ = *text++;
}

void on_refused(int, siginfo_t* info, void*)
{
    const int nr = info->si_syscall;
    char line[160];
    char* at = line;
    const char* end = line + sizeof line - 1;
    char digits[12];
    int n = 0;
    for (unsigned v = unsigned(nr); n == 0 || v; v /= 10) digits[n++] = char('0' + v % 10);
    append(at, end, "colo-graph: sandbox: syscall ");
    while (n && at < end) *at++ = digits[--n];
    append(at, end, " (");
    append(at, end, nr >= 0 && nr < kMaxSyscall && g_names[nr][0] ? g_names[nr].data() : "unknown");
    append(at, end, ") refused; run with --sandbox off to allow it, and report it\n");
    [[maybe_unused]] const auto w = ::write(STDERR_FILENO, line, std::size_t(at - line));
    _exit(EX_SOFTWARE);
}

void name_syscalls()
{
    for (int nr = 0; nr < kMaxSyscall; ++nr) {
        std::unique_ptr<char, decltype(&std::free)> name(seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr),
                                                         &std::free);
        if (name) std::strncpy(g_names[nr].data(), name.get(), g_names[nr].size() - 1);
    }
}

// ------------------------------------------------------------ capabilities

std::atomic<int> g_capset_errno{0};
std::atomic<int> g_answered{0};

// Async-signal-safe: libcap's cap_set_proc allocates, so capset is called
// directly.
void drop_own_capabilities()
{
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capset, &header, data) != 0) g_capset_errno.store(errno);
}

void on_drop_request(int)
{
    const int saved = errno;
    drop_own_capabilities();
    g_answered.fetch_add(1);
    errno = saved;
}

std::vector<pid_t> threads()
{
    std::vector<pid_t> tids;
    DIR* dir = ::opendir("/proc/self/task");
    if (!dir) throw std::runtime_error(std::string("/proc/self/task: ") + std::strerror(errno));
    while (const dirent* e = ::readdir(dir))
        if (e->d_name[0] != '.') tids.push_back(pid_t(std::atoi(e->d_name)));
    ::closedir(dir);
    return tids;
}

bool thread_exists(pid_t tid)
{
    return ::access(("/proc/self/task/" + std::to_string(tid)).c_str(), F_OK) == 0;
}

// A field of a thread's /proc status ("" if the thread has gone).
std::string status_field(pid_t tid, const std::string& name)
{
    std::ifstream status("/proc/self/task/" + std::to_string(tid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind(name + ":", 0) == 0) return line.substr(line.find_first_not_of(" \t", name.size() + 1));
    return "";
}

bool blocks_signal(pid_t tid, int sig)
{
    const std::string mask = status_field(tid, "SigBlk");
    return !mask.empty() && (std::stoull(mask, nullptr, 16) >> (sig - 1) & 1);
}

} // namespace

// Every thread answers a signal by dropping its own capabilities (libcap's
// libpsx does the same, but knows only threads made through its wrapped
// pthread_create, which oneTBB's are not). Threads made meanwhile by a thread
// that had not answered yet are found on the next pass.
void drop_capabilities()
{
    const int request = SIGRTMIN + 3;
    struct sigaction ask {};
    ask.sa_handler = on_drop_request;
    sigemptyset(&ask.sa_mask);
    ask.sa_flags = SA_RESTART;
    if (::sigaction(request, &ask, nullptr) != 0)
        throw std::runtime_error(std::string("capabilities: sigaction: ") + std::strerror(errno));
    g_capset_errno = 0;
    g_answered = 0;
    drop_own_capabilities();
    std::set<pid_t> asked{pid_t(::gettid())};
    int expected = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (bool fresh = true; fresh;) {
        fresh = false;
        std::vector<pid_t> waiting;
        for (pid_t tid : threads()) {
            if (!asked.insert(tid).second) continue;
            fresh = true;
            if (::syscall(SYS_tgkill, ::getpid(), tid, request) == 0) {
                ++expected;
                waiting.push_back(tid);
            }
        }
        // A thread that ends before its handler ran never answers.
        while (g_answered.load() < expected && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            int gone = 0;
            // (A thread blocks every signal while glibc starts it, and then
            // answers; a sanitizer runtime's own thread never does.)
            for (pid_t tid : waiting) gone += !thread_exists(tid) || (kSanitizerBuild && blocks_signal(tid, request));
            if (g_answered.load() + gone >= expected) break;
        }
    }
    // Ignored from now on, not restored: a request still pending at a thread
    // that had it blocked must not end the process (an RT signal's default).
    ask.sa_handler = SIG_IGN;
    ::sigaction(request, &ask, nullptr);
    if (int err = g_capset_errno.load()) throw std::runtime_error(std::string("capset: ") + std::strerror(err));
    // Trust, but verify: a thread that blocks the signal kept its sets. A
    // sanitizer's runtime has such a thread of its own (TSan's background
    // thread), which runs none of colo-graph's code.
    for (pid_t tid : threads()) {
        if (kSanitizerBuild && blocks_signal(tid, request)) continue;
        for (const char* set : {"CapEff", "CapPrm", "CapInh"}) {
            const std::string caps = status_field(tid, set);
            if (!caps.empty() && caps != "0000000000000000")
                throw std::runtime_error("thread " + std::to_string(tid) + " kept capabilities (" + set + " " + caps +
                                         ")");
        }
    }
}

void install_syscall_filter()
{
    name_syscalls();
    struct sigaction refuse {};
    refuse.sa_sigaction = on_refused;
    sigemptyset(&refuse.sa_mask);
    refuse.sa_flags = SA_SIGINFO;
    if (::sigaction(SIGSYS, &refuse, nullptr) != 0)
        throw std::runtime_error(std::string("seccomp: sigaction(SIGSYS): ") + std::strerror(errno));

    std::unique_ptr<void, decltype(&seccomp_release)> ctx(seccomp_init(SCMP_ACT_TRAP), &seccomp_release);
    if (!ctx) throw std::runtime_error("seccomp_init failed");
    // Every thread, not only the caller (they all parse packets).
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1); rc < 0)
        throw std::runtime_error(std::string("seccomp: thread synchronisation: ") + std::strerror(-rc));
    auto allow = [&](const char* name) {
        const int nr = seccomp_syscall_resolve_name(name);
        if (nr != __NR_SCMP_ERROR)
            must(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0), name); // else not on this arch
    };
    for (const char* name : kAllowed) allow(name);
    if (kSanitizerBuild)
        for (const char* name : kSanitizerAllowed) allow(name);
    add_argument_rules(ctx.get(), kSanitizerBuild);
    if (int rc = seccomp_load(ctx.get()); rc != 0)
        throw std::runtime_error(std::string("seccomp: loading the filter: ") +
                                 (rc > 0 ? "thread " + std::to_string(rc) + " could not take it" : std::strerror(-rc)));
}

} // namespace colo::sandbox
