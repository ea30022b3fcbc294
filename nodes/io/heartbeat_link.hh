// HeartbeatLink: a liveness check between the two colo-graph hosts (issue
// #16), on a socket of its own: a host that hangs without closing its sockets
// (a partition, a frozen process) is seen by nothing else, since its kernel
// keeps the connections open and even accepts new ones.
//
// Both ends send a pulse every `interval` and count the peer lost when no
// pulse arrived for `timeout` ("heartbeat": the connection stays open, so a
// frozen peer is back as soon as it pulses again) or when the connection
// closed ("disconnect"). The peer is up from the first pulse on a
// connection, never on connect alone. Each transition is reported once,
// through on_status(); nothing is reported before the peer was first up.
//
// The pulse is a fixed 12-byte record: "CGHB", a u32 BE version and a u32 BE
// sequence (from 0 on each connection, for captures). Anything else (a wrong
// peer, e.g. a QEMU chardev) is counted in bad_records, logged, and its
// connection closed: a byte stream has no way back into step. Read as a
// chardev record, "CGHB" is a length over 1 GB, which QEMU's
// net_fill_rstate() rejects rather than take for a frame.
//
// A server listens (unix sockets with mode 0600, replacing only a stale
// socket file; TCP on loopback unless a host is given) and serves one peer
// at a time. A new connection replaces the peer once it has sent a valid
// pulse, so that a stray or wrong connection cannot cut off a healthy peer.
// A client connects (giving up on an attempt after `timeout`) and reconnects
// with exponential backoff.
//
// Threading: one thread of its own, not the shared IoLoop, whose handlers
// run graph work and wait on back-pressure (up to a socket's stall_timeout):
// a pulse must not wait for the data path, or a slow reader would look like
// a dead host. The handlers run on that thread; they may block briefly,
// and pulses wait meanwhile.
//
// With TLS (config.tls, as on the data channels: tls_session.hh) each
// connection starts with a handshake on the link's thread; pulses flow once
// it is through. A failed one (a peer without TLS or with a certificate we
// do not trust, silence for tls.handshake_timeout) is logged with the
// peer's address, counted in tls_refused, and that connection closed: a
// stranger can neither fake pulses nor cut off a healthy peer.
#pragma once

#include "nodes/io/socket_address.hh"
#include "nodes/io/tls_session.hh"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace colo {

inline constexpr std::size_t kPulseLen = 12;
inline constexpr uint32_t kHeartbeatVersion = 1;
using Pulse = std::array<uint8_t, kPulseLen>;

Pulse encode_pulse(uint32_t sequence, uint32_t version = kHeartbeatVersion);
// Empty while the first `len` bytes (up to kPulseLen) of a record may be a
// valid pulse; otherwise what is wrong with them, for the log.
std::string pulse_error(const uint8_t* record, std::size_t len);

struct HeartbeatConfig {
    enum class Mode { server, client };

    std::string address; // "tcp:HOST:PORT" (empty HOST = loopback) or "unix:PATH"
    Mode mode = Mode::server;
    std::chrono::milliseconds interval{100};
    std::chrono::milliseconds timeout{1000};       // must be > interval
    std::chrono::milliseconds reconnect_min{100};  // client: first retry delay
    std::chrono::milliseconds reconnect_max{5000}; // client: backoff cap (doubling)
    TlsConfig tls; // a client with no tls.hostname checks the host of address, as StreamEndpoint
};

struct HeartbeatCounters {
    uint64_t pulses_sent = 0;     // written whole to a peer
    uint64_t pulses_received = 0; // valid ones
    uint64_t losses = 0;          // transitions to down
    uint64_t recoveries = 0;      // transitions to up after a loss
    uint64_t bad_records = 0;     // records that were not a valid pulse (connection closed)
    uint64_t connections = 0;     // peers accepted or connected
    uint64_t peer_up = 0;         // 1 while the peer is up (a gauge)
    uint64_t tls_refused = 0;     // TLS handshakes that failed (connection closed)
};

class HeartbeatLink {
public:
    // On the link's thread. `reason` is "heartbeat" or "disconnect" when
    // down, empty when up.
    using StatusHandler = std::function<void(bool up, std::string_view reason)>;
    // Messages start with the address. Without a handler they go to stderr.
    using LogHandler = std::function<void(std::string_view message)>;

