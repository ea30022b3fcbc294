#include "nodes/io/heartbeat_link.hh"

#include "nodes/io/listen_socket.hh"

#include "nodes/proto/frame_parse.hh" // load_be32, store_be32

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace colo {

namespace {

constexpr uint8_t kMagic[4] = {'C', 'G', 'H', 'B'};

std::string errno_text(int err)
{
    return std::strerror(err);
}

std::string hex_bytes(const uint8_t* p, std::size_t n)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        if (i) s += ' ';
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

} // namespace

Pulse encode_pulse(uint32_t sequence, uint32_t version)
{
    Pulse p{};
    std::memcpy(p.data(), kMagic, sizeof kMagic);
    store_be32(p.data() + 4, version);
    store_be32(p.data() + 8, sequence);
    return p;
}

std::string pulse_error(const uint8_t* record, std::size_t len)
{
    // Checked as the bytes arrive, so that a wrong peer is found by its first
    // byte, not after twelve.
    if (std::memcmp(record, kMagic, std::min(len, sizeof kMagic)) != 0)
        return "not a colo-graph heartbeat (it sent " + hex_bytes(record, len) + ")";
    if (len < 8) return {};
    if (const uint32_t v = load_be32(record + 4); v != kHeartbeatVersion)
        return "heartbeat version " + std::to_string(v) + ", this end speaks " + std::to_string(kHeartbeatVersion);
    return {};
}

HeartbeatLink::HeartbeatLink(HeartbeatConfig config)
    : config_(std::move(config)), address_(SocketAddress::parse(config_.address)), label_(address_.to_string())
{
    if (config_.interval.count() <= 0) throw std::invalid_argument(label_ + ": the pulse interval must be > 0");
    if (config_.timeout <= config_.interval)
        throw std::invalid_argument(label_ + ": the timeout (" + std::to_string(config_.timeout.count()) +
                                    " ms) must be longer than the pulse interval (" +
                                    std::to_string(config_.interval.count()) + " ms)");
    if (config_.reconnect_min.count() <= 0 || config_.reconnect_max < config_.reconnect_min)
        throw std::invalid_argument(label_ + ": need 0 < reconnect_min <= reconnect_max");
    if (config_.tls.enabled())
        tls_creds_ =
            load_endpoint_credentials(config_.tls, config_.mode == HeartbeatConfig::Mode::server, address_, label_);
}

HeartbeatLink::~HeartbeatLink()
{
    stop();
}

void HeartbeatLink::start()
{
    if (started_) throw std::logic_error(label_ + ": start() called twice");
    started_ = true;
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), label_ + ": eventfd");
    if (config_.mode == HeartbeatConfig::Mode::server) open_listener();
    backoff_ = config_.reconnect_min;
    next_connect_ = next_pulse_ = Clock::now();
    thread_ = std::thread([this] { run(); });
}

void HeartbeatLink::stop()
{
    if (thread_.joinable()) {
        stop_.store(true);
        const uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
        thread_.join();
    }
    close_conn(peer_);
    close_conn(newcomer_);
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
        if (address_.kind == SocketAddress::Kind::unix_path) remove_socket_file(address_.path);
    }
    if (wake_fd_ >= 0) ::close(wake_fd_);
    wake_fd_ = -1;
}

HeartbeatCounters HeartbeatLink::counters() const
{
    std::lock_guard lock(mu_);
    return counters_;
}

void HeartbeatLink::log(const std::string& message) const
{
    if (on_log_) on_log_(message);
    else std::fprintf(stderr, "%s\n", message.c_str());
}

void HeartbeatLink::open_listener()
{
    ListeningSocket listening = listen_socket(address_, label_, 4);
    listen_fd_ = listening.fd;
    if (address_.kind == SocketAddress::Kind::tcp && address_.port == 0) {
        address_ = std::move(listening.address);
        label_ = address_.to_string();
    }
    log(label_ + ": heartbeat listening");
}

// ---------------------------------------------------------------- the thread

