// One chardev-like socket carrying QEMU records (the framing of QEMU's
// net/net.c net_fill_rstate(); see chardev_framing.hh), as a server
// (like `-chardev socket,server=on`) or a client that keeps reconnecting.
//
// A server serves one peer at a time, like a QEMU chardev server: later
// clients wait in the listen backlog until the current peer leaves. TCP
// servers listen on loopback unless a host is given; a unix server replaces a
// stale socket file (never a symlink or any other file) and creates its socket
// with mode 0600. A client retries with exponential backoff, one log message
// per failure streak. Every new connection starts with a clean parser, and
// output queued for a peer that left is dropped, never sent to the next one.
//
// Threading: the process's I/O thread (IoLoop::shared(), one for all
// endpoints) owns the sockets and polls them together with an eventfd used
// to wake it for output the socket could not take at once. send() may be
// called from any thread: when nothing is queued it writes at once on the
// calling thread (a non-blocking writev), so a released frame costs no
// thread hand-off; whatever the socket does not take is queued and written
// by the I/O thread. On the I/O thread, output released from a read that
// filled its buffer waits for the dispatch's end and goes in one write with
// the rest of the dispatch's output (IoLoop::OutputHold). When the
// queue is full, send() waits for the peer to read (back-pressure, as QEMU
// blocks in its write) and writes on the calling thread itself, polling the
// socket: its wait never depends on the I/O thread, which may be the caller
// or may be waiting for the graph. The handlers run on the I/O thread and
// must not call stop().
//
// The wait is bounded by time without progress, not by time: it goes on for
// as long as the peer keeps reading, but once the peer has read nothing for
// stall_timeout the peer counts as stalled. What does not fit the queue is
// then dropped (drop_stalled), one warning names the endpoint, and send()
// does not wait again until the peer reads something. Without that bound,
// two processes whose sockets feed each other could wait for each other for
// ever: each has one I/O thread, blocked injecting into its own graph, which
// is held by a send() waiting for the other process to read.
//
// With TLS (config.tls, see tls_session.hh) each connection starts with a
// TLS handshake, run on the I/O thread without blocking it; the peer counts
// as connected (on_peer, send()) only once it is through. A failed handshake
// (a peer without TLS, a certificate from another CA or expired, a wrong
// host name, nothing said within tls.handshake_timeout) closes that
// connection, is logged with the peer's address and counted (tls_refused);
// a server goes on listening, a client retries with its backoff. The
// records then travel inside TLS records, as between QEMU chardevs with
// tls-creds.
#pragma once

#include "engine/packet.hh"
#include "nodes/io/io_loop.hh"
#include "nodes/io/socket_address.hh"
#include "nodes/io/tls_session.hh"
#include "nodes/proto/chardev_framing.hh"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace colo {

struct StreamEndpointConfig {
    enum class Mode { server, client };

    std::string address; // "tcp:HOST:PORT" (empty HOST = loopback) or "unix:PATH"
    Mode mode = Mode::server;
    // VNET_LEN presence per direction. They differ only on the Xen notify
    // channel, whose inbound records carry VNET_LEN and outbound ones never do.
    bool vnet_hdr_in = false;
    bool vnet_hdr_out = false;

    std::chrono::milliseconds reconnect_min{100};  // client: first retry delay
    std::chrono::milliseconds reconnect_max{5000}; // client: backoff cap (doubling)
    std::size_t send_queue_packets = 8192;         // output bound, in packets ...
    std::size_t send_queue_bytes = 32u << 20;      // ... and payload bytes; send() waits beyond
    std::size_t read_chunk = 256u << 10;           // bytes per read()
    // A full queue waits for the peer while it reads; once it has read
    // nothing for this long, send() drops what does not fit (drop_stalled),
    // logs one warning, and does not wait again until the peer reads.
    std::chrono::milliseconds stall_timeout{2000};
    // stop() flushes for this long; once the owner is stopping (see
    // stop_waiting_when()), a full queue waits at most this long (or
    // stall_timeout, if shorter) for the peer to read anything.
    std::chrono::milliseconds stop_flush_timeout{1000};
    // TLS on every connection, when tls.creds_dir is set. A client with no
    // tls.hostname checks the server's certificate against the host of its
    // address, as QEMU's chardev does (none for a unix socket).
    TlsConfig tls;
};

