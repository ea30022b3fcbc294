#include <catch2/catch.hpp>

#include "nodes/io/stream_endpoint.hh"
#include "nodes/proto/chardev_framing.hh"
#include "tests/io/tls_test_creds.hh"
#include "tests/temp_dir.hh"
#include "tests/wait_until.hh"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

using namespace colo;
using namespace std::chrono_literals;
using Mode = StreamEndpointConfig::Mode;

namespace {

using Bytes = std::vector<uint8_t>;

// These endpoints run on loopback alone: 1.5 s, not the general patience.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = 1500ms)
{
    return testing::wait_until(pred, limit);
}

// Frames and log lines an endpoint produced, readable from the test thread.
// Declare before the endpoint it is attached to, so it outlives the I/O thread.
struct Sink {
    std::mutex mu;
    std::vector<Packet> frames;
    std::vector<std::string> logs;

    void attach(StreamEndpoint& ep)
    {
        ep.on_frames([this](std::vector<Packet>& batch) {
            std::lock_guard lock(mu);
            for (auto& p : batch) frames.push_back(std::move(p));
        });
        ep.on_log([this](StreamEndpoint::LogLevel, std::string_view msg) {
            std::lock_guard lock(mu);
            logs.emplace_back(msg);
        });
    }
    std::size_t count()
    {
        std::lock_guard lock(mu);
        return frames.size();
    }
    bool logged(const std::string& text)
    {
        std::lock_guard lock(mu);
        for (const auto& l : logs)
            if (l.find(text) != std::string::npos) return true;
        return false;
    }
    std::size_t logged_count(const std::string& text)
    {
        std::lock_guard lock(mu);
        std::size_t n = 0;
        for (const auto& l : logs) n += l.find(text) != std::string::npos;
        return n;
    }
};

// A frame of `len` bytes whose first four bytes are `index`.
Packet numbered(uint32_t index, uint32_t len = 64)
{
    Packet p = Packet::with_capacity(len);
    uint8_t* d = p.mutable_data();
    for (uint32_t i = 0; i < len; ++i) d[i] = uint8_t(i * 7 + index);
    store_be32(d, index);
    p.len = len;
    return p;
}

uint32_t index_of(const Packet& p)
{
    return load_be32(p.data());
}

// Every byte of a numbered() frame is as written (held frames share read
// chunks that later reads must not overwrite).
bool intact(const Packet& p, uint32_t index)
{
    const uint8_t* d = p.data();
    for (uint32_t i = 4; i < p.len; ++i)
        if (d[i] != uint8_t(i * 7 + index)) return false;
    return index_of(p) == index;
}

StreamEndpointConfig config(std::string address, Mode mode)
{
    StreamEndpointConfig c;
    c.address = std::move(address);
    c.mode = mode;
    c.reconnect_min = 10ms;
    c.reconnect_max = 40ms;
    return c;
}

// Blocking raw sockets, standing in for QEMU or a misbehaving peer.
int raw_connect(const StreamEndpoint& server)
{
    const SocketAddress a = SocketAddress::parse(server.address());
    const ResolvedAddress r = resolve(a);
    const int fd = ::socket(r.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    REQUIRE(::connect(fd, r.get(), r.len) == 0);
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

void raw_write(int fd, const Bytes& b)
{
    REQUIRE(::send(fd, b.data(), b.size(), MSG_NOSIGNAL) == ssize_t(b.size()));
}

Bytes record(const Bytes& body, uint32_t len_field, bool vnet = false, uint32_t vnet_len = 0)
{
    Bytes r;
    r.reserve(8 + body.size()); // one allocation (and no GCC 12 -Warray-bounds false positive)
    r.resize(vnet ? 8 : 4);
    store_be32(r.data(), len_field);
    if (vnet) store_be32(r.data() + 4, vnet_len);
    r.insert(r.end(), body.begin(), body.end());
    return r;
}

Bytes body(std::size_t n, uint8_t seed)
{
    Bytes b(n);
    for (auto& x : b) x = seed++;
    return b;
}

} // namespace

TEST_CASE("StreamEndpoint: 10,000 frames round trip in order (unix and tcp), shared or moved", "[endpoint]")
{
    testing::TempDir dir{"colo-endpoint"};
    for (const std::string& address : {dir.unix_address("rt.sock"), std::string("tcp:127.0.0.1:0")}) {
        CAPTURE(address);
        auto server_cfg = config(address, Mode::server);
        server_cfg.send_queue_packets = 20000;
        Sink server_sink;
        StreamEndpoint server(server_cfg);
        server_sink.attach(server);
        server.on_frames([&](std::vector<Packet>& batch) { server.send_owned(batch); }); // echo, moving
        server.start();

        auto client_cfg = config(server.address(), Mode::client);
        client_cfg.send_queue_packets = 20000;
        Sink back;
        StreamEndpoint client(client_cfg);
        back.attach(client);
        client.start();
        REQUIRE(wait_until([&] { return client.connected(); }));

        constexpr uint32_t kFrames = 10000;
        std::vector<Packet> batch;
        for (uint32_t i = 0; i < kFrames; ++i) {
            batch.push_back(numbered(i, 60 + i % 1400));
            if (batch.size() == 500) {
                if (i / 500 % 2 == 0) { // shared, and then moved: the bytes must be the same
                    REQUIRE(client.send(batch) == batch.size());
                    REQUIRE(batch.front().buf);
                } else {
                    REQUIRE(client.send_owned(batch) == batch.size());
                    for (const Packet& p : batch) REQUIRE_FALSE(p.buf);
                }
                batch.clear();
            }
        }
        REQUIRE(wait_until([&] { return back.count() == kFrames; }));
        {
            std::lock_guard lock(back.mu);
            for (uint32_t i = 0; i < kFrames; ++i) {
                REQUIRE(index_of(back.frames[i]) == i);
                REQUIRE(back.frames[i].len == 60 + i % 1400);
                REQUIRE(intact(back.frames[i], i));
                REQUIRE(back.frames[i].ts_ns > 0);
            }
        }
        const auto cc = client.counters();
        const auto sc = server.counters();
        CHECK(cc.frames_out == kFrames);
        CHECK(cc.frames_in == kFrames);
        CHECK(sc.frames_in == kFrames);
        CHECK(sc.frames_out == kFrames);
        CHECK(sc.bytes_in == cc.bytes_out);
        CHECK(sc.connections == 1);
        CHECK(cc.connections == 1);
        CHECK(cc.drop_no_peer + cc.drop_shutdown + sc.drop_no_peer + sc.drop_shutdown == 0);
        client.stop();
        server.stop();
    }
}

TEST_CASE("StreamEndpoint: a peer leaving mid-record leaves no stale parser state", "[endpoint]")
{
    testing::TempDir dir{"colo-endpoint"};
    Sink sink;
    StreamEndpoint server(config(dir.unix_address("mid.sock"), Mode::server));
    sink.attach(server);
    server.start();

    const int first = raw_connect(server);
    Bytes half = record(body(100, 1), 100);
    half.resize(4 + 50);
    raw_write(first, half);
    ::close(first);
    REQUIRE(wait_until(
        [&] { return sink.logged(server.address() + ": peer closed the connection in the middle of a record"); }));
    CHECK(server.counters().mid_record_disconnects == 1);

    const int second = raw_connect(server);
    raw_write(second, record(body(30, 9), 30));
    REQUIRE(wait_until([&] { return sink.count() == 1; }));
    {
        std::lock_guard lock(sink.mu);
        CHECK(Bytes(sink.frames[0].data(), sink.frames[0].data() + sink.frames[0].len) == body(30, 9));
    }
    ::close(second);
    REQUIRE(wait_until([&] { return server.counters().disconnects == 2; }));
    const auto c = server.counters();
    CHECK(c.connections == 2);
    CHECK(c.mid_record_disconnects == 1);
    CHECK(c.frames_in == 1);
}

TEST_CASE("StreamEndpoint: packets held from many reads pin at most kReadChunks read chunks", "[endpoint]")
{
    // Every 200th 1400-byte record is held, one in each 280 KB of input: if
    // each kept its whole read chunk alive, 150 would pin 150 chunks.
    constexpr uint32_t kRecords = 30000, kEvery = 200, kLen = 1400;
    std::mutex mu;
    std::vector<Packet> held;
    std::atomic<uint32_t> seen{0};
    StreamEndpoint server(config("tcp:127.0.0.1:0", Mode::server));
    server.on_frames([&](std::vector<Packet>& batch) {
        std::lock_guard lock(mu);
        for (auto& p : batch)
            if (seen++ % kEvery == 0) held.push_back(std::move(p));
    });
    server.start();
    const uint64_t before = buffer_pool_stats().bytes_in_use;

    const int fd = raw_connect(server);
    Bytes wire;
    for (uint32_t i = 0; i < kRecords; ++i) {
        const Packet p = numbered(i, kLen);
        const Bytes r = record(Bytes(p.data(), p.data() + p.len), kLen);
        wire.insert(wire.end(), r.begin(), r.end());
    }
    raw_write(fd, wire);
    REQUIRE(wait_until([&] { return seen == kRecords; }, 5000ms));

    // Pinned chunks would take 150 x 256 KiB; the cap allows 16 of them plus
    // the copies made once all 16 are held.
    const uint64_t grown = buffer_pool_stats().bytes_in_use - before;
    const uint64_t all_pinned = uint64_t(kRecords / kEvery) * StreamEndpointConfig{}.read_chunk;
    CAPTURE(grown);
    CHECK(grown < all_pinned / 4);
    std::lock_guard lock(mu);
    REQUIRE(held.size() == kRecords / kEvery);
    for (uint32_t i = 0; i < held.size(); ++i) REQUIRE(intact(held[i], i * kEvery));
    ::close(fd);
}

TEST_CASE("StreamEndpoint: an oversized record closes only that connection", "[endpoint]")
{
    Sink sink;
    StreamEndpoint server(config("tcp:127.0.0.1:0", Mode::server));
    sink.attach(server);
    server.start();
    CHECK(server.address() == "tcp:127.0.0.1:" + std::to_string(server.port()));

    const int bad = raw_connect(server);
    Bytes wire = record(body(20, 1), 20);
    const Bytes huge = record(body(64, 2), 70000);
    wire.insert(wire.end(), huge.begin(), huge.end());
    raw_write(bad, wire);
    REQUIRE(wait_until([&] {
        return sink.logged(server.address() + ": oversized record (70000 bytes > 69632), closing connection");
    }));
    CHECK(server.counters().drop_oversize == 1);
    uint8_t byte;
    const ssize_t r = ::recv(bad, &byte, 1, 0);
    CHECK((r == 0 || (r < 0 && errno == ECONNRESET))); // closed, not a timeout
    ::close(bad);

    const int good = raw_connect(server);
    raw_write(good, record(body(kMaxFrameLen, 3), kMaxFrameLen));
    REQUIRE(wait_until([&] { return sink.count() == 2; }));
    {
        std::lock_guard lock(sink.mu);
        CHECK(sink.frames[0].len == 20);
        CHECK(sink.frames[1].len == kMaxFrameLen);
    }
    ::close(good);
    CHECK(server.counters().connections == 2);
}

std::vector<Packet> numbered_run(uint32_t first, uint32_t n, uint32_t len = 1000)
{
    std::vector<Packet> run;
    for (uint32_t i = first; i < first + n; ++i) run.push_back(numbered(i, len));
    return run;
}

// Reads records from a raw peer until `want` arrived (or the peer closed),
// `chunk` bytes at a time, pausing between reads: a slow reader.
std::vector<Packet> read_slowly(int fd, std::size_t want, std::size_t chunk, std::chrono::microseconds pause)
{
    FrameDecoder dec(false);
    std::vector<Packet> got;
    std::vector<uint8_t> buf(chunk);
    while (got.size() < want) {
        const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
        if (r <= 0) break;
        if (!dec.feed({buf.data(), std::size_t(r)}, 0, got)) break;
        std::this_thread::sleep_for(pause);
    }
    return got;
}

TEST_CASE("StreamEndpoint: no peer drops, and a full queue waits for a slow reader and drops nothing", "[endpoint]")
{
    testing::TempDir dir{"colo-endpoint"};
    auto cfg = config(dir.unix_address("q.sock"), Mode::server);
    cfg.send_queue_packets = 16;
    StreamEndpoint server(cfg);
    server.start();

    std::vector<Packet> early = {numbered(0), numbered(1)};
    CHECK(server.send(early) == 0);
    CHECK(server.counters().drop_no_peer == 2);

    const int peer = raw_connect(server);
    REQUIRE(wait_until([&] { return server.connected(); }));

    // Far more than 16 packets plus the socket buffers, in batches of 8:
    // send() waits for the reader instead of dropping.
    constexpr uint32_t kTotal = 1000;
    std::vector<Packet> got;
    std::thread reader([&] { got = read_slowly(peer, kTotal, 4096, 200us); });
    std::size_t accepted = 0;
    for (uint32_t i = 0; i < kTotal; i += 8) { accepted += server.send(numbered_run(i, 8, 2000)); }
    reader.join();
    CHECK(accepted == kTotal);
    REQUIRE(got.size() == kTotal);
    for (uint32_t i = 0; i < kTotal; ++i) REQUIRE(index_of(got[i]) == i);
    const auto c = server.counters();
    CHECK(c.queue_full_waits > 0);
    CHECK(c.frames_out == kTotal);
    CHECK(c.drop_no_peer == 2);
    CHECK(c.drop_shutdown == 0);
    ::close(peer);
}

TEST_CASE("StreamEndpoint: 100,000 packets given at once reach a slow reader, all in order", "[endpoint]")
{
    testing::TempDir dir{"colo-endpoint"};
    StreamEndpoint server(config(dir.unix_address("burst.sock"), Mode::server)); // default bounds: 8192
    server.start();
    const int peer = raw_connect(server);
    int small = 16384;
    ::setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    REQUIRE(wait_until([&] { return server.connected(); }));

    constexpr uint32_t kTotal = 100000;
    std::vector<Packet> burst;
    for (uint32_t i = 0; i < kTotal; ++i) burst.push_back(numbered(i, 60 + i % 200));
    std::vector<Packet> got;
    std::thread reader([&] { got = read_slowly(peer, kTotal, 32768, 100us); });
    CHECK(server.send(burst) == kTotal);
    reader.join();
    REQUIRE(got.size() == kTotal);
    for (uint32_t i = 0; i < kTotal; ++i) REQUIRE(index_of(got[i]) == i);
    const auto c = server.counters();
    CHECK(c.frames_out == kTotal);
    CHECK(c.queue_full_waits > 0);
    CHECK(c.drop_no_peer + c.drop_shutdown == 0);
    ::close(peer);
}

// A unix server with a 4-packet output queue and a connected raw peer that
// reads nothing unless a test does.
struct TinyQueue {
    testing::TempDir dir{"colo-endpoint"};
    Sink sink;
    StreamEndpoint server;
    int peer = -1;

    explicit TinyQueue(std::chrono::milliseconds stop_flush_timeout = 1000ms, std::function<bool()> owner_stopping = {},
                       std::chrono::milliseconds stall_timeout = StreamEndpointConfig{}.stall_timeout)
        : server([&] {
              auto c = config(dir.unix_address("tiny.sock"), Mode::server);
              c.send_queue_packets = 4;
              c.stop_flush_timeout = stop_flush_timeout;
              c.stall_timeout = stall_timeout;
              return c;
          }())
    {
        sink.attach(server);
        if (owner_stopping) server.stop_waiting_when(std::move(owner_stopping));
        server.start();
        peer = raw_connect(server);
        REQUIRE(wait_until([&] { return server.connected(); }));
    }
    ~TinyQueue() { ::close(peer); }
};

// send() on a thread of its own, seen waiting for the peer that reads nothing.
struct WaitingSend {
    std::atomic<std::size_t> accepted{SIZE_MAX};
    std::thread thread;

    WaitingSend(StreamEndpoint& server, std::vector<Packet> burst)
        : thread([this, &server, burst = std::move(burst)] { accepted = server.send(burst); })
    {
        REQUIRE(wait_until([&] { return server.counters().frames_out > 0; }));
        std::this_thread::sleep_for(50ms);
        CHECK(accepted.load() == SIZE_MAX); // still waiting
    }
    std::size_t join()
    {
        thread.join();
        return accepted.load();
    }
};

TEST_CASE("StreamEndpoint: a waiting send() gives up when the peer leaves", "[endpoint]")
{
    TinyQueue q;
    constexpr uint32_t kTotal = 2000;
    WaitingSend sending(q.server, numbered_run(0, kTotal));
    ::close(q.peer);
    q.peer = -1;
    CHECK(sending.join() < kTotal);
    REQUIRE(wait_until([&] { return !q.server.connected(); }));
    const auto c = q.server.counters();
    CHECK(c.queue_full_waits == 1);
    // Each packet was written, or dropped for want of a peer: never lost silently.
    CHECK(c.frames_out + c.drop_no_peer == kTotal);
    CHECK(c.drop_shutdown == 0);

    // With no peer at all, send() drops at once, as before.
    CHECK(q.server.send(numbered_run(0, kTotal)) == 0);
    CHECK(q.server.counters().drop_no_peer == c.drop_no_peer + kTotal);
}

TEST_CASE("StreamEndpoint: stop() ends a send() waiting for a peer that never reads", "[endpoint]")
{
    TinyQueue q(100ms);
    constexpr uint32_t kTotal = 2000;
    WaitingSend sending(q.server, numbered_run(0, kTotal));
    q.server.stop();
    CHECK(sending.join() < kTotal);
    const auto c = q.server.counters();
    CHECK(c.frames_out + c.drop_shutdown == kTotal); // the rest, queued or not, counted at shutdown
    CHECK(c.drop_no_peer == 0);
}

TEST_CASE("StreamEndpoint: once the owner stops, a full queue waits only for a peer that reads", "[endpoint]")
{
    std::atomic<bool> owner_stopping{true};
    TinyQueue q(200ms, [&] { return owner_stopping.load(); });

    // A reader that pauses 50 ms between reads: slow, but it reads, so a
    // stopping owner still gets everything through.
    constexpr uint32_t kSlow = 300;
    std::vector<Packet> got;
    std::thread reader([&] { got = read_slowly(q.peer, kSlow, 16384, 50ms); });
    CHECK(q.server.send(numbered_run(0, kSlow)) == kSlow);
    reader.join();
    REQUIRE(got.size() == kSlow);
    CHECK(q.server.counters().drop_shutdown == 0);

    // Now it reads nothing: send() gives up after stop_flush_timeout...
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t first = q.server.send(numbered_run(kSlow, 2000));
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(first < 2000);
    CHECK(waited >= 200ms);
    CHECK(waited < 5s);
    const auto c = q.server.counters();
    CHECK(c.drop_shutdown == 2000 - first);
    // ... and later calls do not wait again for the same stuck peer.
    const auto t1 = std::chrono::steady_clock::now();
    CHECK(q.server.send(numbered_run(kSlow + 2000, 100)) == 0);
    CHECK(std::chrono::steady_clock::now() - t1 < 150ms);
    CHECK(q.server.counters().drop_shutdown == c.drop_shutdown + 100);
}

TEST_CASE("StreamEndpoint: a peer that reads nothing costs one stall_timeout, each drop counted, and reading restores "
          "the wait",
          "[endpoint]")
{
    TinyQueue q(1000ms, {}, 200ms);
    const std::string warning = q.server.address() + ": the peer has read nothing for 200 ms";

    // Far more than the queue and the socket buffer hold: send() waits
    // 200 ms for a reader, then drops the rest and counts each one.
    constexpr uint32_t kBurst = 2000;
    std::atomic<std::size_t> returned{SIZE_MAX};
    std::chrono::steady_clock::duration waited{};
    std::thread sender([&] {
        const auto t0 = std::chrono::steady_clock::now();
        const std::size_t n = q.server.send(numbered_run(0, kBurst));
        waited = std::chrono::steady_clock::now() - t0;
        returned = n;
    });
    const bool gave_up = wait_until([&] { return returned.load() != SIZE_MAX; }, 10s);
    if (!gave_up) q.server.stop(); // a send() that waits for ever: end it, and fail
    sender.join();
    REQUIRE(gave_up);
    const std::size_t first = returned.load();
    CHECK(first >= 4);
    CHECK(first < kBurst);
    CHECK(waited >= 200ms);
    CHECK(waited < 2s);
    const auto c = q.server.counters();
    CHECK(c.drop_stalled == kBurst - first);
    CHECK(c.stalls == 1);
    CHECK(c.queue_full_waits == 1);
    CHECK(c.drop_no_peer + c.drop_shutdown == 0);
    CHECK(q.sink.logged_count(warning) == 1);

    // The peer is stalled: the next send() does not wait again.
    const auto t1 = std::chrono::steady_clock::now();
    CHECK(q.server.send(numbered_run(kBurst, 100)) == 0);
    CHECK(std::chrono::steady_clock::now() - t1 < 100ms);
    const auto c1 = q.server.counters();
    CHECK(c1.drop_stalled == c.drop_stalled + 100);
    CHECK(c1.stalls == 1);
    CHECK(c1.queue_full_waits == 1);
    CHECK(q.sink.logged_count(warning) == 1);

    // The peer starts reading, slowly: what was queued goes out, the stall
    // ends (logged, with what it cost), and a full queue waits for the
    // reader again: nothing more is dropped.
    constexpr uint32_t kMore = 1000;
    std::vector<Packet> got;
    std::thread reader([&] { got = read_slowly(q.peer, first + kMore, 16384, 2ms); });
    REQUIRE(wait_until([&] { return q.server.counters().frames_out == first; }, 5s));
    CHECK(wait_until([&] {
        return q.sink.logged(q.server.address() + ": the peer reads again after a stall; " +
                             std::to_string(c1.drop_stalled) + " packets were dropped meanwhile (drop_stalled)");
    }));
    CHECK(q.server.send(numbered_run(kBurst + 100, kMore)) == kMore);
    reader.join();
    REQUIRE(got.size() == first + kMore);
    for (uint32_t i = 0; i < first; ++i) REQUIRE(index_of(got[i]) == i);
    for (uint32_t i = 0; i < kMore; ++i) REQUIRE(index_of(got[first + i]) == kBurst + 100 + i);
    const auto c2 = q.server.counters();
    CHECK(c2.queue_full_waits > 1);
    CHECK(c2.drop_stalled == c1.drop_stalled);
    CHECK(c2.stalls == 1);
    CHECK(c2.frames_out == first + kMore);
    CHECK(q.sink.logged_count(warning) == 1);
}

// Two processes whose sockets feed each other (the primary's mirror output to
// the secondary, the secondary's compare output back to the primary) each
// have one I/O thread, held by an input handler while the graph behind it
// waits on an output. Here one process plays both: `relay_in`'s handler runs
// on the I/O thread and answers every request on `relay_out`, whose reader
// (`back`) only that same I/O thread can run. A 1,000-byte request gets a
// 16 KiB answer, so one read of requests holds more answers than the
// relay_out socket does: its send() waits for a reader that cannot run, and
// the test thread's flood into `front` waits for relay_in to be read. Bounded
// by stall_timeout, relay_out drops what does not fit and counts it, and
// everything keeps moving.
TEST_CASE(
    "StreamEndpoint: outputs waiting for each other through the shared I/O thread make progress after stall_timeout",
    "[endpoint]")
{
    testing::TempDir dir{"colo-endpoint"};
    Sink back_sink;
    Sink relay_log;
    auto front_cfg = config(dir.unix_address("front.sock"), Mode::server);
    front_cfg.send_queue_packets = 4;
    StreamEndpoint front(front_cfg); // default stall_timeout (2 s): it never gives up here
    StreamEndpoint relay_in(config(front.address(), Mode::client));
    StreamEndpoint back(config(dir.unix_address("back.sock"), Mode::server));
    auto out_cfg = config(back.address(), Mode::client);
    out_cfg.send_queue_packets = 4;
    out_cfg.stall_timeout = 200ms;
    StreamEndpoint relay_out(out_cfg);
    back_sink.attach(back);
    relay_log.attach(relay_out);
    relay_in.on_frames([&](std::vector<Packet>& requests) {
        std::vector<Packet> answers;
        for (const Packet& r : requests) answers.push_back(numbered(index_of(r), 16384));
        relay_out.send(answers);
    });
    front.start();
    back.start();
    relay_in.start();
    relay_out.start();
    REQUIRE(wait_until([&] { return front.connected() && relay_out.connected() && relay_in.connected(); }));

    constexpr uint32_t kRequests = 1000;
    std::atomic<bool> done{false};
    std::size_t accepted = 0;
    std::thread flood([&] {
        accepted = front.send(numbered_run(0, kRequests));
        done = true;
    });
    const bool finished = wait_until([&] { return done.load(); }, 20s);
    if (!finished) {
        // Deadlocked: stop() ends the waits, so that the test can fail.
        relay_out.stop();
        front.stop();
    }
    flood.join();
    REQUIRE(finished);
    CHECK(accepted == kRequests);

    // Every request was answered: the answer arrived, or relay_out counted
    // it as dropped for its stalled reader. Nothing else was lost.
    const auto settled = [&] { return back_sink.count() + relay_out.counters().drop_stalled == kRequests; };
    CHECK(wait_until(settled, 10s));
    const auto f = front.counters(), ri = relay_in.counters(), ro = relay_out.counters();
    CHECK(f.frames_out == kRequests);
    CHECK(f.drop_stalled + f.drop_no_peer + f.drop_shutdown == 0);
    CHECK(ri.frames_in == kRequests);
    CHECK(ro.stalls >= 1); // the wait for each other did happen
    CHECK(ro.drop_stalled > 0);
    CHECK(ro.drop_no_peer + ro.drop_shutdown == 0);
    CHECK(ro.frames_out == back_sink.count());
    CHECK(relay_log.logged_count(relay_out.address() + ": the peer has read nothing for 200 ms") == ro.stalls);
    {
        std::lock_guard lock(back_sink.mu);
        for (std::size_t i = 1; i < back_sink.frames.size(); ++i)
            REQUIRE(index_of(back_sink.frames[i - 1]) < index_of(back_sink.frames[i]));
    }
    relay_in.stop();
    relay_out.stop();
}

TEST_CASE("StreamEndpoint: unix socket permissions and stale files", "[endpoint]")
{
    testing::TempDir dir{"colo-endpoint"};
    const auto path = dir.path / "perm.sock";

    // A socket file left behind by a dead process is replaced.
    {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        std::strcpy(un.sun_path, path.c_str());
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) == 0);
        ::close(fd);
    }
    {
        StreamEndpoint server(config("unix:" + path.string(), Mode::server));
        server.start();
        struct stat st {};
        REQUIRE(::lstat(path.c_str(), &st) == 0);
        CHECK(S_ISSOCK(st.st_mode));
        CHECK((st.st_mode & 07777) == 0600);
        server.stop();
        CHECK_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path)));
    }

    // Anything else at the path is left alone.
    const auto target = dir.path / "precious";
    std::ofstream(target) << "data";
    std::filesystem::create_symlink(target, path);
    StreamEndpoint via_symlink(config("unix:" + path.string(), Mode::server));
    CHECK_THROWS_WITH(via_symlink.start(), Catch::Contains("is a symbolic link; refusing to follow it"));
    CHECK(std::filesystem::is_symlink(path));
    CHECK(std::filesystem::file_size(target) == 4);

    std::filesystem::remove(path);
    std::filesystem::copy_file(target, path);
    StreamEndpoint over_file(config("unix:" + path.string(), Mode::server));
    CHECK_THROWS_WITH(over_file.start(), Catch::Contains("not a socket"));
    CHECK(std::filesystem::is_regular_file(path));
}

