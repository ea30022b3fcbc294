#include "nodes/io/fd_reader.hh"

#include <stdexcept>

namespace colo {

void FdReader::start(int fd, Handler on_readable)
{
    if (loop_) throw std::logic_error("FdReader::start() called twice");
    fd_ = fd;
    on_readable_ = std::move(on_readable);
    loop_ = IoLoop::shared();
    loop_->add(this);
}

void FdReader::stop()
{
    pause();
    if (!loop_) return;
    loop_->remove(this);
    loop_.reset();
}

std::size_t FdReader::prepare(std::span<pollfd, kMaxFds> fds)
{
    // A paused reader leaves the poll set, so that a descriptor it no
    // longer reads does not keep the loop spinning.
    if (paused_.load(std::memory_order_acquire)) return 0;
    fds[0] = {fd_, POLLIN, 0};
    return 1;
}

void FdReader::dispatch(std::span<const pollfd> fds)
{
    if (fds.empty() || !(fds[0].revents & (POLLIN | POLLERR | POLLHUP))) return;
    if (!paused_.load(std::memory_order_acquire)) on_readable_();
}

} // namespace colo
