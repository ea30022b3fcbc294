#include "nodes/io/stream_endpoint.hh"

#include "nodes/io/listen_socket.hh"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace colo {

namespace {

// Records per sendmsg(): 2 iovecs each, within the kernel's UIO_MAXIOV.
constexpr std::size_t kMaxIov = 1024;
// Reads per wake-up, so that a busy input cannot starve output.
constexpr int kReadsPerWake = 4;
// Records one read hands to the graph at most (VPP's frame of 256 vectors):
// a read of small records is cut to about this many, and the wake-up ends
// there, so that the other inputs' records, which the graph may be waiting
// for to release these, are read before more of the same.
constexpr uint32_t kRecordsPerRead = 256;
// Below this a read costs more in system calls than its earlier release saves
// (docs/performance.md, section 2026-12-07 (08:45)).
constexpr std::size_t kMinCappedRead = 16u << 10;
// A send() waiting for room polls its socket this long at a time, then looks
// again at what else ends the wait (the peer left, stop(), the owner
// stopping, stall_timeout).
constexpr int kWaitPollMs = 10;
// Plaintext bytes per TLS record we send. QEMU 7.2's chardev reads at most
// 4096 bytes at a time (CHR_READ_BUF_LEN, chardev/char-socket.c
// tcp_chr_read()) and waits for its socket to be readable before it reads
// again, without looking at what GnuTLS still holds (io/channel-tls.c): the
// rest of a larger record would wait there until more bytes arrive, and a
// frame with it. Records no larger than one of its reads never leave
// anything behind. Measured cost: docs/performance.md.
constexpr std::size_t kTlsRecordBytes = 4096;

std::string ms_text(std::chrono::milliseconds ms)
{
    return std::to_string(ms.count()) + " ms";
}

uint64_t now_ns()
{
    return uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

std::string errno_text(int err)
{
    return std::strerror(err);
}

} // namespace

StreamEndpoint::StreamEndpoint(StreamEndpointConfig config)
    : config_(std::move(config)),
      address_(SocketAddress::parse(config_.address)),
      label_(address_.to_string()),
      decoder_(config_.vnet_hdr_in),
      encoder_(config_.vnet_hdr_out)
{
    if (config_.reconnect_min.count() <= 0 || config_.reconnect_max < config_.reconnect_min)
        throw std::invalid_argument(label_ + ": need 0 < reconnect_min <= reconnect_max");
    if (config_.send_queue_packets == 0 || config_.send_queue_bytes < kMaxFrameLen)
        throw std::invalid_argument(label_ + ": send queue must hold at least one maximum-size frame");
    if (config_.read_chunk == 0) throw std::invalid_argument(label_ + ": read_chunk must be > 0");
    if (config_.stall_timeout.count() <= 0 || config_.stop_flush_timeout.count() < 0)
        throw std::invalid_argument(label_ + ": need stall_timeout > 0 and stop_flush_timeout >= 0");
    if (config_.tls.enabled()) {
        tls_creds_ = load_endpoint_credentials(config_.tls, config_.mode == StreamEndpointConfig::Mode::server,
                                               address_, label_);
        tls_out_.resize(kTlsRecordBytes);
    }
}

StreamEndpoint::~StreamEndpoint()
{
    stop();
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void StreamEndpoint::start()
{
    if (started_) throw std::logic_error(label_ + ": start() called twice");
    started_ = true;
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), label_ + ": eventfd");
    if (config_.mode == StreamEndpointConfig::Mode::server) open_listener();
    backoff_ = config_.reconnect_min;
    next_connect_ = Clock::now();
    loop_ = IoLoop::shared();
    loop_->add(this);
}

void StreamEndpoint::stop()
{
    if (!loop_) return;
    // First, so that a send() waiting on the I/O thread (in a handler) lets
    // it finish its round.
    stopping_.store(true, std::memory_order_release);
    loop_->remove(this);
    loop_.reset();
    flush_on_stop();
    close_all();
}

void StreamEndpoint::wake()
{
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one); // EAGAIN: already pending
}

std::size_t StreamEndpoint::send(std::span<const Packet> packets)
{
    return queue_and_write(packets);
}

std::size_t StreamEndpoint::send_owned(std::span<Packet> packets)
{
    return queue_and_write(packets);
}

