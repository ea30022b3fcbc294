#include <catch2/catch.hpp>

#include "nodes/io/tls_session.hh"
#include "tests/io/tls_test_creds.hh"
#include "tests/temp_dir.hh"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace colo;
using colo::test::TlsTestCreds;
using Role = TlsCredentials::Role;

namespace {

TlsConfig tls(const std::string& dir, std::string hostname = "")
{
    TlsConfig c;
    c.creds_dir = dir;
    c.hostname = std::move(hostname);
    return c;
}

// Two ends of a non-blocking socketpair.
struct Pair {
    int fd[2] = {-1, -1};
    Pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) == 0); }
    ~Pair()
    {
        ::close(fd[0]);
        ::close(fd[1]);
    }
};

struct Outcome {
    TlsSession::Step server = TlsSession::Step::want_read, client = TlsSession::Step::want_read;
    bool both_done() const { return server == TlsSession::Step::done && client == TlsSession::Step::done; }
};

// Runs both handshakes, taking turns on one thread, until each is done or
// has failed (or a side waits for a peer that has given up).
Outcome handshake(TlsSession& server, TlsSession& client)
{
    Outcome o;
    auto pending = [](TlsSession::Step s) {
        return s == TlsSession::Step::want_read || s == TlsSession::Step::want_write;
    };
    for (int round = 0; round < 200 && (pending(o.server) || pending(o.client)); ++round) {
        if (pending(o.client)) o.client = client.handshake();
        if (pending(o.server)) o.server = server.handshake();
        if (o.server == TlsSession::Step::failed || o.client == TlsSession::Step::failed) {
            // The other side learns of it at its next step, from the alert or the closed socket.
            if (pending(o.client)) o.client = client.handshake();
            if (pending(o.server)) o.server = server.handshake();
            break;
        }
        ::usleep(1000);
    }
    return o;
}

void write_file(const std::filesystem::path& path, const std::string& text)
{
    std::ofstream(path) << text;
}