struct StreamEndpointCounters {
    uint64_t frames_in = 0, bytes_in = 0;   // delivered to the frame handler (payload bytes)
    uint64_t frames_out = 0, bytes_out = 0; // completely written to a peer
    uint64_t connections = 0;               // peers accepted / connects that succeeded
    uint64_t disconnects = 0;               // connections closed, for any reason
    uint64_t reconnect_attempts = 0;        // client: connect attempts after the first
    uint64_t mid_record_disconnects = 0;    // peer left in the middle of a record
    // Back-pressure, where older versions dropped (drop_queue_full).
    uint64_t queue_full_waits = 0;   // times send() found the queue full and waited
    uint64_t queue_full_wait_ms = 0; // time they waited, in total
    uint64_t stalls = 0;             // times the peer read nothing for stall_timeout with the queue full
    // Packets dropped, by reason.
    uint64_t drop_stalled = 0;     // the queue was full and the peer had read nothing for stall_timeout
    uint64_t drop_no_peer = 0;     // send() while unconnected, or the peer left before they were written
    uint64_t drop_shutdown = 0;    // stopping, and the peer read nothing for stop_flush_timeout
    uint64_t drop_oversize = 0;    // received LEN > kMaxFrameLen (connection closed), or send()
    uint64_t drop_zero_length = 0; // received LEN = 0, or an empty packet given to send()
    uint64_t drop_bad_vnet = 0;    // received VNET_LEN > LEN or > 20
    uint64_t tls_refused = 0;      // TLS handshakes that failed (connection closed)
};

class StreamEndpoint : private IoLoop::Client {
public:
    // Read chunks (of read_chunk bytes) that received packets may hold at once.
    static constexpr std::size_t kReadChunks = 16;

    enum class LogLevel { info, warning };
    // Receives one batch per read(), in arrival order. It runs on the I/O
    // thread and may move the packets out; the vector is cleared afterwards.
    // It may block briefly to apply back-pressure: while it does, nothing is
    // read, the kernel buffer fills and the peer is slowed down (TCP flow
    // control / a full unix socket), and queued output waits too, on every
    // endpoint of the process (they share the I/O thread).
    using FrameHandler = std::function<void(std::vector<Packet>& frames)>;
    // Messages start with the endpoint address, e.g. "tcp:127.0.0.1:9003:
    // oversized record (70000 bytes > 69632), closing connection". Called on
    // the I/O thread, in start(), or on a thread in send(). Without a
    // handler, warnings go to stderr.
    using LogHandler = std::function<void(LogLevel level, std::string_view message)>;

    // Throws std::invalid_argument for a bad configuration, and
    // std::runtime_error naming the file for TLS credentials that do not load.
    explicit StreamEndpoint(StreamEndpointConfig config);
    ~StreamEndpoint() override;
    StreamEndpoint(const StreamEndpoint&) = delete;
    StreamEndpoint& operator=(const StreamEndpoint&) = delete;

    // Set these before start().
    void on_frames(FrameHandler handler) { on_frames_ = std::move(handler); }
    void on_log(LogHandler handler) { on_log_ = std::move(handler); }
    // A peer connected (true) or went away (false), on the I/O thread, after
    // the frames that came before it were handed to on_frames.
    void on_peer(std::function<void(bool connected)> handler) { on_peer_ = std::move(handler); }
    // Optional: tells a waiting send() that its owner is shutting down (a
    // graph stopping). From then on a full queue waits only while the peer
    // keeps reading; after stop_flush_timeout (or stall_timeout, if shorter)
    // without a byte read, send() drops what does not fit (drop_shutdown),
    // and later calls do not wait until the peer reads again. Polled while
    // send() waits: it must be cheap, thread-safe, and must not call the
    // endpoint.
    void stop_waiting_when(std::function<bool()> stopping) { owner_stopping_ = std::move(stopping); }

