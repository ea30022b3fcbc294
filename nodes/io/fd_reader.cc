#include "nodes/io/fd_reader.hh"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace colo {

void FdReader::start(int fd, Handler on_readable)
{
    if (thread_.joinable()) throw std::logic_error("FdReader::start() called twice");
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    thread_ = std::thread([this, fd, on_readable = std::move(on_readable)] {
        pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        for (;;) {
            const int n = ::poll(fds, 2, -1); // pause() wakes it through wake_fd_
            if (n < 0 && errno != EINTR) break;
            if (paused_.load(std::memory_order_acquire)) break;
            if (n > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP))) on_readable();
        }
    });
}

void FdReader::pause()
{
    paused_.store(true, std::memory_order_release);
    if (wake_fd_ >= 0) {
        const uint64_t one = 1;
        (void)!::write(wake_fd_, &one, sizeof one);
    }
}

void FdReader::stop()
{
    pause();
    if (thread_.joinable()) thread_.join();
    if (wake_fd_ >= 0) ::close(wake_fd_);
    wake_fd_ = -1;
}

} // namespace colo