void HeartbeatLink::run()
{
    const bool client = config_.mode == HeartbeatConfig::Mode::client;
    while (!stop_.load()) {
        const auto now = Clock::now();
        if (client && peer_.connecting && now >= connect_deadline_) {
            close_conn(peer_);
            connect_failed("no answer within " + std::to_string(config_.timeout.count()) + " ms");
        }
        for (Conn* c : {&peer_, &newcomer_}) {
            if (c->handshaking && now >= c->handshake_deadline)
                handshake_failed(c, "no handshake within " + std::to_string(config_.tls.handshake_timeout.count()) +
                                        " ms");
        }
        if (client && !peer_.open() && now >= next_connect_) start_connect();
        if (now >= next_pulse_) {
            // Not caught up after a delay: a burst would say no more.
            next_pulse_ = now + config_.interval;
            pulse(peer_);
            pulse(newcomer_);
        }
        check_deadline(now);

        pollfd fds[4];
        nfds_t n = 0;
        fds[n++] = {wake_fd_, POLLIN, 0};
        int listen_i = -1, peer_i = -1, newcomer_i = -1;
        auto events = [](const Conn& c) {
            if (c.connecting) return short(POLLOUT);
            if (c.handshaking) return short(c.handshake_wants_write ? POLLOUT : POLLIN);
            return short(POLLIN | (c.out_off < kPulseLen ? POLLOUT : 0));
        };
        if (listen_fd_ >= 0) {
            listen_i = int(n);
            fds[n++] = {listen_fd_, POLLIN, 0};
        }
        if (peer_.open()) {
            peer_i = int(n);
            fds[n++] = {peer_.fd, events(peer_), 0};
        }
        if (newcomer_.open()) {
            newcomer_i = int(n);
            fds[n++] = {newcomer_.fd, events(newcomer_), 0};
        }
        if (::poll(fds, n, poll_timeout_ms(Clock::now())) < 0) {
            if (errno != EINTR) { // only EFAULT, EINVAL, ENOMEM: say so, do not spin
                log(label_ + ": poll failed: " + errno_text(errno));
                ::usleep(10'000);
            }
            continue;
        }
        if (fds[0].revents) {
            uint64_t count;
            [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
        }
        // A handler may have closed or promoted a connection: its entry
        // counts only while the same fd holds the same place.
        auto handle = [&](Conn& c, int i) {
            if (i < 0 || !c.open() || c.fd != fds[i].fd) return;
            if (!fds[i].revents) {
                if (c.tls_pending()) readable(&c); // decrypted input that poll() cannot see
                return;
            }
            if (c.connecting) return finish_connect();
            if (c.handshaking) return handshake(&c);
            if (fds[i].revents & POLLOUT) {
                if (const int err = flush(c)) return lost(&c, "write failed: " + errno_text(err));
            }
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) readable(&c);
        };
        handle(peer_, peer_i);
        handle(newcomer_, newcomer_i);
        if (listen_i >= 0 && fds[listen_i].revents) accept_peer();
    }
}

int HeartbeatLink::poll_timeout_ms(Clock::time_point now) const
{
    auto next = next_pulse_;
    if (up_.load()) next = std::min(next, last_pulse_in_ + config_.timeout);
    if (config_.mode == HeartbeatConfig::Mode::client)
        next = std::min(next, peer_.connecting ? connect_deadline_ : peer_.open() ? next : next_connect_);
    for (const Conn* c : {&peer_, &newcomer_}) {
        if (c->handshaking) next = std::min(next, c->handshake_deadline);
        if (c->tls_pending()) next = now;
    }
    return int(std::max<int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(next - now).count()));
}

void HeartbeatLink::accept_peer()
{
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            log(label_ + ": accept failed: " + errno_text(errno));
        return;
    }
    if (!peer_.open()) {
        peer_.fd = fd;
        return connected(peer_);
    }
    // The peer may be gone without a word (a host restarted after a
    // partition); the newcomer takes its place once it pulses.
    if (newcomer_.open()) {
        log(label_ + ": a newer connection replaces one that never pulsed");
        close_conn(newcomer_);
    }
    newcomer_.fd = fd;
    connected(newcomer_);
}

