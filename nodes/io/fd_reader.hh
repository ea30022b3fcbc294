// A thread that waits for a file descriptor to become readable and calls a
// handler, until pause() or stop(). Device nodes (tap, pcap-live) read on it.
//
// A thread per device, not the sockets' shared IoLoop: on the e2e bench, whose
// two hosts share two CPUs, one loop a process took 9-14 % less CPU per GB but
// made the request/response median 14-25 % slower; pinned to a CPU each, the
// two did alike (docs/performance.md).
#pragma once

#include <atomic>
#include <functional>
#include <thread>

namespace colo {

class FdReader {
public:
    // Called on the reader thread each time `fd` is readable; it should read
    // until the descriptor would block (or a batch is full).
    using Handler = std::function<void()>;

    FdReader() = default;
    ~FdReader() { stop(); }
    FdReader(const FdReader&) = delete;
    FdReader& operator=(const FdReader&) = delete;

    void start(int fd, Handler on_readable);
    // The handler is not called again once the call under way (if any)
    // returns. From any thread, the reader's own included (a node's drain
    // may run there), but not while stop() runs.
    void pause();
    // pause(), and the thread has ended when it returns. Not from the reader
    // thread.
    void stop();

private:
    int wake_fd_ = -1;
    std::atomic<bool> paused_{false};
    std::thread thread_;
};

} // namespace colo