TEST_CASE("StreamEndpoint: client retries with backoff and reconnects", "[endpoint]")
{
    testing::TempDir dir{"colo-endpoint"};
    const std::string address = dir.unix_address("re.sock");
    Sink client_sink;
    StreamEndpoint client(config(address, Mode::client));
    client_sink.attach(client);
    client.start();

    // No server yet: attempts at 10, 20, 40, 40 ... ms; one message per streak.
    REQUIRE(wait_until([&] { return client.counters().reconnect_attempts >= 3; }));
    CHECK(client_sink.logged_count(address + ": connect failed: ") == 1);
    std::vector<Packet> lost = {numbered(7)};
    CHECK(client.send(lost) == 0);

    for (int round = 0; round < 2; ++round) {
        CAPTURE(round);
        Sink sink;
        StreamEndpoint server(config(address, Mode::server));
        sink.attach(server);
        server.start();
        REQUIRE(wait_until([&] { return client.connected(); }));
        std::vector<Packet> one = {numbered(100 + round)};
        REQUIRE(client.send(one) == 1);
        REQUIRE(wait_until([&] { return sink.count() == 1; }));
        {
            std::lock_guard lock(sink.mu);
            CHECK(index_of(sink.frames[0]) == 100u + round);
        }
        server.stop();
        // Until the client notices, what it sends is lost: wait for that first.
        REQUIRE(wait_until([&] { return client.counters().disconnects == unsigned(round) + 1; }));
    }
    const auto c = client.counters();
    CHECK(c.connections == 2);
    CHECK(c.drop_no_peer == 1);
    CHECK(c.frames_out == 2);
}

