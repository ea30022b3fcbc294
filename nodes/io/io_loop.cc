#include "nodes/io/io_loop.hh"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

namespace colo {

namespace {
// Set while this thread, a loop's, dispatches: the clients whose output waits.
thread_local std::vector<IoLoop::Client*>* deferring = nullptr;
thread_local bool holding = false; // an OutputHold of the dispatch asks for it
} // namespace

IoLoop::OutputHold::OutputHold(bool more_input_follows) : was_(holding)
{
    holding = more_input_follows;
}

IoLoop::OutputHold::~OutputHold()
{
    holding = was_;
}

bool IoLoop::defer_output(Client* client)
{
    if (!deferring || !holding) return false;
    if (std::find(deferring->begin(), deferring->end(), client) == deferring->end()) deferring->push_back(client);
    return true;
}

std::shared_ptr<IoLoop> IoLoop::shared()
{
    static std::mutex mu;
    static std::weak_ptr<IoLoop> current;
    std::lock_guard lock(mu);
    std::shared_ptr<IoLoop> loop = current.lock();
    if (!loop) {
        loop = std::make_shared<IoLoop>();
        current = loop;
    }
    return loop;
}

IoLoop::IoLoop()
{
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "I/O loop: eventfd");
    thread_ = std::thread([this] { run(); });
}

IoLoop::~IoLoop()
{
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake();
    thread_.join();
    ::close(wake_fd_);
}

void IoLoop::wake()
{
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one); // EAGAIN: already pending
}

void IoLoop::add(Client* client)
{
    {
        std::lock_guard lock(mu_);
        clients_.push_back(client);
    }
    wake(); // the next round includes it
}

void IoLoop::remove(Client* client)
{
    std::unique_lock lock(mu_);
    clients_.erase(std::remove(clients_.begin(), clients_.end(), client), clients_.end());
    if (!in_round_) return; // the next round's snapshot does not have it
    const uint64_t round = rounds_;
    wake();
    cv_.wait(lock, [&] { return rounds_ != round; });
}

void IoLoop::run()
{
    std::vector<Client*> round;
    std::vector<pollfd> fds;
    std::vector<std::size_t> first_fd; // per client of the round, its first entry in fds
    std::vector<Client*> deferred;     // clients whose output waits for the dispatch's end
    for (;;) {
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
            round = clients_;
            in_round_ = true;
        }
        fds.assign(1, pollfd{wake_fd_, POLLIN, 0});
        first_fd.clear();
        int timeout = -1;
        for (Client* c : round) {
            std::array<pollfd, Client::kMaxFds> mine{};
            const std::size_t n = c->prepare(mine);
            first_fd.push_back(fds.size());
            fds.insert(fds.end(), mine.begin(), mine.begin() + std::ptrdiff_t(n));
            const int t = c->timeout_ms();
            if (t >= 0 && (timeout < 0 || t < timeout)) timeout = t;
        }
        first_fd.push_back(fds.size());
        if (::poll(fds.data(), fds.size(), timeout) < 0) {
            for (pollfd& p : fds) p.revents = 0;
            if (errno != EINTR) { // only EFAULT, EINVAL, ENOMEM: say so, do not spin
                std::fprintf(stderr, "I/O loop: poll failed: %s\n", std::strerror(errno));
                ::usleep(10'000);
            }
        }
        if (fds[0].revents) {
            uint64_t count;
            [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
        }
        // A client removed during this round is skipped; remove() waits for
        // the round to end, so it cannot leave mid-dispatch.
        auto still_there = [&](Client* c) {
            std::lock_guard lock(mu_);
            return std::find(clients_.begin(), clients_.end(), c) != clients_.end();
        };
        for (std::size_t i = 0; i < round.size(); ++i) {
            if (!still_there(round[i])) continue;
            deferring = &deferred;
            round[i]->dispatch({fds.data() + first_fd[i], first_fd[i + 1] - first_fd[i]});
            deferring = nullptr;
            for (Client* c : deferred)
                if (still_there(c)) c->write_deferred();
            deferred.clear();
        }
        {
            std::lock_guard lock(mu_);
            in_round_ = false;
            ++rounds_;
        }
        cv_.notify_all();
    }
}

} // namespace colo