void HeartbeatLink::start_connect()
{
    ResolvedAddress where;
    try {
        where = resolve(address_);
    } catch (const std::exception& e) {
        return connect_failed(e.what());
    }
    const int fd = ::socket(where.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return connect_failed("socket: " + errno_text(errno));
    if (::connect(fd, where.get(), where.len) == 0) {
        peer_.fd = fd;
        connected(peer_);
    } else if (errno == EINPROGRESS) {
        peer_.fd = fd;
        peer_.connecting = true;
        connect_deadline_ = Clock::now() + config_.timeout;
    } else {
        const int err = errno;
        ::close(fd);
        connect_failed(errno_text(err));
    }
}

void HeartbeatLink::finish_connect()
{
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(peer_.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
        close_conn(peer_);
        return connect_failed(errno_text(err));
    }
    peer_.connecting = false;
    connected(peer_);
}

void HeartbeatLink::connect_failed(const std::string& reason)
{
    // One message per failure streak; the backoff keeps retrying quietly.
    if (!connect_failing_) log(label_ + ": heartbeat connect failed: " + reason + ", retrying");
    connect_failing_ = true;
    schedule_reconnect();
}

void HeartbeatLink::schedule_reconnect()
{
    // Reset by a valid pulse only, so that a wrong peer, which accepts and
    // is then dropped, is retried ever more slowly too.
    next_connect_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, config_.reconnect_max);
}

