// HeartbeatLink: pulses both ways, up at the first pulse, down once for
// "heartbeat" (silent but connected) or "disconnect", wrong peers refused.
// These are timing tests on shared machines: they wait for conditions with
// generous limits and assert no upper bound tighter than 10 times the
// timeout, and no exact pulse count.
#include <catch2/catch.hpp>

#include "nodes/io/heartbeat_link.hh"
#include "tests/io/tls_test_creds.hh"
#include "tests/temp_dir.hh"
#include "tests/wait_until.hh"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

using namespace colo;
using namespace std::chrono_literals;
using Mode = HeartbeatConfig::Mode;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kInterval = 20ms;
constexpr auto kTimeout = 200ms;
using testing::kPatience;
using testing::wait_until;

HeartbeatConfig config(std::string address, Mode mode)
{
    HeartbeatConfig c;
    c.address = std::move(address);
    c.mode = mode;
    c.interval = kInterval;
    c.timeout = kTimeout;
    c.reconnect_min = 10ms;
    c.reconnect_max = 40ms;
    return c;
}

// What a link reported, readable from the test thread. Declare it before the
// link it is attached to, so that it outlives the link's thread.
struct Observer {
    struct Event {
        bool up;
        std::string reason;
        Clock::time_point at;
    };
    std::mutex mu;
    std::vector<Event> events;
    std::vector<std::string> logs;

    void attach(HeartbeatLink& link)
    {
        link.on_status([this](bool up, std::string_view reason) {
            std::lock_guard lock(mu);
            events.push_back({up, std::string(reason), Clock::now()});
        });
        link.on_log([this](std::string_view msg) {
            std::lock_guard lock(mu);
            logs.emplace_back(msg);
        });
    }
    std::size_t count()
    {
        std::lock_guard lock(mu);
        return events.size();
    }
    Event at(std::size_t i)
    {
        std::lock_guard lock(mu);
        return events.at(i);
    }
    bool logged(const std::string& text)
    {
        std::lock_guard lock(mu);
        for (const auto& l : logs)
            if (l.find(text) != std::string::npos) return true;
        return false;
    }
};