TEST_CASE("StreamEndpoint: stop() flushes queued output", "[endpoint]")
{
    Sink sink;
    StreamEndpoint server(config("tcp:127.0.0.1:0", Mode::server));
    sink.attach(server);
    server.start();

    StreamEndpoint client(config(server.address(), Mode::client));
    client.start();
    REQUIRE(wait_until([&] { return client.connected(); }));
    std::vector<Packet> batch;
    for (uint32_t i = 0; i < 5000; ++i) batch.push_back(numbered(i, 1000));
    REQUIRE(client.send(batch) == batch.size());
    client.stop();
    const auto c = client.counters();
    CHECK(c.frames_out == 5000);
    CHECK(c.drop_shutdown == 0);
    REQUIRE(wait_until([&] { return sink.count() == 5000; }));
}

TEST_CASE("StreamEndpoint: VNET_LEN can be inbound only (notify channel)", "[endpoint]")
{
    auto cfg = config("tcp:127.0.0.1:0", Mode::server);
    cfg.vnet_hdr_in = true;
    cfg.vnet_hdr_out = false;
    StreamEndpoint server(cfg);
    server.on_frames([&](std::vector<Packet>& batch) { server.send(batch); }); // echo
    server.start();

    const int peer = raw_connect(server);
    const Bytes msg = body(15, 'A');
    raw_write(peer, record(msg, 15, /*vnet=*/true, 0));
    Bytes want = record(msg, 15); // echoed without the VNET_LEN word
    Bytes got(want.size());
    std::size_t have = 0;
    while (have < got.size()) {
        const ssize_t r = ::recv(peer, got.data() + have, got.size() - have, 0);
        REQUIRE(r > 0);
        have += std::size_t(r);
    }
    CHECK(got == want);
    ::close(peer);
}

