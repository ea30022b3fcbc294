// Calls a handler each time a file descriptor is readable, on the process's
// I/O thread (IoLoop::shared()), the one the stream endpoints use. Device
// nodes (tap, pcap-live) read on it, so that a COLO host's devices and its
// socket wake one thread that finds every ready descriptor in one poll,
// rather than a thread per descriptor that wake each other through the graph:
// a quarter of the context switches, and a faster download through the pair
// at the same request latency, with each host's proxy on a CPU of its own
// (docs/performance.md). Two proxies floating over the same CPUs are slower
// per request this way: the one just woken preempts the other's only thread.
#pragma once

#include "nodes/io/io_loop.hh"

#include <atomic>
#include <functional>
#include <memory>

namespace colo {

class FdReader : private IoLoop::Client {
public:
    // Called on the I/O thread each time `fd` is readable; it should read
    // until the descriptor would block or a batch is full, and not block
    // for long: every other descriptor of the process waits meanwhile.
    using Handler = std::function<void()>;

    FdReader() = default;
    ~FdReader() override { stop(); }
    FdReader(const FdReader&) = delete;
    FdReader& operator=(const FdReader&) = delete;

    void start(int fd, Handler on_readable);
    // The handler is not called again once the call to it under way (if
    // any) returns. From any thread, the handler's own included.
    void pause() { paused_.store(true, std::memory_order_release); }
    // pause(), and the loop lets go of the reader: after it returns nothing
    // touches it. Not from the I/O thread (the handler).
    void stop();

private:
    std::size_t prepare(std::span<pollfd, kMaxFds> fds) override;
    int timeout_ms() const override { return -1; }
    void dispatch(std::span<const pollfd> fds) override;

    int fd_ = -1;
    Handler on_readable_;
    std::atomic<bool> paused_{false};
    std::shared_ptr<IoLoop> loop_; // set while started
};

} // namespace colo