std::string load_error(const TlsConfig& config, Role role)
{
    try {
        TlsCredentials::load(config, role);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("TlsCredentials: errors name the file and what is wrong with it", "[tls]")
{
    const auto& creds = TlsTestCreds::get();
    CHECK_THAT(load_error(tls("/nonexistent-creds"), Role::server),
               Catch::Contains("/nonexistent-creds: No such file or directory"));

    const testing::TempDir scratch("colo-tls-bad");
    const std::filesystem::path& dir = scratch.path;
    // No ca-cert.pem.
    CHECK_THAT(load_error(tls(dir), Role::client),
               Catch::Contains((dir / "ca-cert.pem").string() + ": No such file or directory"));
    std::filesystem::copy_file(creds.dir("good") + "/ca-cert.pem", dir / "ca-cert.pem");
    // A client without a certificate of its own is fine (as QEMU's endpoint=client).
    CHECK(load_error(tls(dir), Role::client).empty());
    CHECK_FALSE(TlsCredentials::load(tls(dir), Role::client)->has_certificate());
    // A server needs one.
    CHECK_THAT(load_error(tls(dir), Role::server),
               Catch::Contains((dir / "server-cert.pem").string() + ": No such file or directory"));
    write_file(dir / "server-cert.pem", "not a certificate\n");
    std::filesystem::copy_file(creds.dir("good") + "/server-key.pem", dir / "server-key.pem");
    CHECK_THAT(load_error(tls(dir), Role::server),
               Catch::Contains((dir / "server-cert.pem").string() + ": not a PEM certificate"));
    // A key that does not belong to the certificate.
    std::filesystem::copy_file(creds.dir("other-ca") + "/server-cert.pem", dir / "server-cert.pem",
                               std::filesystem::copy_options::overwrite_existing);
    CHECK_THAT(load_error(tls(dir), Role::server), Catch::Contains("server-key.pem: ") &&
                                                       Catch::Contains("server-cert.pem and ") &&
                                                       Catch::Contains("do not match"));
    std::filesystem::copy_file(creds.dir("good") + "/server-cert.pem", dir / "server-cert.pem",
                               std::filesystem::copy_options::overwrite_existing);
    CHECK(load_error(tls(dir), Role::server).empty());
    // A bad priority string, and where.
    TlsConfig bad = tls(dir);
    bad.priority = "NORMAL:+NO-SUCH-THING";
    CHECK_THAT(load_error(bad, Role::server),
               Catch::Contains("TLS priority \"NORMAL:+NO-SUCH-THING\"") && Catch::Contains("+NO-SUCH-THING"));
}

TEST_CASE("TlsSession: mutual authentication, then records both ways", "[tls]")
{
    const auto& creds = TlsTestCreds::get();
    Pair p;
    TlsSession server(TlsCredentials::load(tls(creds.dir("good")), Role::server), p.fd[0]);
    TlsSession client(TlsCredentials::load(tls(creds.dir("good"), "localhost"), Role::client), p.fd[1]);
    const Outcome o = handshake(server, client);
    INFO(server.error() << " / " << client.error());
    REQUIRE(o.both_done());
    CHECK_THAT(server.description(), Catch::Contains("TLS1.3"));

    const std::string hello = "COLO record inside a TLS record";
    REQUIRE(client.send(reinterpret_cast<const uint8_t*>(hello.data()), hello.size()) == ssize_t(hello.size()));
    uint8_t buf[256];
    ssize_t n = TlsSession::kAgain;
    for (int i = 0; i < 100 && n == TlsSession::kAgain; ++i, ::usleep(1000)) n = server.recv(buf, sizeof buf);
    REQUIRE(n == ssize_t(hello.size()));
    CHECK(std::string(reinterpret_cast<char*>(buf), std::size_t(n)) == hello);
    // Nothing more: the server would block.
    CHECK(server.recv(buf, sizeof buf) == TlsSession::kAgain);
    // The other way, and the end of the connection.
    REQUIRE(server.send(buf, 5) == 5);
    n = TlsSession::kAgain;
    for (int i = 0; i < 100 && n == TlsSession::kAgain; ++i, ::usleep(1000)) n = client.recv(buf + 100, 100);
    CHECK(n == 5);
    ::shutdown(p.fd[0], SHUT_RDWR); // QEMU closes without a close_notify
    n = TlsSession::kAgain;
    for (int i = 0; i < 100 && n == TlsSession::kAgain; ++i, ::usleep(1000)) n = client.recv(buf, sizeof buf);
    CHECK(n == 0);
}

TEST_CASE("TlsSession: decrypted bytes beyond a short read wait inside GnuTLS, where poll() cannot see them", "[tls]")
{
    // Why a reader must drain pending() before it polls again.
    const auto& creds = TlsTestCreds::get();
    Pair p;
    TlsSession server(TlsCredentials::load(tls(creds.dir("good")), Role::server), p.fd[0]);
    TlsSession client(TlsCredentials::load(tls(creds.dir("good"), "localhost"), Role::client), p.fd[1]);
    REQUIRE(handshake(server, client).both_done());
    std::vector<uint8_t> record(4000, 0x5a);
    REQUIRE(client.send(record.data(), record.size()) == ssize_t(record.size()));
    uint8_t buf[1000];
    ssize_t n = TlsSession::kAgain;
    for (int i = 0; i < 100 && n == TlsSession::kAgain; ++i, ::usleep(1000)) n = server.recv(buf, sizeof buf);
    REQUIRE(n == 1000);
    CHECK(server.pending() == 3000);
    pollfd pfd{p.fd[0], POLLIN, 0};
    CHECK(::poll(&pfd, 1, 0) == 0); // the socket itself has nothing more
    std::size_t total = 1000;
    while (server.pending() > 0) {
        n = server.recv(buf, sizeof buf);
        REQUIRE(n > 0);
        total += std::size_t(n);
    }
    CHECK(total == record.size());
}

TEST_CASE("TlsSession: refusals say why", "[tls]")
{
    const auto& creds = TlsTestCreds::get();
    struct Case {
        const char* name;
        std::string server_dir, client_dir, hostname;
        bool server_verifies;
        bool client_verifies;     // a stranger's client need not check us
        const char* server_error; // empty: the server accepts
        const char* client_error; // empty: the client accepts
    };
    const std::vector<Case> cases{
        {"client from another CA", creds.dir("good"), creds.dir("other-ca"), "localhost", true, false,
         "the peer's certificate is not signed by our ca-cert.pem (another CA?)", ""},
        {"server from another CA", creds.dir("other-ca"), creds.dir("good"), "localhost", true, true, "",
         "the peer's certificate is not signed by our ca-cert.pem (another CA?)"},
        {"expired client", creds.dir("good"), creds.dir("expired"), "localhost", true, true,
         "the peer's certificate (or its CA's) has expired", ""},
        {"expired server", creds.dir("expired"), creds.dir("good"), "localhost", true, true, "",
         "the peer's certificate (or its CA's) has expired"},
        {"server certificate for another name", creds.dir("wrong-name"), creds.dir("good"), "localhost", true, true, "",
         "the peer's certificate does not carry the host name localhost"},
        {"server certificate for another address", creds.dir("good"), creds.dir("good"), "192.0.2.1", true, true, "",
         "the peer's certificate does not carry the host name 192.0.2.1"},
        {"verify_peer off: a client from another CA is let in", creds.dir("good"), creds.dir("other-ca"), "localhost",
         false, false, "", ""},
    };
    for (const Case& c : cases) {
        SECTION(c.name)
        {
            Pair p;
            TlsConfig server_config = tls(c.server_dir);
            server_config.verify_peer = c.server_verifies;
            TlsSession server(TlsCredentials::load(server_config, Role::server), p.fd[0]);
            TlsConfig client_config = tls(c.client_dir, c.hostname);
            client_config.verify_peer = c.client_verifies;
            TlsSession client(TlsCredentials::load(client_config, Role::client), p.fd[1]);
            const Outcome o = handshake(server, client);
            INFO("server: " << server.error() << "; client: " << client.error());
            if (*c.server_error) {
                CHECK(o.server == TlsSession::Step::failed);
                CHECK(server.error() == c.server_error);
            } else if (*c.client_error) {
                CHECK(o.client == TlsSession::Step::failed);
                CHECK(client.error() == c.client_error);
            } else {
                CHECK(o.both_done());
            }
        }
    }
}

TEST_CASE("TlsSession: a client without a certificate, and a peer without TLS", "[tls]")
{
    const auto& creds = TlsTestCreds::get();
    SECTION("no client certificate: a verifying server refuses it")
    {
        const testing::TempDir scratch("colo-tls-nocert");
        const std::string dir = scratch.path.string();
        std::filesystem::copy_file(creds.dir("good") + "/ca-cert.pem", dir + "/ca-cert.pem");
        Pair p;
        TlsSession server(TlsCredentials::load(tls(creds.dir("good")), Role::server), p.fd[0]);
        TlsSession client(TlsCredentials::load(tls(dir, "localhost"), Role::client), p.fd[1]);
        const Outcome o = handshake(server, client);
        CHECK(o.server == TlsSession::Step::failed);
        CHECK_THAT(server.error(), Catch::StartsWith("the peer sent no certificate"));
    }
    SECTION("a plaintext chardev record where a ClientHello should be")
    {
        Pair p;
        TlsSession server(TlsCredentials::load(tls(creds.dir("good")), Role::server), p.fd[0]);
        const uint8_t record[] = {0, 0, 0, 4, 'a', 'b', 'c', 'd'};
        REQUIRE(::write(p.fd[1], record, sizeof record) == sizeof record);
        TlsSession::Step s = TlsSession::Step::want_read;
        for (int i = 0; i < 100 && s == TlsSession::Step::want_read; ++i, ::usleep(1000)) s = server.handshake();
        CHECK(s == TlsSession::Step::failed);
        CHECK_THAT(server.error(), Catch::EndsWith("(a peer without TLS?)"));
    }
}