TEST_CASE("StreamEndpoint: all endpoints share one I/O thread, and stopping one leaves the others serving",
          "[endpoint]")
{
    testing::TempDir dir{"colo-endpoint"};
    std::mutex mu;
    std::vector<std::thread::id> handler_threads;
    auto note_thread = [&](std::vector<Packet>&) {
        std::lock_guard lock(mu);
        handler_threads.push_back(std::this_thread::get_id());
    };
    StreamEndpoint a(config(dir.unix_address("a.sock"), Mode::server));
    StreamEndpoint b(config(dir.unix_address("b.sock"), Mode::server));
    a.on_frames(note_thread);
    b.on_frames(note_thread);
    a.start();
    b.start();
    const int fa = raw_connect(a), fb = raw_connect(b);
    raw_write(fa, record(body(60, 1), 60));
    raw_write(fb, record(body(60, 2), 60));
    const auto handled = [&](std::size_t n) {
        std::lock_guard lock(mu);
        return handler_threads.size() == n;
    };
    REQUIRE(wait_until([&] { return handled(2); }));
    CHECK(handler_threads[0] == handler_threads[1]);
    CHECK(handler_threads[0] != std::this_thread::get_id());

    a.stop();
    raw_write(fb, record(body(60, 3), 60));
    REQUIRE(wait_until([&] { return handled(3); }));
    CHECK(b.counters().frames_in == 2);
    ::close(fa);
    ::close(fb);
}