    // Throws std::invalid_argument, or std::runtime_error naming the file for
    // TLS credentials that do not load.
    explicit HeartbeatLink(HeartbeatConfig config);
    ~HeartbeatLink();
    HeartbeatLink(const HeartbeatLink&) = delete;
    HeartbeatLink& operator=(const HeartbeatLink&) = delete;

    // Set these before start().
    void on_status(StatusHandler handler) { on_status_ = std::move(handler); }
    void on_log(LogHandler handler) { on_log_ = std::move(handler); }

    // A server binds and listens here, so that errors (address in use, a
    // non-socket file at the unix path) throw std::runtime_error; then the
    // thread starts. Call once.
    void start();
    // Ends the thread and closes the sockets (removing a server's unix
    // socket file); no handler runs after it returns. Not from a handler.
    void stop();

    bool up() const { return up_.load(std::memory_order_acquire); }
    HeartbeatCounters counters() const;
    // Address text; for a TCP server on port 0 it shows the port bound.
    const std::string& address() const { return label_; }

private:
    using Clock = std::chrono::steady_clock;

    // One connection: a partial pulse in each direction (a pulse is never
    // torn on the wire: the next waits until this one is written).
    struct Conn {
        int fd = -1;
        bool connecting = false; // client: connect() in progress
        Pulse in{}, out{};
        std::size_t in_len = 0, out_off = kPulseLen;
        uint32_t sequence = 0;
        std::unique_ptr<TlsSession> tls;
        bool handshaking = false, handshake_wants_write = false;
        Clock::time_point handshake_deadline{};
        std::string peer_name; // for the log
        bool open() const { return fd >= 0; }
        bool ready() const { return open() && !connecting && !handshaking; }
        bool tls_pending() const { return tls && !handshaking && tls->pending() > 0; }
    };
    enum class ReadResult { open, closed, bad };

    void run();
    void open_listener();
    int poll_timeout_ms(Clock::time_point now) const;
    void accept_peer();
    void start_connect();
    void finish_connect();
    void connect_failed(const std::string& reason);
    void schedule_reconnect();
    void connected(Conn& c);
    void handshake(Conn* c);
    void handshake_failed(Conn* c, std::string reason);
    void ready(Conn& c);
    // > 0 bytes, 0 closed, or TlsSession::kAgain / kError (`why` says what).
    ssize_t receive(Conn& c, uint8_t* buf, std::size_t len, std::string& why);
    void pulse(Conn& c);
    int flush(Conn& c); // 0, or the errno of a failed write
    ReadResult read_pulses(Conn& c, uint64_t& pulses, std::string& why);
    void readable(Conn* c);
    // `c` closed (`why` says how, if it is to be logged); the peer is down.
    void lost(Conn* c, const std::string& why);
    void close_conn(Conn& c);
    void got_pulses(uint64_t n);
    void check_deadline(Clock::time_point now);
    void set_up(bool up, std::string_view reason);
    void log(const std::string& message) const;
    template <class F>
    void count(F f)
    {
        std::lock_guard lock(mu_);
        f(counters_);
    }

    const HeartbeatConfig config_;
    SocketAddress address_;
    std::string label_;
    StatusHandler on_status_;
    LogHandler on_log_;
    std::shared_ptr<const TlsCredentials> tls_creds_;

    // The link's thread only (and start()/stop() around it).
    int listen_fd_ = -1;
    int wake_fd_ = -1;
    Conn peer_;     // the connection whose pulses count
    Conn newcomer_; // server: a later connection, until it pulses
    bool ever_up_ = false;
    bool bad_logged_ = false;      // a bad record was logged since the last valid pulse
    bool connect_failing_ = false; // a connect failure was logged in this streak
    std::chrono::milliseconds backoff_{0};
    Clock::time_point next_connect_{}, connect_deadline_{}, next_pulse_{}, last_pulse_in_{};
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> up_{false};
    bool started_ = false;

    mutable std::mutex mu_;
    HeartbeatCounters counters_; // guarded by mu_
};

} // namespace colo