template <class P>
std::size_t StreamEndpoint::queue_and_write(std::span<P> packets)
{
    std::unique_lock lock(mu_);
    if (write_fd_ < 0) {
        counters_.drop_no_peer += packets.size();
        return 0;
    }
    const uint64_t connection = connection_;
    const bool was_idle = encoder_.empty();
    bool waited = false;
    std::size_t accepted = 0;
    std::string warning;
    for (std::size_t i = 0; i < packets.size(); ++i) {
        P& p = packets[i];
        if (p.len == 0) {
            ++counters_.drop_zero_length;
            continue;
        }
        if (p.len > kMaxFrameLen) {
            ++counters_.drop_oversize;
            continue;
        }
        if (!has_room_locked(p.len) && stuck_ != Stuck::no) {
            // The peer was found stuck: see whether it read something since
            // (the I/O thread may not have noticed yet); if so, it is waited
            // for again.
            int error = 0;
            if (write_queued_locked(error) == WriteResult::failed) wake(); // the I/O thread closes it
        }
        if (!has_room_locked(p.len)) {
            WaitResult w;
            if (stuck_ != Stuck::no) {
                // Waited for already, and it has read nothing since: one
                // stall_timeout per stall, not one per packet.
                w = WaitResult::stuck;
            } else {
                // Back-pressure: hold the caller (and through it the graph)
                // until the peer has read enough, rather than drop.
                waited = true;
                w = wait_for_room(lock, connection, p.len);
                if (w == WaitResult::stalled) {
                    warning = label_ + ": the peer has read nothing for " + ms_text(config_.stall_timeout) +
                              " with the output queue full; dropping what does not fit (drop_stalled) until it "
                              "reads again";
                }
            }
            if (w == WaitResult::stuck) w = stuck_ == Stuck::stalled ? WaitResult::stalled : WaitResult::shutdown;
            if (w != WaitResult::room) {
                const uint64_t rest = packets.size() - i;
                switch (w) {
                case WaitResult::peer_gone: counters_.drop_no_peer += rest; break;
                case WaitResult::stalled: counters_.drop_stalled += rest; break;
                default: counters_.drop_shutdown += rest; break;
                }
                break;
            }
        }
        const uint32_t len = p.len;
        if constexpr (std::is_const_v<P>) encoder_.push(p);
        else encoder_.push(std::move(p));
        ++queued_packets_;
        queued_bytes_ += len;
        ++accepted;
    }
    // While output is queued the I/O thread is waiting for the socket to
    // take more, and writes these after it; otherwise (or if this call
    // waited, and the queue may have emptied meanwhile) write them now, or
    // when the I/O thread's dispatch ends if it holds output
    // (IoLoop::OutputHold). What the socket does not take (or a write error,
    // which the I/O thread then meets and handles) becomes the I/O thread's
    // job: wake it to poll.
    if ((was_idle || waited) && !encoder_.empty() && write_fd_ >= 0 && connection_ == connection &&
        (waited || !IoLoop::defer_output(this))) {
        int error = 0;
        if (write_queued_locked(error) != WriteResult::done) wake();
    }
    const std::string note = take_stall_note_locked();
    lock.unlock();
    if (!warning.empty()) log(LogLevel::warning, warning);
    if (!note.empty()) log(LogLevel::info, note);
    return accepted;
}

bool StreamEndpoint::has_room_locked(std::size_t len) const
{
    return queued_packets_ < config_.send_queue_packets && queued_bytes_ + len <= config_.send_queue_bytes;
}

