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
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    thread_ = std::thread([this, fd, on_readable = std::move(on_readable)] {
        pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        while (!stop_.load()) {
            const int n = ::poll(fds, 2, 500);
            if (n < 0 && errno != EINTR) break;
            if (n > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP))) on_readable();
        }
    });
}

void FdReader::stop()
{
    stop_.store(true);
    if (wake_fd_ >= 0) {
        const uint64_t one = 1;
        (void)!::write(wake_fd_, &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();
    if (wake_fd_ >= 0) ::close(wake_fd_);
    wake_fd_ = -1;
}

} // namespace colo
