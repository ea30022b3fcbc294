// The sandbox of `colo-graph run` (issue #18; QEMU's `-sandbox on`): once
// every node has started, the process gives up every capability and
// installs a seccomp allow-list of the system calls a running graph makes
// (docs/reliability.md, Security). A syscall outside the list stops the
// process with a line naming it.
#pragma once

namespace colo::sandbox {

// A sanitizer's runtime needs calls of its own (its leak check at exit
// ptraces the process from a forked tracer; a report runs a symbolizer), so
// in ASan and TSan builds the filter also allows clone for processes, ptrace,
// execve and a few more (tools/cli/sandbox.cc, kSanitizerAllowed).
// ThreadSanitizer's runtime also keeps a thread of its own that blocks every
// signal (tests/cli/test_sandbox.cc says what that means for the sandbox).
// GCC says __SANITIZE_*__, clang __has_feature().
#if defined(__has_feature)
#define COLO_SANDBOX_HAS_FEATURE(x) __has_feature(x)
#else
#define COLO_SANDBOX_HAS_FEATURE(x) 0
#endif
#if defined(__SANITIZE_THREAD__) || COLO_SANDBOX_HAS_FEATURE(thread_sanitizer)
constexpr bool kThreadSanitizerBuild = true;
#else
constexpr bool kThreadSanitizerBuild = false;
#endif
#if defined(__SANITIZE_ADDRESS__) || COLO_SANDBOX_HAS_FEATURE(address_sanitizer)
constexpr bool kAddressSanitizerBuild = true;
#else
constexpr bool kAddressSanitizerBuild = false;
#endif
#undef COLO_SANDBOX_HAS_FEATURE
constexpr bool kSanitizerBuild = kAddressSanitizerBuild || kThreadSanitizerBuild;

// Empties the effective, permitted and inheritable capability sets of every
// thread of the process (a capability set belongs to a thread, and the
// process has many by now). Throws std::runtime_error with the reason.
void drop_capabilities();

// Installs the allow-list on every thread (and sets no_new_privs, which
// seccomp requires of a process without CAP_SYS_ADMIN). From then on a
// syscall outside it writes "colo-graph: sandbox: syscall N (NAME) refused"
// to standard error and exits with EX_SOFTWARE. Throws std::runtime_error.
void install_syscall_filter();

// Both, capabilities first: what `run --sandbox on` does after start-up.
inline void enter()
{
    drop_capabilities();
    install_syscall_filter();
}

} // namespace colo::sandbox