// The queue has no room for `len` more bytes. Writes what the socket takes
// and polls it for more, on this thread, until there is room. The lock is
// released while polling, so the I/O thread (and counters()) carry on; a
// disconnect or a new peer in the meantime shows in write_fd_ / connection_.
// Progress is any byte written to the peer, by this thread or another; the
// wait ends without room once there was none for stall_timeout (or, the
// owner stopping, stop_flush_timeout), and then marks the peer stuck.
StreamEndpoint::WaitResult StreamEndpoint::wait_for_room(std::unique_lock<std::mutex>& lock, uint64_t connection,
                                                         std::size_t len)
{
    const auto started = Clock::now();
    auto progress_at = started; // the peer last read something (or the wait began)
    uint64_t seen = wire_bytes_;
    bool polled = false;
    WaitResult result;
    for (;;) {
        if (stopping_.load(std::memory_order_acquire)) {
            result = WaitResult::shutdown;
            break;
        }
        if (write_fd_ < 0 || connection_ != connection) {
            result = WaitResult::peer_gone;
            break;
        }
        int error = 0;
        if (write_queued_locked(error) == WriteResult::failed) {
            // The I/O thread closes the connection (and counts what is queued).
            wake();
            result = WaitResult::peer_gone;
            break;
        }
        if (has_room_locked(len)) {
            result = WaitResult::room;
            break;
        }
        // Looked at after the write above, so that a thread that was not
        // scheduled for a while does not take that for the peer's silence.
        const auto now = Clock::now();
        if (wire_bytes_ != seen) {
            seen = wire_bytes_;
            progress_at = now;
        }
        if (stuck_ != Stuck::no) {
            // Another sender (notify's reply on the I/O thread) gave up on
            // this peer meanwhile.
            result = WaitResult::stuck;
            break;
        }
        // Shutting down: wait only for a peer that still reads.
        const bool stopping = owner_stopping();
        const auto limit =
            stopping ? std::min(config_.stop_flush_timeout, config_.stall_timeout) : config_.stall_timeout;
        if (now - progress_at >= limit) {
            if (stopping) {
                stuck_ = Stuck::shutdown;
                result = WaitResult::shutdown;
            } else {
                stuck_ = Stuck::stalled;
                ++counters_.stalls;
                stall_drops_at_ = counters_.drop_stalled;
                result = WaitResult::stalled;
            }
            break;
        }
        const int fd = write_fd_;
        const std::string note = take_stall_note_locked();
        lock.unlock();
        if (!note.empty()) log(LogLevel::info, note);
        // The fd may be closed (even reused) meanwhile: a spurious wake-up at
        // worst, as write_fd_ and connection_ are checked again under the lock.
        pollfd pfd{fd, POLLOUT, 0};
        ::poll(&pfd, 1, kWaitPollMs);
        polled = true;
        lock.lock();
    }
    if (polled) {
        ++counters_.queue_full_waits;
        wait_ns_ += uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count());
    }
    return result;
}

// After a stall streak ended (the peer read again), the line that says so
// and what the stall cost; empty otherwise.
std::string StreamEndpoint::take_stall_note_locked()
{
    if (!stall_ended_) return {};
    stall_ended_ = false;
    return label_ + ": the peer reads again after a stall; " +
           std::to_string(counters_.drop_stalled - stall_drops_at_) + " packets were dropped meanwhile (drop_stalled)";
}

StreamEndpointCounters StreamEndpoint::counters() const
{
    std::lock_guard lock(mu_);
    StreamEndpointCounters c = counters_;
    c.queue_full_wait_ms = wait_ns_ / 1'000'000;
    return c;
}

void StreamEndpoint::log(LogLevel level, const std::string& message) const
{
    if (on_log_) on_log_(level, message);
    else if (level == LogLevel::warning) std::fprintf(stderr, "%s\n", message.c_str());
}

// ---------------------------------------------------------------- setup

void StreamEndpoint::open_listener()
{
    ListeningSocket listening = listen_socket(address_, label_, 4);
    listen_fd_ = listening.fd;
    if (address_.kind == SocketAddress::Kind::tcp && address_.port == 0) {
        address_ = std::move(listening.address);
        label_ = address_.to_string();
    }
    log(LogLevel::info, label_ + ": listening");
}

// ---------------------------------------------------------------- I/O thread

std::size_t StreamEndpoint::prepare(std::span<pollfd, kMaxFds> fds)
{
    std::size_t n = 0;
    fds[n++] = {wake_fd_, POLLIN, 0};
    listen_idx_ = conn_idx_ = -1;
    if (listen_fd_ >= 0 && conn_fd_ < 0) {
        listen_idx_ = int(n);
        fds[n++] = {listen_fd_, POLLIN, 0};
    }
    if (conn_fd_ >= 0) {
        bool output_queued;
        {
            std::lock_guard lock(mu_);
            output_queued = !encoder_.empty();
        }
        conn_idx_ = int(n);
        short events = short(POLLIN | (output_queued ? POLLOUT : 0));
        if (connecting_) events = POLLOUT;
        else if (handshaking_) events = handshake_wants_write_ ? POLLOUT : POLLIN;
        fds[n++] = {conn_fd_, events, 0};
    }
    return n;
}

