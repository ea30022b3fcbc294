// A thread that waits for a file descriptor to become readable and calls a
// handler, until stop(). Device nodes (tap, pcap-live) read on it.
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
    void stop();
    bool stopping() const { return stop_.load(); }

private:
    int wake_fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace colo
