#include "tools/cli/poll_server.hh"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace colo {

struct PollServer::Connection {
    uint64_t id;
    int fd;
    std::string peer;
    std::unique_ptr<Session> session;
    std::string in, out;
    bool closing = false; // close once `out` is written
    std::chrono::steady_clock::time_point request_started{};
    ~Connection() { ::close(fd); }
};

PollServer::PollServer(int listen_fd, std::string name, SessionFactory factory, Limits limits,
                       std::function<void(const std::string&)> log)
    : listen_fd_(listen_fd),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      name_(std::move(name)),
      factory_(std::move(factory)),
      limits_(limits),
      log_(std::move(log))
{
    fcntl(listen_fd_, F_SETFL, fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
    thread_ = std::thread([this] { run(); });
}

PollServer::~PollServer()
{
    stopping_.store(true);
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
    thread_.join();
    connections_.clear();
    ::close(wake_fd_);
    ::close(listen_fd_);
}

void PollServer::send_later(uint64_t id, std::string bytes, bool close_after)
{
    {
        std::lock_guard lock(later_mu_);
        later_.push_back({id, std::move(bytes), close_after});
    }
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
}

void PollServer::run()
{
    std::vector<pollfd> fds;
    std::vector<Connection*> order;
    while (!stopping_.load()) {
        // At the limit, new peers wait in the backlog until a connection ends:
        // a peer that just closed still counts until this round reads its end.
        const short accepting = connections_.size() < limits_.max_connections ? POLLIN : 0;
        fds.assign({{listen_fd_, accepting, 0}, {wake_fd_, POLLIN, 0}});
        order.clear();
        int timeout_ms = -1;
        const auto now = std::chrono::steady_clock::now();
        for (auto& [id, c] : connections_) {
            fds.push_back({c->fd, short((c->closing ? 0 : POLLIN) | (c->out.empty() ? 0 : POLLOUT)), 0});
            order.push_back(c.get());
            if (!c->in.empty()) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c->request_started +
                                                                                        limits_.request_timeout - now);
                const int ms = int(std::max<int64_t>(0, left.count()) + 1);
                timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
            }
        }
        if (poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
            log_(name_ + ": poll: " + std::strerror(errno));
            return;
        }
        if (fds[1].revents) {
            uint64_t n;
            (void)!read(wake_fd_, &n, sizeof n);
            std::vector<Later> later;
            {
                std::lock_guard lock(later_mu_);
                later.swap(later_);
            }
            for (auto& l : later)
                if (auto it = connections_.find(l.id); it != connections_.end()) {
                    it->second->out += l.bytes;
                    it->second->closing |= l.close_after;
                }
        }
        for (std::size_t i = 0; i < order.size(); ++i) serve(*order[i], fds[i + 2].revents);
        const auto after = std::chrono::steady_clock::now();
        for (auto it = connections_.begin(); it != connections_.end();) {
            Connection& c = *it->second;
            if (!c.in.empty() && after - c.request_started > limits_.request_timeout && !c.closing)
                drop(c, "request not completed within " + std::to_string(limits_.request_timeout.count()) + " ms");
            if (c.fd < 0 || (c.closing && c.out.empty())) {
                if (c.session) c.session->closed();
                it = connections_.erase(it);
            } else {
                ++it;
            }
        }
        if (fds[0].revents) accept_all();
    }
}

void PollServer::accept_all()
{
    while (connections_.size() < limits_.max_connections) {
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; // EAGAIN, or an error the next poll reports again
        auto c = std::make_unique<Connection>();
        c->id = next_id_++;
        c->fd = fd;
        c->peer = name_ + " client " + std::to_string(c->id);
        c->session = factory_(*this, c->id, c->peer);
        connections_.emplace(c->id, std::move(c));
    }
}

void PollServer::serve(Connection& c, short revents)
{
    if (c.fd < 0) return;
    if (revents & POLLOUT) {
        const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR) return drop(c, std::string("write: ") + std::strerror(errno));
        if (n > 0) c.out.erase(0, std::size_t(n));
    }
    if (!(revents & (POLLIN | POLLHUP | POLLERR)) || c.closing) return;
    char buf[16384];
    const ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n == 0 && !c.out.empty()) { // the peer is done sending: answer what it asked, then close
        c.closing = true;
        return;
    }
    if (n <= 0) { // the peer went away, mid-request perhaps: nothing to answer
        c.session->closed();
        c.session.reset();
        ::close(c.fd);
        c.fd = -1;
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (c.in.empty()) c.request_started = now;
    c.in.append(buf, std::size_t(n));
    const std::size_t had = c.in.size();
    const bool keep = c.session->received(c.in, c.out);
    if (c.in.size() < had) c.request_started = now; // what is left is a new request
    if (c.in.size() > limits_.max_request)
        return drop(c, "request longer than " + std::to_string(limits_.max_request) + " bytes");
    if (c.out.size() > limits_.max_pending)
        return drop(c, "more than " + std::to_string(limits_.max_pending) + " bytes of replies unread");
    if (!keep) c.closing = true;
}

void PollServer::drop(Connection& c, const std::string& why)
{
    log_(name_ + ": dropped " + c.peer + ": " + why);
    if (c.session) c.session->closed();
    c.session.reset();
    ::close(c.fd);
    c.fd = -1;
}

} // namespace colo