// A blocking raw socket, standing in for a frozen or a wrong peer.
struct RawPeer {
    int fd = -1;
    explicit RawPeer(const std::string& address)
    {
        const ResolvedAddress r = resolve(SocketAddress::parse(address));
        fd = ::socket(r.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        REQUIRE(::connect(fd, r.get(), r.len) == 0);
        timeval tv{0, 100'000};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    explicit RawPeer(int accepted) : fd(accepted) {}
    ~RawPeer()
    {
        if (fd >= 0) ::close(fd);
    }
    void send(const void* data, std::size_t len) { REQUIRE(::send(fd, data, len, MSG_NOSIGNAL) == ssize_t(len)); }
    void pulse(uint32_t sequence, uint32_t version = kHeartbeatVersion)
    {
        const Pulse p = encode_pulse(sequence, version);
        send(p.data(), p.size());
    }
    // Reads until the other end closes; false if it still has not after `limit`.
    bool closed_by_peer(std::chrono::milliseconds limit = kPatience)
    {
        const auto deadline = Clock::now() + limit;
        char buf[256];
        while (Clock::now() < deadline) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n == 0) return true;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;
        }
        return false;
    }
};

// A listening socket the test accepts on by hand, for a client's peer.
struct RawServer {
    int fd = -1;
    std::string address;
    explicit RawServer(const testing::TempDir& dir)
    {
        address = dir.unix_address("raw.sock");
        const ResolvedAddress r = resolve(SocketAddress::parse(address));
        fd = ::socket(r.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        REQUIRE(::bind(fd, r.get(), r.len) == 0);
        REQUIRE(::listen(fd, 4) == 0);
    }
    ~RawServer()
    {
        if (fd >= 0) ::close(fd);
    }
    int accept_one()
    {
        const int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
        REQUIRE(c >= 0);
        timeval tv{0, 100'000};
        ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        return c;
    }
};

} // namespace

TEST_CASE("HeartbeatLink: a pulse is CGHB, a version and a sequence, and anything else is refused", "[heartbeat]")
{
    const Pulse p = encode_pulse(0x01020304);
    CHECK(std::string(p.begin(), p.begin() + 4) == "CGHB");
    CHECK(std::vector<uint8_t>(p.begin() + 4, p.end()) == std::vector<uint8_t>{0, 0, 0, 1, 1, 2, 3, 4});
    for (std::size_t len = 1; len <= kPulseLen; ++len) CHECK(pulse_error(p.data(), len).empty());

    const uint8_t qemu_record[] = {0, 0, 0, 60, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1};
    CHECK_THAT(pulse_error(qemu_record, 1), Catch::Contains("not a colo-graph heartbeat") && Catch::Contains("00"));
    const uint8_t wrong_magic[] = {'C', 'G', 'X'};
    CHECK(pulse_error(wrong_magic, 2).empty()); // "CG" may yet be a pulse
    CHECK_THAT(pulse_error(wrong_magic, 3), Catch::Contains("43 47 58"));
    const Pulse v2 = encode_pulse(7, 2);
    CHECK(pulse_error(v2.data(), 7).empty());
    CHECK_THAT(pulse_error(v2.data(), 8), Catch::Contains("version 2") && Catch::Contains("speaks 1"));
}

TEST_CASE("HeartbeatLink: the timeout must be longer than the interval", "[heartbeat]")
{
    HeartbeatConfig c = config("unix:/tmp/unused.sock", Mode::server);
    c.timeout = c.interval;
    CHECK_THROWS_WITH(HeartbeatLink(c), Catch::Contains("timeout (20 ms) must be longer than the pulse interval"));
    c.timeout = 10ms;
    CHECK_THROWS_AS(HeartbeatLink(c), std::invalid_argument);
    CHECK_THROWS_AS(HeartbeatLink(config("udp:1.2.3.4:5", Mode::client)), std::invalid_argument);
}

TEST_CASE("HeartbeatLink: server and client come up once pulses flow, and a closed end is a disconnect", "[heartbeat]")
{
    testing::TempDir dir{"colo-heartbeat"};
    Observer server_seen, client_seen;
    HeartbeatLink server(config(dir.unix_address("hb.sock"), Mode::server));
    server_seen.attach(server);
    server.start();
    CHECK(server_seen.logged("listening"));
    {
        HeartbeatLink client(config(server.address(), Mode::client));
        client_seen.attach(client);
        client.start();
        REQUIRE(wait_until([&] { return server.up() && client.up(); }));
        // Several intervals: still one report each, and pulses both ways.
        REQUIRE(wait_until(
            [&] { return server.counters().pulses_received >= 5 && client.counters().pulses_received >= 5; }));
        CHECK(server_seen.count() == 1);
        CHECK(client_seen.count() == 1);
        CHECK(server_seen.at(0).up);
        CHECK(server_seen.at(0).reason.empty());
        CHECK(client_seen.at(0).up);
        const auto cc = client.counters();
        CHECK(cc.pulses_sent >= 5);
        CHECK(cc.connections == 1);
        CHECK(cc.losses == 0);
        CHECK(cc.peer_up == 1);
        CHECK(cc.bad_records == 0);
    } // the client closes its end

    REQUIRE(wait_until([&] { return server_seen.count() >= 2; }));
    CHECK_FALSE(server_seen.at(1).up);
    CHECK(server_seen.at(1).reason == "disconnect");
    CHECK_FALSE(server.up());
    std::this_thread::sleep_for(3 * kTimeout); // no second "down" for the same loss
    CHECK(server_seen.count() == 2);
    const auto sc = server.counters();
    CHECK(sc.losses == 1);
    CHECK(sc.recoveries == 0);
    CHECK(sc.peer_up == 0);

    // A new client: the server's peer is back (a recovery), and when the
    // server goes, the client sees a disconnect too.
    Observer again_seen;
    HeartbeatLink again(config(server.address(), Mode::client));
    again_seen.attach(again);
    again.start();
    REQUIRE(wait_until([&] { return server.up() && again.up(); }));
    CHECK(server.counters().recoveries == 1);
    server.stop();
    REQUIRE(wait_until([&] { return again_seen.count() >= 2; }));
    CHECK_FALSE(again_seen.at(1).up);
    CHECK(again_seen.at(1).reason == "disconnect");
    CHECK(again.counters().losses == 1);
}

TEST_CASE("HeartbeatLink: a client waits for a server that is not there yet, logging one failure", "[heartbeat]")
{
    testing::TempDir dir{"colo-heartbeat"};
    const std::string address = dir.unix_address("late.sock");
    Observer client_seen;
    HeartbeatLink client(config(address, Mode::client));
    client_seen.attach(client);
    client.start();
    std::this_thread::sleep_for(3 * kTimeout);
    CHECK(client_seen.count() == 0); // never up, so never down
    CHECK(client_seen.logged("connect failed"));

    Observer server_seen;
    HeartbeatLink server(config(address, Mode::server));
    server_seen.attach(server);
    server.start();
    REQUIRE(wait_until([&] { return client.up() && server.up(); }));
    CHECK(client_seen.count() == 1);
    std::lock_guard lock(client_seen.mu);
    std::size_t failures = 0;
    for (const auto& l : client_seen.logs) failures += l.find("connect failed") != std::string::npos;
    CHECK(failures == 1);
}

TEST_CASE("HeartbeatLink: a peer that stops pulsing but stays connected is lost by heartbeat, and back when it "
          "pulses again",
          "[heartbeat]")
{
    testing::TempDir dir{"colo-heartbeat"};
    Observer seen;
    HeartbeatLink server(config(dir.unix_address("frozen.sock"), Mode::server));
    seen.attach(server);
    server.start();

    RawPeer frozen(server.address());
    frozen.pulse(0);
    REQUIRE(wait_until([&] { return seen.count() >= 1; }));
    CHECK(seen.at(0).up);
    const auto up_at = seen.at(0).at;

    REQUIRE(wait_until([&] { return seen.count() >= 2; }));
    const auto down = seen.at(1);
    CHECK_FALSE(down.up);
    CHECK(down.reason == "heartbeat");
    // Not before the timeout, and well within ten of them (the up was
    // reported after the pulse arrived, so the gap can only be longer).
    CHECK(down.at - up_at >= kTimeout - 5ms);
    CHECK(down.at - up_at < 10 * kTimeout);
    std::this_thread::sleep_for(3 * kTimeout);
    CHECK(seen.count() == 2);

    // The connection was kept: the same socket pulsing again is a recovery.
    frozen.pulse(1);
    REQUIRE(wait_until([&] { return seen.count() >= 3; }));
    CHECK(seen.at(2).up);
    for (uint32_t i = 2; i < 6; ++i) {
        frozen.pulse(i);
        std::this_thread::sleep_for(kInterval);
    }
    CHECK(seen.count() == 3);
    const auto c = server.counters();
    CHECK(c.losses == 1);
    CHECK(c.recoveries == 1);
    CHECK(c.connections == 1);
    CHECK(c.pulses_received >= 2);
    CHECK(c.bad_records == 0);
}

TEST_CASE("HeartbeatLink: a client whose server stops pulsing reports heartbeat, not disconnect", "[heartbeat]")
{
    testing::TempDir dir{"colo-heartbeat"};
    RawServer raw(dir);
    Observer seen;
    HeartbeatLink client(config(raw.address, Mode::client));
    seen.attach(client);
    client.start();
    RawPeer frozen(raw.accept_one());
    frozen.pulse(0);
    REQUIRE(wait_until([&] { return seen.count() >= 2; }));
    CHECK(seen.at(0).up);
    CHECK_FALSE(seen.at(1).up);
    CHECK(seen.at(1).reason == "heartbeat");
    // Then it leaves: already down, so nothing more is reported.
    ::close(frozen.fd);
    frozen.fd = -1;
    std::this_thread::sleep_for(3 * kTimeout);
    CHECK(seen.count() == 2);
    CHECK(client.counters().losses == 1);
}

TEST_CASE("HeartbeatLink: a wrong peer is counted, logged and closed, and never up", "[heartbeat]")
{
    testing::TempDir dir{"colo-heartbeat"};
    Observer seen;
    HeartbeatLink server(config(dir.unix_address("wrong.sock"), Mode::server));
    seen.attach(server);
    server.start();

    SECTION("garbage")
    {
        RawPeer wrong(server.address());
        const char http[] = "GET / HTTP/1.0\r\n\r\n";
        wrong.send(http, sizeof http - 1);
        CHECK(wrong.closed_by_peer());
        REQUIRE(wait_until([&] { return server.counters().bad_records == 1; }));
        CHECK(seen.logged("not a colo-graph heartbeat"));
    }
    SECTION("a QEMU chardev record")
    {
        RawPeer wrong(server.address());
        const uint8_t record[] = {0, 0, 0, 4, 1, 2, 3, 4};
        wrong.send(record, sizeof record);
        CHECK(wrong.closed_by_peer());
        REQUIRE(wait_until([&] { return server.counters().bad_records == 1; }));
        CHECK(seen.logged("not a colo-graph heartbeat (it sent 00 00 00 04"));
    }
    SECTION("another version")
    {
        RawPeer wrong(server.address());
        wrong.pulse(0, 2);
        CHECK(wrong.closed_by_peer());
        REQUIRE(wait_until([&] { return server.counters().bad_records == 1; }));
        CHECK(seen.logged("heartbeat version 2"));
    }
    std::this_thread::sleep_for(2 * kTimeout);
    CHECK(seen.count() == 0);
    CHECK_FALSE(server.up());
    CHECK(server.counters().pulses_received == 0);
}

TEST_CASE("HeartbeatLink: a stray connection does not disturb a healthy peer, and a new peer that pulses replaces "
          "the old one without a loss",
          "[heartbeat]")
{
    testing::TempDir dir{"colo-heartbeat"};
    Observer server_seen, client_seen;
    HeartbeatLink server(config(dir.unix_address("stray.sock"), Mode::server));
    server_seen.attach(server);
    server.start();
    HeartbeatLink client(config(server.address(), Mode::client));
    client_seen.attach(client);
    client.start();
    REQUIRE(wait_until([&] { return server.up() && client.up(); }));

    {
        RawPeer stray(server.address());
        const char junk[] = "hello?";
        stray.send(junk, sizeof junk - 1);
        CHECK(stray.closed_by_peer());
    }
    REQUIRE(wait_until([&] { return server.counters().bad_records == 1; }));
    std::this_thread::sleep_for(2 * kTimeout);
    // (A loaded machine might starve a thread for a timeout, which would be
    // a "heartbeat" loss; the stray must never cause a disconnect.)
    auto disconnects = [](Observer& o) {
        std::lock_guard lock(o.mu);
        std::size_t n = 0;
        for (const auto& e : o.events) n += e.reason == "disconnect";
        return n;
    };
    CHECK(disconnects(server_seen) == 0);
    CHECK(disconnects(client_seen) == 0);
    CHECK(client.counters().connections == 1);

    // A peer restarted after a partition reaches the server while the old
    // connection lingers: once it pulses, it is the peer, and the peer was
    // never lost.
    RawPeer restarted(server.address());
    restarted.pulse(0);
    REQUIRE(wait_until([&] { return server_seen.logged("replaces the previous connection"); }));
    REQUIRE(wait_until([&] { return disconnects(client_seen) == 1; })); // the replaced connection was closed
    CHECK(disconnects(server_seen) == 0);
}

// ---------------------------------------------------------------- TLS

namespace {

HeartbeatConfig tls_config(std::string address, Mode mode, const char* creds)
{
    HeartbeatConfig c = config(std::move(address), mode);
    c.tls.creds_dir = colo::test::TlsTestCreds::get().dir(creds);
    c.tls.handshake_timeout = 300ms;
    c.timeout = 1000ms; // handshakes share the link's thread with the pulses
    return c;
}

} // namespace

TEST_CASE("HeartbeatLink over TLS: pulses both ways, and strangers are refused, logged and counted, never cutting off "
          "the peer",
          "[heartbeat][tls]")
{
    Observer server_seen, client_seen;
    HeartbeatLink server(tls_config("tcp:127.0.0.1:0", Mode::server, "good"));
    server_seen.attach(server);
    server.start();
    HeartbeatLink client(tls_config(server.address(), Mode::client, "good")); // checks the name 127.0.0.1
    client_seen.attach(client);
    client.start();
    REQUIRE(wait_until([&] { return server.up() && client.up(); }));
    REQUIRE(
        wait_until([&] { return server.counters().pulses_received >= 5 && client.counters().pulses_received >= 5; }));

    const std::string refused = server.address() + ": new connection: TLS handshake with 127.0.0.1:";
    SECTION("a peer without TLS, even one sending valid pulses")
    {
        RawPeer stranger(server.address());
        stranger.pulse(0);
        CHECK(stranger.closed_by_peer());
        CHECK(wait_until([&] { return server.counters().tls_refused == 1; }));
        CHECK(server_seen.logged(refused));
        CHECK(server_seen.logged("(a peer without TLS?)"));
    }
    SECTION("a peer that says nothing")
    {
        RawPeer stranger(server.address());
        CHECK(stranger.closed_by_peer());
        CHECK(wait_until([&] { return server.counters().tls_refused == 1; }));
        CHECK(server_seen.logged("failed: no handshake within 300 ms"));
    }
    SECTION("a heartbeat with a certificate from another CA")
    {
        auto cfg = tls_config(server.address(), Mode::client, "other-ca");
        cfg.tls.verify_peer = false;
        Observer stranger_seen;
        HeartbeatLink stranger(cfg);
        stranger_seen.attach(stranger);
        stranger.start();
        CHECK(wait_until([&] { return server.counters().tls_refused >= 1; }));
        CHECK(server_seen.logged("failed: the peer's certificate is not signed by our ca-cert.pem (another CA?)"));
        stranger.stop();
        CHECK_FALSE(stranger.up());
    }
    // The peer kept its first connection all along (a loss by timeout would
    // be this machine's load, not the stranger's doing).
    auto disconnects = [](Observer& o) {
        std::lock_guard lock(o.mu);
        return std::count_if(o.events.begin(), o.events.end(), [](const auto& e) { return e.reason == "disconnect"; });
    };
    CHECK(disconnects(server_seen) == 0);
    CHECK(disconnects(client_seen) == 0);
    CHECK(client.counters().connections == 1);
    CHECK(wait_until([&] { return server.up() && client.up(); }));
    const uint64_t before = server.counters().pulses_received;
    CHECK(wait_until([&] { return server.counters().pulses_received >= before + 3; }));
    client.stop();
    server.stop();
}

TEST_CASE("HeartbeatLink over TLS: a client refuses a server without TLS or with an expired certificate",
          "[heartbeat][tls]")
{
    for (const char* creds : {"expired", ""}) {
        CAPTURE(creds);
        auto server_cfg =
            *creds ? tls_config("tcp:127.0.0.1:0", Mode::server, creds) : config("tcp:127.0.0.1:0", Mode::server);
        Observer server_seen, client_seen;
        HeartbeatLink server(server_cfg);
        server_seen.attach(server);
        server.start();
        HeartbeatLink client(tls_config(server.address(), Mode::client, "good"));
        client_seen.attach(client);
        client.start();
        REQUIRE(wait_until([&] { return client.counters().tls_refused >= 2; }));
        CHECK(client_seen.logged(client.address() + ": TLS handshake with the server failed: "));
        if (*creds) CHECK(client_seen.logged("the peer's certificate (or its CA's) has expired"));
        CHECK_FALSE(client.up());
        CHECK_FALSE(server.up());
        CHECK(client.counters().pulses_received == 0);
        client.stop();
        server.stop();
    }
}