    // A server binds and listens here, so errors (port in use, a non-socket
    // file at the unix path) throw std::runtime_error; a client connects
    // from the I/O thread. Call once.
    void start();
    // Leaves the I/O loop, tries to write queued output for up to
    // stop_flush_timeout, then closes the sockets (removing the unix socket
    // file of a server). A send() waiting for room gives up at once (what it
    // has not queued counts as drop_shutdown). Not from a handler.
    void stop();

    // Queues packets for the current peer, in order, and returns how many
    // were accepted: always a prefix of `packets` less the empty and
    // oversized ones. Without a peer they are dropped and counted in
    // drop_no_peer (QEMU loses them too when no client is connected). When
    // the queue bounds are reached, send() waits until the peer has read
    // enough, writing on the calling thread, so that nothing is dropped and
    // memory stays bounded: a slow reader holds the caller back (QEMU blocks
    // in its write). It stops waiting when the peer leaves (the rest counts
    // in drop_no_peer), on stop() (drop_shutdown), when the owner stops and
    // the peer reads nothing for stop_flush_timeout (drop_shutdown), and
    // when the peer reads nothing for stall_timeout (drop_stalled; one
    // warning per stall). After either timeout the peer is stuck: send()
    // drops what does not fit at once, until the peer reads something.
    std::size_t send(std::span<const Packet> packets);
    // The same for packets the caller gives up: they are moved, not shared
    // (no reference counted), and left empty.
    std::size_t send_owned(std::span<Packet> packets);

    bool connected() const { return connected_.load(std::memory_order_acquire); }
    StreamEndpointCounters counters() const;
    // Address text; for a server on port 0 it shows the port actually bound.
    const std::string& address() const { return label_; }
    uint16_t port() const { return address_.port; }

private:
    using Clock = std::chrono::steady_clock;

    template <class P> // const Packet: shared; Packet: moved
    std::size_t queue_and_write(std::span<P> packets);

    // IoLoop::Client, on the loop thread.
    std::size_t prepare(std::span<pollfd, kMaxFds> fds) override;
    int timeout_ms() const override;
    void dispatch(std::span<const pollfd> fds) override;
    void write_deferred() override;
    void open_listener();
    void accept_peer();
    void start_connect();
    void finish_connect();
    void on_connected(int fd);
    void continue_handshake();
    void handshake_failed(std::string reason);
    void peer_ready();
    void connect_failed(const std::string& reason);
    void disconnect(const std::string& reason, LogLevel level);
    void publish_decoder_counters();
    bool read_available();
    enum class Input { data, again, closed, failed };
    std::span<uint8_t> read_space();
    Input read_input(std::span<uint8_t> into, std::size_t& n, std::string& why);
    Input read_tls(std::span<uint8_t> into, std::size_t& n, std::string& why);
    enum class WriteResult { done, would_block, failed };
    WriteResult write_queued_locked(int& error); // mu_ held
    WriteResult write_tls_locked();              // mu_ held
    void wrote_locked(std::size_t bytes);        // mu_ held
    bool has_room_locked(std::size_t len) const; // mu_ held
    // stalled: this wait gave up (stall_timeout); stuck: another had, meanwhile.
    enum class WaitResult { room, peer_gone, shutdown, stalled, stuck };
    WaitResult wait_for_room(std::unique_lock<std::mutex>& lock, uint64_t connection, std::size_t len);
    bool owner_stopping() const { return owner_stopping_ && owner_stopping_(); }
    std::string take_stall_note_locked(); // mu_ held
    bool write_from_io_thread();
    void flush_on_stop();
    void close_all();
    void wake();
    void log(LogLevel level, const std::string& message) const;