void StreamEndpoint::dispatch(std::span<const pollfd> fds)
{
    if (fds[0].revents) {
        uint64_t count;
        [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
    }
    if (listen_idx_ >= 0 && fds[listen_idx_].revents) accept_peer();
    if (conn_idx_ >= 0 && fds[conn_idx_].revents) {
        if (connecting_) finish_connect();
        else if (handshaking_) continue_handshake();
        else if (tls_pending_ || (fds[conn_idx_].revents & (POLLIN | POLLHUP | POLLERR))) read_available();
    } else if (conn_fd_ >= 0 && tls_pending_) {
        read_available(); // decrypted input that poll() cannot see
    }
    if (handshaking_ && Clock::now() >= handshake_deadline_)
        handshake_failed("no handshake within " + ms_text(config_.tls.handshake_timeout));
    if (conn_fd_ >= 0 && !connecting_ && !handshaking_) write_from_io_thread();
    if (config_.mode == StreamEndpointConfig::Mode::client && conn_fd_ < 0 && Clock::now() >= next_connect_)
        start_connect();
}

void StreamEndpoint::write_deferred()
{
    if (conn_fd_ >= 0 && !connecting_ && !handshaking_) write_from_io_thread();
}

int StreamEndpoint::timeout_ms() const
{
    if (tls_pending_) return 0;
    if (handshaking_) {
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(handshake_deadline_ - Clock::now());
        return int(std::max<int64_t>(0, wait.count()));
    }
    if (config_.mode != StreamEndpointConfig::Mode::client || conn_fd_ >= 0) return -1;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_connect_ - Clock::now());
    return int(std::max<int64_t>(0, wait.count()));
}

void StreamEndpoint::accept_peer()
{
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            log(LogLevel::warning, label_ + ": accept failed: " + errno_text(errno));
        return;
    }
    on_connected(fd);
}

void StreamEndpoint::start_connect()
{
    if (!first_connect_) {
        std::lock_guard lock(mu_);
        ++counters_.reconnect_attempts;
    }
    first_connect_ = false;

    ResolvedAddress where;
    try {
        where = resolve(address_);
    } catch (const std::exception& e) {
        connect_failed(e.what());
        return;
    }
    const int fd = ::socket(where.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        connect_failed("socket: " + errno_text(errno));
        return;
    }
    if (::connect(fd, where.get(), where.len) == 0) {
        on_connected(fd);
    } else if (errno == EINPROGRESS) {
        conn_fd_ = fd;
        connecting_ = true;
    } else {
        const int err = errno;
        ::close(fd);
        connect_failed(errno_text(err));
    }
}

void StreamEndpoint::finish_connect()
{
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(conn_fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    const int fd = conn_fd_;
    conn_fd_ = -1;
    connecting_ = false;
    if (err == 0) {
        on_connected(fd);
    } else {
        ::close(fd);
        connect_failed(errno_text(err));
    }
}

void StreamEndpoint::connect_failed(const std::string& reason)
{
    // One message per failure streak; the backoff keeps retrying quietly.
    if (!connect_failing_) log(LogLevel::warning, label_ + ": connect failed: " + reason + ", retrying");
    connect_failing_ = true;
    next_connect_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, config_.reconnect_max);
}