TEST_CASE("StreamEndpoint: a read of small records hands over at most 256 and lets the other inputs in", "[endpoint]")
{
    // Both sockets fill while the I/O thread is held in a's handler; then a
    // must not read all its records before b gets a turn (the comparator
    // waits for b's records to release a's).
    constexpr uint32_t kRecords = 1200, kLen = 64;
    testing::TempDir dir{"colo-endpoint"};
    std::mutex mu;
    std::condition_variable cv;
    bool holding = false, go = false;
    std::vector<std::pair<char, std::size_t>> batches; // (endpoint, records), in delivery order
    auto note = [&](char who) {
        return [&, who](std::vector<Packet>& batch) {
            std::unique_lock lock(mu);
            batches.emplace_back(who, batch.size());
            if (who == 'a' && batches.size() == 1) {
                holding = true;
                cv.notify_all();
                cv.wait_for(lock, 5s, [&] { return go; });
            }
        };
    };
    StreamEndpoint a(config(dir.unix_address("a.sock"), Mode::server));
    StreamEndpoint b(config(dir.unix_address("b.sock"), Mode::server));
    a.on_frames(note('a'));
    b.on_frames(note('b'));
    a.start();
    b.start();
    const int fa = raw_connect(a), fb = raw_connect(b);
    raw_write(fa, record(body(kLen, 0), kLen));
    {
        std::unique_lock lock(mu);
        REQUIRE(cv.wait_for(lock, 1500ms, [&] { return holding; }));
    }
    Bytes many;
    for (uint32_t i = 0; i < kRecords; ++i) {
        const Bytes r = record(body(kLen, uint8_t(i)), kLen);
        many.insert(many.end(), r.begin(), r.end());
    }
    raw_write(fa, many);
    raw_write(fb, many);
    {
        std::lock_guard lock(mu);
        go = true;
    }
    cv.notify_all();
    REQUIRE(wait_until([&] { return a.counters().frames_in == kRecords + 1 && b.counters().frames_in == kRecords; }));

    std::lock_guard lock(mu);
    std::size_t a_before_b = 0, largest_a = 0;
    bool b_seen = false;
    for (const auto& [who, n] : batches) {
        b_seen = b_seen || who == 'b';
        if (who == 'a') largest_a = std::max(largest_a, n);
        if (who == 'a' && !b_seen) a_before_b += n;
    }
    CHECK(largest_a <= 256);
    CHECK(a_before_b < kRecords / 2);
    ::close(fa);
    ::close(fb);
}