    const StreamEndpointConfig config_;
    SocketAddress address_;
    std::string label_;
    FrameHandler on_frames_;
    LogHandler on_log_;
    std::function<void(bool)> on_peer_;

    // I/O thread state.
    int listen_fd_ = -1;
    int conn_fd_ = -1;
    int wake_fd_ = -1;
    bool connecting_ = false;
    bool connect_failing_ = false; // a failure was already logged in this streak
    bool first_connect_ = true;
    std::chrono::milliseconds backoff_{0};
    Clock::time_point next_connect_{};
    // Reads land in pooled chunks that the packets of large records share
    // (FrameDecoder), as a NIC's receive ring lends its buffers: the next read
    // goes after the bytes they hold, or to the start of a chunk no packet
    // holds any more. At most kReadChunks are lent out; past that, reads go to
    // copy_buf_ and records are copied, so held packets pin a bounded amount.
    std::vector<BufRef> read_chunks_;
    std::size_t read_current_ = 0;   // the chunk being filled
    uint32_t read_fill_ = 0;         // its bytes already read
    uint32_t read_cap_ = UINT32_MAX; // bytes of kRecordsPerRead records, as the last read's were
    std::vector<uint8_t> copy_buf_;
    std::vector<Packet> frames_;
    FrameDecoder decoder_;
    FrameDecoderCounters decoder_published_; // decoder counts already in counters_
    int listen_idx_ = -1, conn_idx_ = -1;    // their entries in the last prepare()
    std::shared_ptr<IoLoop> loop_;           // set while started
    // TLS: the credentials, and the session of conn_fd_. The session is
    // reset only after write_tls_ is cleared (under mu_), so that no send()
    // uses it meanwhile.
    std::shared_ptr<const TlsCredentials> tls_creds_;
    std::unique_ptr<TlsSession> tls_;
    bool handshaking_ = false;
    bool handshake_wants_write_ = false;
    Clock::time_point handshake_deadline_{};
    bool tls_pending_ = false;          // GnuTLS holds decrypted input that poll() cannot see
    Input tls_deferred_ = Input::again; // an end met after data was read, reported next
    std::string tls_deferred_why_;
    std::string peer_name_; // for the log
    std::atomic<bool> connected_{false};
    std::atomic<bool> stopping_{false}; // stop() began: waiting senders give up
    bool started_ = false;
    std::function<bool()> owner_stopping_;

    // Output, shared by send() and the I/O thread; guarded by mu_. write_fd_
    // is the connected socket, or -1: the I/O thread clears it before it
    // closes the socket, so send() never writes to a closed (or reused) fd.
    // connection_ numbers the peers, so that a waiting send() notices that
    // its peer left even if the next one got the same fd.
    mutable std::mutex mu_;
    int write_fd_ = -1;
    TlsSession* write_tls_ = nullptr; // with TLS, the session of write_fd_
    std::vector<uint8_t> tls_out_;    // the record being sent: after GNUTLS_E_AGAIN, sent again as is
    std::size_t tls_out_len_ = 0;
    std::string write_error_; // why the last write failed, when errno does not say it
    uint64_t connection_ = 0;
    FrameEncoder encoder_;
    std::size_t queued_packets_ = 0; // in encoder_, for the bounds
    uint64_t queued_bytes_ = 0;
    uint64_t wire_bytes_ = 0; // bytes written to peers: progress, for waiting senders
    // The peer read nothing while a send() waited for stall_timeout (stalled)
    // or, the owner stopping, for stop_flush_timeout (shutdown): send() does
    // not wait for it again until it reads (any write clears this).
    enum class Stuck { no, stalled, shutdown };
    Stuck stuck_ = Stuck::no;
    bool stall_ended_ = false;    // a stall streak ended: log it (take_stall_note_locked)
    uint64_t stall_drops_at_ = 0; // drop_stalled when the streak began
    uint64_t wait_ns_ = 0;        // queue_full_wait_ms, unrounded
    StreamEndpointCounters counters_;
};

} // namespace colo