void StreamEndpoint::on_connected(int fd)
{
    if (address_.kind == SocketAddress::Kind::tcp) {
        const int on = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    conn_fd_ = fd;
    if (!tls_creds_) return peer_ready();
    // The TLS handshake comes first, as on a QEMU chardev with tls-creds;
    // the peer is connected once it is through.
    peer_name_ = tls_peer_name(fd, config_.mode == StreamEndpointConfig::Mode::server);
    try {
        tls_ = std::make_unique<TlsSession>(tls_creds_, fd);
    } catch (const std::exception& e) {
        return handshake_failed(e.what());
    }
    handshaking_ = true;
    handshake_deadline_ = Clock::now() + config_.tls.handshake_timeout;
    continue_handshake();
}

void StreamEndpoint::continue_handshake()
{
    switch (tls_->handshake()) {
    case TlsSession::Step::done: handshaking_ = false; return peer_ready();
    case TlsSession::Step::want_read: handshake_wants_write_ = false; return;
    case TlsSession::Step::want_write: handshake_wants_write_ = true; return;
    case TlsSession::Step::failed: return handshake_failed(tls_->error());
    }
}

void StreamEndpoint::handshake_failed(std::string reason) // by value: it may be tls_->error()
{
    tls_.reset();
    ::close(conn_fd_);
    conn_fd_ = -1;
    handshaking_ = false;
    const std::string message = label_ + ": TLS handshake with " + peer_name_ + " failed: " + reason;
    if (config_.mode == StreamEndpointConfig::Mode::server) {
        // Anyone may connect to a server: each refusal is worth a line.
        log(LogLevel::warning, message + "; connection closed");
    } else {
        // A client retries with its backoff, one message per failure streak.
        if (!connect_failing_) log(LogLevel::warning, message + ", retrying");
        connect_failing_ = true;
        next_connect_ = Clock::now() + backoff_;
        backoff_ = std::min(backoff_ * 2, config_.reconnect_max);
    }
    // Counted once logged, so that whoever sees the count finds the line.
    std::lock_guard lock(mu_);
    ++counters_.tls_refused;
}

void StreamEndpoint::peer_ready()
{
    const int fd = conn_fd_;
    connect_failing_ = false;
    backoff_ = config_.reconnect_min;
    // Logged before it is published, so that whoever sees connected() finds the line.
    log(LogLevel::info, label_ + ": peer connected" + (tls_ ? " (" + tls_->description() + ")" : ""));
    {
        std::lock_guard lock(mu_);
        write_fd_ = fd;
        write_tls_ = tls_.get();
        tls_out_len_ = 0;
        write_error_.clear();
        ++connection_;
        stuck_ = Stuck::no; // a new peer is waited for afresh
        stall_ended_ = false;
        connected_.store(true, std::memory_order_release);
        ++counters_.connections;
    }
    // Records that came with the end of the handshake wait inside GnuTLS.
    tls_pending_ = tls_ && tls_->pending() > 0;
    if (on_peer_) on_peer_(true);
}

void StreamEndpoint::disconnect(const std::string& reason, LogLevel level)
{
    const bool mid_record = decoder_.mid_record();
    decoder_.reset(); // the next peer starts with a clean parser (QEMU does not)
    {
        // Output queued for this peer is never sent to the next one.
        std::lock_guard lock(mu_);
        write_fd_ = -1;
        write_tls_ = nullptr;
        tls_out_len_ = 0;
        connected_.store(false, std::memory_order_release);
        const FrameEncoder::Records unsent = encoder_.clear();
        counters_.drop_no_peer += unsent.count;
        queued_packets_ = 0;
        queued_bytes_ = 0;
        ++counters_.disconnects;
        if (mid_record) ++counters_.mid_record_disconnects;
    }
    tls_.reset();
    tls_pending_ = false;
    tls_deferred_ = Input::again;
    ::close(conn_fd_);
    conn_fd_ = -1;
    log(level, label_ + ": " + reason + (mid_record ? " in the middle of a record; partial record discarded" : ""));
    if (config_.mode == StreamEndpointConfig::Mode::client) {
        next_connect_ = Clock::now() + config_.reconnect_min;
        backoff_ = config_.reconnect_min;
    }
    if (on_peer_) on_peer_(false);
}

void StreamEndpoint::publish_decoder_counters()
{
    const FrameDecoderCounters& now = decoder_.counters();
    FrameDecoderCounters& was = decoder_published_;
    std::lock_guard lock(mu_);
    counters_.frames_in += now.frames - was.frames;
    counters_.bytes_in += now.bytes - was.bytes;
    counters_.drop_zero_length += now.zero_length - was.zero_length;
    counters_.drop_bad_vnet += now.bad_vnet - was.bad_vnet;
    counters_.drop_oversize += now.oversize - was.oversize;
    was = now;
}

bool StreamEndpoint::read_available()
{
    for (int i = 0; i < kReadsPerWake; ++i) {
        std::size_t n = 0;
        std::string why;
        std::span<uint8_t> space = read_space();
        const bool capped = !tls_ && read_cap_ < space.size();
        if (capped) space = space.first(read_cap_);
        const Input input = read_input(space, n, why);
        if (input == Input::data) {
            bool ok;
            if (space.data() != copy_buf_.data()) { // in a chunk: its packets may share it
                ok = decoder_.feed(read_chunks_[read_current_], read_fill_, uint32_t(n), now_ns(), frames_);
                read_fill_ += uint32_t(n);
            } else {
                ok = decoder_.feed(space.first(n), now_ns(), frames_);
            }
            publish_decoder_counters();
            if (!frames_.empty()) {
                // A read of many records' worth reads the next much like it.
                read_cap_ =
                    uint32_t(std::clamp<std::size_t>(n / frames_.size() * kRecordsPerRead, kMinCappedRead, UINT32_MAX));
                const IoLoop::OutputHold hold(n == space.size()); // more to read: its output goes with the next's
                const std::size_t delivered = frames_.size();
                if (on_frames_) on_frames_(frames_);
                frames_.clear();
                frames_.reserve(delivered); // the handler may take the vector: the next read likely gives as many
            }
            if (!ok) {
                disconnect(decoder_.error() + ", closing connection", LogLevel::warning);
                return false;
            }
            if (tls_) tls_pending_ = tls_->pending() > 0;
            if (n < space.size() && !tls_pending_) return true; // drained
            if (capped) return true;                            // the poll comes back for the rest
            continue;
        }
        if (input == Input::again) return true;
        if (input == Input::closed) {
            disconnect("peer closed the connection", LogLevel::info);
            return false;
        }
        disconnect(why, LogLevel::warning);
        return false;
    }
    return true;
}

// Where the next read goes: after what the current chunk's packets hold, or
// to the start of a chunk no packet holds any more (still warm in the cache),
// or a new chunk; copy_buf_ once kReadChunks are all held.
std::span<uint8_t> StreamEndpoint::read_space()
{
    const std::size_t min_room = std::max<std::size_t>(config_.read_chunk / 4, 1);
    auto room = [&](const BufRef& c) { return c.get()->capacity() - read_fill_; };
    if (!read_chunks_.empty() && read_chunks_[read_current_].unique()) {
        read_fill_ = 0;
    } else if (read_chunks_.empty() || room(read_chunks_[read_current_]) < min_room) {
        // (read_fill_ stays when all are held: the current chunk stays full.)
        const auto unheld =
            std::find_if(read_chunks_.begin(), read_chunks_.end(), [](const BufRef& c) { return c.unique(); });
        if (unheld != read_chunks_.end()) {
            read_current_ = std::size_t(unheld - read_chunks_.begin());
            read_fill_ = 0;
        } else if (read_chunks_.size() < kReadChunks) {
            read_chunks_.push_back(BufRef::allocate(uint32_t(config_.read_chunk)));
            read_current_ = read_chunks_.size() - 1;
            read_fill_ = 0;
        } else {
            copy_buf_.resize(config_.read_chunk);
            return copy_buf_;
        }
    }
    const BufRef& chunk = read_chunks_[read_current_];
    return {chunk.get()->data() + read_fill_, room(chunk)};
}

StreamEndpoint::Input StreamEndpoint::read_input(std::span<uint8_t> into, std::size_t& n, std::string& why)
{
    if (tls_) return read_tls(into, n, why);
    for (;;) {
        const ssize_t r = ::recv(conn_fd_, into.data(), into.size(), 0);
        if (r > 0) {
            n = std::size_t(r);
            return Input::data;
        }
        if (r == 0) return Input::closed;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return Input::again;
        if (errno == EINTR) continue;
        why = "read failed: " + errno_text(errno);
        return Input::failed;
    }
}

// Fills `into` with as many TLS records as are there (one record holds at
// most 16 KiB), so that a batch is as large as without TLS.
StreamEndpoint::Input StreamEndpoint::read_tls(std::span<uint8_t> into, std::size_t& n, std::string& why)
{
    if (tls_deferred_ != Input::again) {
        why = tls_deferred_why_;
        return std::exchange(tls_deferred_, Input::again);
    }
    n = 0;
    while (n < into.size()) {
        const ssize_t r = tls_->recv(into.data() + n, into.size() - n);
        if (r > 0) {
            n += std::size_t(r);
            continue;
        }
        if (r == TlsSession::kAgain) break;
        const Input end = r == 0 ? Input::closed : Input::failed;
        if (end == Input::failed) why = tls_->error();
        if (n == 0) return end;
        // The data before it goes first.
        tls_deferred_ = end;
        tls_deferred_why_ = why;
        break;
    }
    tls_pending_ = tls_->pending() > 0;
    return n > 0 ? Input::data : Input::again;
}

void StreamEndpoint::wrote_locked(std::size_t bytes)
{
    wire_bytes_ += uint64_t(bytes);
    // The peer reads: wait for it again.
    if (stuck_ == Stuck::stalled) stall_ended_ = true;
    stuck_ = Stuck::no;
    const FrameEncoder::Records done = encoder_.advance(bytes);
    counters_.frames_out += done.count;
    counters_.bytes_out += done.payload_bytes;
    queued_packets_ -= done.count;
    queued_bytes_ -= done.payload_bytes;
}

StreamEndpoint::WriteResult StreamEndpoint::write_queued_locked(int& error)
{
    if (write_tls_) {
        const WriteResult r = write_tls_locked();
        if (r == WriteResult::failed) error = EIO; // write_error_ says more
        return r;
    }
    iovec iov[kMaxIov];
    while (!encoder_.empty()) {
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = encoder_.fill_iov(iov);
        const ssize_t n = ::sendmsg(write_fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            wrote_locked(std::size_t(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return WriteResult::would_block;
        error = n < 0 ? errno : EPIPE;
        return WriteResult::failed;
    }
    return WriteResult::done;
}

// Copies up to one TLS record's worth of queued bytes and sends them. After
// GNUTLS_E_AGAIN the same bytes go again (tls_out_len_ stays), as GnuTLS
// requires; the encoder lets them go only once they are sent.
StreamEndpoint::WriteResult StreamEndpoint::write_tls_locked()
{
    while (!encoder_.empty()) {
        if (tls_out_len_ == 0) {
            iovec iov[512];
            const std::size_t count = encoder_.fill_iov(iov);
            for (std::size_t i = 0; i < count && tls_out_len_ < tls_out_.size(); ++i) {
                const std::size_t take = std::min(iov[i].iov_len, tls_out_.size() - tls_out_len_);
                std::memcpy(tls_out_.data() + tls_out_len_, iov[i].iov_base, take);
                tls_out_len_ += take;
            }
        }
        const ssize_t n = write_tls_->send(tls_out_.data(), tls_out_len_);
        if (n == TlsSession::kAgain) return WriteResult::would_block;
        if (n < 0) {
            write_error_ = write_tls_->error();
            return WriteResult::failed;
        }
        tls_out_len_ = 0;
        wrote_locked(std::size_t(n));
    }
    return WriteResult::done;
}

bool StreamEndpoint::write_from_io_thread()
{
    int error = 0;
    WriteResult result;
    std::string note;
    {
        std::lock_guard lock(mu_);
        result = write_queued_locked(error);
        note = take_stall_note_locked();
    }
    if (!note.empty()) log(LogLevel::info, note);
    if (result != WriteResult::failed) return true;
    std::string why;
    {
        std::lock_guard lock(mu_);
        why = write_error_.empty() ? "write failed: " + errno_text(error) : write_error_;
    }
    disconnect(why, LogLevel::warning);
    return false;
}

void StreamEndpoint::flush_on_stop()
{
    if (conn_fd_ < 0 || connecting_ || handshaking_) return;
    const auto deadline = Clock::now() + config_.stop_flush_timeout;
    auto output_queued = [this] {
        std::lock_guard lock(mu_);
        return !encoder_.empty() && stuck_ == Stuck::no; // a stuck peer was waited for already
    };
    while (write_from_io_thread() && output_queued()) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) break;
        pollfd pfd{conn_fd_, POLLOUT, 0};
        if (::poll(&pfd, 1, int(left.count())) < 0 && errno != EINTR) break;
    }
}

void StreamEndpoint::close_all()
{
    {
        std::lock_guard lock(mu_);
        write_fd_ = -1;
        write_tls_ = nullptr;
        connected_.store(false, std::memory_order_release);
        counters_.drop_shutdown += encoder_.clear().count;
        queued_packets_ = 0;
        queued_bytes_ = 0;
    }
    if (tls_ && !handshaking_) tls_->bye(); // close_notify, if the socket takes it at once
    tls_.reset();
    handshaking_ = tls_pending_ = false;
    if (conn_fd_ >= 0) ::close(conn_fd_);
    conn_fd_ = -1;
    connecting_ = false;
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
        if (address_.kind == SocketAddress::Kind::unix_path) remove_socket_file(address_.path);
    }
}

} // namespace colo