TEST_CASE("StreamEndpoint: whoever sees the peer connected finds the line that says so", "[endpoint]")
{
    testing::TempDir dir{"colo-endpoint"};
    StreamEndpoint server(config(dir.unix_address("c.sock"), Mode::server));
    std::mutex mu;
    std::vector<std::string> logs;
    server.on_log([&](StreamEndpoint::LogLevel, std::string_view msg) {
        // A slow log sink (a terminal, a journal) widens the window a test thread may look into.
        std::this_thread::sleep_for(50ms);
        std::lock_guard lock(mu);
        logs.emplace_back(msg);
    });
    server.start();
    const int fd = raw_connect(server);
    REQUIRE(wait_until([&] { return server.connected(); }));
    {
        std::lock_guard lock(mu);
        CHECK(std::any_of(logs.begin(), logs.end(),
                          [](const std::string& l) { return l.find(": peer connected") != std::string::npos; }));
    }
    ::close(fd);
}

TEST_CASE("StreamEndpoint: with nothing queued, send() has written the record when it returns", "[endpoint]")
{
    testing::TempDir dir{"colo-endpoint"};
    StreamEndpoint server(config(dir.unix_address("w.sock"), Mode::server));
    server.start();
    const int fd = raw_connect(server);
    REQUIRE(wait_until([&] { return server.connected(); }));
    for (uint32_t i = 0; i < 100; ++i) {
        const Packet p = numbered(i, 100);
        REQUIRE(server.send({&p, 1}) == 1);
        // Already in our receive queue: no other thread had to run first.
        uint8_t got[4 + 100];
        REQUIRE(::recv(fd, got, sizeof got, MSG_DONTWAIT) == ssize_t(sizeof got));
        CHECK(load_be32(got) == 100);
        CHECK(load_be32(got + 4) == i);
    }
    ::close(fd);
}