void HeartbeatLink::connected(Conn& c)
{
    if (address_.kind == SocketAddress::Kind::tcp) {
        const int on = 1; // a pulse must not wait for the previous one's ACK
        ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    if (!tls_creds_) return ready(c);
    c.peer_name = tls_peer_name(c.fd, config_.mode == HeartbeatConfig::Mode::server);
    try {
        c.tls = std::make_unique<TlsSession>(tls_creds_, c.fd);
    } catch (const std::exception& e) {
        return handshake_failed(&c, e.what());
    }
    c.handshaking = true;
    c.handshake_deadline = Clock::now() + config_.tls.handshake_timeout;
    handshake(&c);
}

void HeartbeatLink::handshake(Conn* c)
{
    switch (c->tls->handshake()) {
    case TlsSession::Step::done: c->handshaking = false; return ready(*c);
    case TlsSession::Step::want_read: c->handshake_wants_write = false; return;
    case TlsSession::Step::want_write: c->handshake_wants_write = true; return;
    case TlsSession::Step::failed: return handshake_failed(c, c->tls->error());
    }
}

void HeartbeatLink::handshake_failed(Conn* c, std::string reason) // by value: it may be c->tls->error()
{
    lost(c, "TLS handshake with " + c->peer_name + " failed: " + reason);
    count([](HeartbeatCounters& k) { ++k.tls_refused; }); // once logged: whoever sees it finds the line
}

void HeartbeatLink::ready(Conn& c)
{
    connect_failing_ = false;
    count([](HeartbeatCounters& k) { ++k.connections; });
    log(label_ + ": heartbeat peer connected" + (c.tls ? " (" + c.tls->description() + ")" : "") +
        "; up at its first pulse");
    pulse(c); // at once, so that the peer need not wait an interval
}

void HeartbeatLink::pulse(Conn& c)
{
    // A peer that has not read the last pulse whole gets no new one: pulses
    // are dropped, never queued or torn.
    if (!c.ready() || c.out_off < kPulseLen) return;
    c.out = encode_pulse(c.sequence++);
    c.out_off = 0;
    if (const int err = flush(c)) lost(&c, "write failed: " + errno_text(err));
}

int HeartbeatLink::flush(Conn& c)
{
    if (c.out_off >= kPulseLen) return 0;
    if (c.tls) {
        // A record at a time; after kAgain GnuTLS wants the same bytes again.
        const ssize_t n = c.tls->send(c.out.data() + c.out_off, kPulseLen - c.out_off);
        if (n == TlsSession::kAgain) return 0;
        if (n < 0) return EIO;
        c.out_off = kPulseLen;
    }
    while (c.out_off < kPulseLen) {
        const ssize_t n = ::send(c.fd, c.out.data() + c.out_off, kPulseLen - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.out_off += std::size_t(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            return n < 0 ? errno : EPIPE;
        }
    }
    count([](HeartbeatCounters& k) { ++k.pulses_sent; });
    return 0;
}

HeartbeatLink::ReadResult HeartbeatLink::read_pulses(Conn& c, uint64_t& pulses, std::string& why)
{
    uint8_t buf[1024];
    for (int round = 0; round < 16; ++round) { // a flooding peer cannot hold the thread
        const ssize_t n = receive(c, buf, sizeof buf, why);
        if (n > 0) {
            for (std::size_t at = 0; at < std::size_t(n);) {
                const std::size_t take = std::min(kPulseLen - c.in_len, std::size_t(n) - at);
                std::memcpy(c.in.data() + c.in_len, buf + at, take);
                c.in_len += take;
                at += take;
                why = pulse_error(c.in.data(), c.in_len);
                if (!why.empty()) return ReadResult::bad;
                if (c.in_len == kPulseLen) {
                    c.in_len = 0;
                    ++pulses;
                }
            }
            if (std::size_t(n) < sizeof buf && !c.tls_pending()) return ReadResult::open;
        } else if (n == 0) {
            why = "peer closed the connection";
            return ReadResult::closed;
        } else if (n == TlsSession::kAgain) {
            return ReadResult::open;
        } else {
            return ReadResult::closed;
        }
    }
    return ReadResult::open;
}

ssize_t HeartbeatLink::receive(Conn& c, uint8_t* buf, std::size_t len, std::string& why)
{
    if (c.tls) {
        const ssize_t n = c.tls->recv(buf, len);
        if (n == TlsSession::kError) why = c.tls->error();
        return n;
    }
    for (;;) {
        const ssize_t n = ::recv(c.fd, buf, len, MSG_DONTWAIT);
        if (n >= 0) return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return TlsSession::kAgain;
        if (errno == EINTR) continue;
        why = "read failed: " + errno_text(errno);
        return TlsSession::kError;
    }
}

void HeartbeatLink::readable(Conn* c)
{
    uint64_t pulses = 0;
    std::string why;
    const ReadResult r = read_pulses(*c, pulses, why);
    if (pulses > 0) {
        if (c == &newcomer_) {
            // It pulses, so it is the peer now; the one it replaces says nothing.
            if (peer_.open()) log(label_ + ": a new heartbeat peer pulses; it replaces the previous connection");
            close_conn(peer_);
            peer_ = std::exchange(newcomer_, Conn{});
            c = &peer_;
        }
        got_pulses(pulses);
    }
    if (r == ReadResult::open) return;
    if (r == ReadResult::bad) {
        count([](HeartbeatCounters& k) { ++k.bad_records; });
        // One line until a valid pulse arrives: a client retries a wrong
        // server for ever, and anyone may connect to a server.
        if (!bad_logged_)
            log(label_ + ": " + why + "; closing the connection (is this address really a colo-graph heartbeat?)");
        bad_logged_ = true;
        why.clear();
    }
    lost(c, why);
}

void HeartbeatLink::lost(Conn* c, const std::string& why)
{
    if (!why.empty()) log(label_ + ": " + (c == &newcomer_ ? "new connection: " : "") + why);
    close_conn(*c);
    if (c == &newcomer_) return;
    if (newcomer_.open()) peer_ = std::exchange(newcomer_, Conn{}); // next in line: up once it pulses
    else if (config_.mode == HeartbeatConfig::Mode::client) schedule_reconnect();
    if (up_.load()) set_up(false, "disconnect");
}

void HeartbeatLink::close_conn(Conn& c)
{
    c.tls.reset();
    if (c.fd >= 0) ::close(c.fd);
    c = Conn{};
}

void HeartbeatLink::got_pulses(uint64_t n)
{
    count([n](HeartbeatCounters& k) { k.pulses_received += n; });
    last_pulse_in_ = Clock::now();
    bad_logged_ = false;
    backoff_ = config_.reconnect_min;
    if (!up_.load()) set_up(true, "");
}

void HeartbeatLink::check_deadline(Clock::time_point now)
{
    if (!up_.load() || now - last_pulse_in_ < config_.timeout) return;
    // This thread may itself have been held up (a loaded host, a stopped
    // process) with the pulses waiting in the socket: read them first.
    if (peer_.ready()) readable(&peer_);
    if (!up_.load() || Clock::now() - last_pulse_in_ < config_.timeout) return;
    set_up(false, "heartbeat");
}

void HeartbeatLink::set_up(bool up, std::string_view reason)
{
    up_.store(up, std::memory_order_release);
    count([&](HeartbeatCounters& k) {
        if (!up) ++k.losses;
        else if (ever_up_) ++k.recoveries;
        k.peer_up = up;
    });
    ever_up_ = ever_up_ || up;
    if (on_status_) on_status_(up, reason);
}

} // namespace colo