// ---------------------------------------------------------------- TLS

namespace {

StreamEndpointConfig tls_config(std::string address, Mode mode, const char* creds)
{
    StreamEndpointConfig c = config(std::move(address), mode);
    c.tls.creds_dir = colo::test::TlsTestCreds::get().dir(creds);
    return c;
}

} // namespace

TEST_CASE("StreamEndpoint over TLS: 100000 frames both ways in order through short reads and records GnuTLS holds",
          "[endpoint][tls]")
{
    auto server_cfg = tls_config("tcp:127.0.0.1:0", Mode::server, "good");
    server_cfg.send_queue_packets = 1000; // the echo waits for room: writes meet GNUTLS_E_AGAIN
    // Reads shorter than a TLS record: the rest of each record waits inside
    // GnuTLS, unseen by poll(), and must be read before the next poll.
    server_cfg.read_chunk = 1000;
    Sink server_sink;
    StreamEndpoint server(server_cfg);
    server_sink.attach(server);
    server.on_frames([&](std::vector<Packet>& batch) { server.send(batch); }); // echo
    server.start();

    auto client_cfg = tls_config(server.address(), Mode::client, "good"); // checks the name 127.0.0.1
    client_cfg.send_queue_packets = 1000;
    Sink back;
    StreamEndpoint client(client_cfg);
    back.attach(client);
    client.start();
    REQUIRE(wait_until([&] { return client.connected() && server.connected(); }, 5000ms));
    CHECK(server_sink.logged(": peer connected ((TLS1.3)"));

    constexpr uint32_t kFrames = 100000;
    std::vector<Packet> batch;
    for (uint32_t i = 0; i < kFrames; ++i) {
        batch.push_back(numbered(i, 60 + (i * 37) % 1455));
        if (batch.size() == 250) {
            REQUIRE(client.send(batch) == batch.size());
            batch.clear();
        }
    }
    REQUIRE(wait_until([&] { return back.count() == kFrames; }, 20000ms));
    {
        std::lock_guard lock(back.mu);
        for (uint32_t i = 0; i < kFrames; ++i) {
            REQUIRE(index_of(back.frames[i]) == i);
            REQUIRE(back.frames[i].len == 60 + (i * 37) % 1455);
            REQUIRE(intact(back.frames[i], i));
        }
    }
    const auto cc = client.counters();
    const auto sc = server.counters();
    CHECK(sc.frames_in == kFrames);
    CHECK(sc.frames_out == kFrames);
    CHECK(sc.bytes_in == cc.bytes_out);
    CHECK(cc.tls_refused + sc.tls_refused == 0);
    CHECK(cc.drop_no_peer + cc.drop_shutdown + sc.drop_no_peer + sc.drop_shutdown + sc.drop_stalled == 0);

    // The last frames of a burst come out too, with no more data behind them
    // to wake the reader: a burst ending in a record larger than read_chunk.
    const std::size_t before = back.count();
    std::vector<Packet> tail;
    for (uint32_t i = 0; i < 11; ++i) tail.push_back(numbered(kFrames + i, 1450));
    REQUIRE(client.send(tail) == tail.size());
    CHECK(wait_until([&] { return back.count() == before + 11; }, 2000ms));
    client.stop();
    server.stop();
}

TEST_CASE("StreamEndpoint over TLS: a server logs and counts each refusal and goes on listening", "[endpoint][tls]")
{
    auto server_cfg = tls_config("tcp:127.0.0.1:0", Mode::server, "good");
    server_cfg.tls.handshake_timeout = 300ms;
    Sink server_sink;
    StreamEndpoint server(server_cfg);
    server_sink.attach(server);
    server.on_frames([&](std::vector<Packet>& batch) { server.send(batch); }); // echo
    server.start();
    const std::string refused = server.address() + ": TLS handshake with 127.0.0.1:";
    auto refusals = [&] { return server.counters().tls_refused; };

    // A peer without TLS: a plaintext chardev record.
    {
        const int fd = raw_connect(server);
        raw_write(fd, record(body(100, 1), 100));
        REQUIRE(wait_until([&] { return refusals() == 1; }));
        char byte;
        CHECK(::recv(fd, &byte, 1, 0) <= 0); // closed on it (or sent an alert first)
        ::close(fd);
        CHECK(server_sink.logged("failed: "));
        CHECK(server_sink.logged("(a peer without TLS?); connection closed"));
    }
    // A peer that says nothing.
    {
        // Taken before connecting: the server may accept, and start its
        // handshake clock, before connect() returns here.
        const auto started = std::chrono::steady_clock::now();
        const int fd = raw_connect(server);
        REQUIRE(wait_until([&] { return refusals() == 2; }));
        CHECK(std::chrono::steady_clock::now() - started >= 300ms);
        ::close(fd);
        CHECK(server_sink.logged("failed: no handshake within 300 ms; connection closed"));
    }
    // Certificates from another CA, and expired ones.
    for (const char* creds : {"other-ca", "expired"}) {
        auto cfg = tls_config(server.address(), Mode::client, creds);
        cfg.tls.verify_peer = false; // a stranger need not check us
        StreamEndpoint stranger(cfg);
        stranger.on_log([](StreamEndpoint::LogLevel, std::string_view) {});
        const uint64_t before = refusals();
        stranger.start();
        REQUIRE(wait_until([&] { return refusals() > before; }));
        stranger.stop();
    }
    CHECK(server_sink.logged_count(refused) >= 4);
    CHECK(server_sink.logged("failed: the peer's certificate is not signed by our ca-cert.pem (another CA?)"));
    CHECK(server_sink.logged("failed: the peer's certificate (or its CA's) has expired"));
    CHECK(server.counters().connections == 0);

    // A good peer is still served.
    Sink back;
    StreamEndpoint client(tls_config(server.address(), Mode::client, "good"));
    back.attach(client);
    client.start();
    REQUIRE(wait_until([&] { return client.connected(); }));
    std::vector<Packet> frames{numbered(1), numbered(2)};
    REQUIRE(client.send(frames) == 2);
    REQUIRE(wait_until([&] { return back.count() == 2; }));
    CHECK(server.counters().connections == 1);
    CHECK(client.counters().tls_refused == 0);
    client.stop();
    server.stop();
}

TEST_CASE("StreamEndpoint over TLS: a client refuses a server with the wrong name or without TLS, and retries",
          "[endpoint][tls]")
{
    SECTION("a certificate for another name")
    {
        StreamEndpoint server(tls_config("tcp:127.0.0.1:0", Mode::server, "wrong-name"));
        server.on_log([](StreamEndpoint::LogLevel, std::string_view) {});
        server.start();
        Sink sink;
        StreamEndpoint client(tls_config(server.address(), Mode::client, "good"));
        sink.attach(client);
        client.start();
        REQUIRE(wait_until([&] { return client.counters().tls_refused >= 3; }));
        CHECK_FALSE(client.connected());
        // One line per failure streak.
        CHECK(sink.logged_count(client.address() +
                                ": TLS handshake with the server failed: the peer's certificate does not carry the "
                                "host name 127.0.0.1, retrying") == 1);
        client.stop();
        server.stop();
    }
    SECTION("the name given by tls_hostname")
    {
        auto server_cfg = tls_config("tcp:127.0.0.1:0", Mode::server, "good");
        StreamEndpoint server(server_cfg);
        server.on_log([](StreamEndpoint::LogLevel, std::string_view) {});
        server.start();
        auto cfg = tls_config(server.address(), Mode::client, "good");
        cfg.tls.hostname = "primary.example";
        Sink sink;
        StreamEndpoint client(cfg);
        sink.attach(client);
        client.start();
        REQUIRE(wait_until([&] { return client.counters().tls_refused >= 1; }));
        CHECK(sink.logged("does not carry the host name primary.example"));
        client.stop();
        server.stop();
    }
    SECTION("a server without TLS")
    {
        StreamEndpoint server(config("tcp:127.0.0.1:0", Mode::server));
        Sink server_sink;
        server_sink.attach(server);
        server.start();
        Sink sink;
        StreamEndpoint client(tls_config(server.address(), Mode::client, "good"));
        sink.attach(client);
        client.start();
        REQUIRE(wait_until([&] { return client.counters().tls_refused >= 2; }));
        CHECK_FALSE(client.connected());
        CHECK(sink.logged("TLS handshake with the server failed: "));
        // The plaintext server read our ClientHello as an oversized record.
        CHECK(server.counters().drop_oversize >= 1);
        client.stop();
        server.stop();
    }
}
