// listen_socket(): the listening socket of every colo-graph server (chardev
// sockets, heartbeat, control socket, /metrics) and what it does to a unix
// path that is already taken.
#include <catch2/catch.hpp>

#include "nodes/io/listen_socket.hh"
#include "tests/temp_dir.hh"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace colo;

namespace {

SocketAddress unix_at(const std::filesystem::path& path)
{
    return SocketAddress::parse("unix:" + path.string());
}

// A blocking client connection to `address`; -1 when refused.
int connect_to(const SocketAddress& address)
{
    const ResolvedAddress r = resolve(address);
    const int fd = ::socket(r.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    if (::connect(fd, r.get(), r.len) == 0) return fd;
    ::close(fd);
    return -1;
}

// True if `listener` has a connection waiting, which it accepts and closes.
bool accepts(int listener)
{
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

ino_t inode_of(const std::filesystem::path& path)
{
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_ino;
}

} // namespace

TEST_CASE("listen_socket: tcp port 0 comes back as the port bound, non-blocking and close-on-exec", "[listen]")
{
    const ListeningSocket s = listen_socket(SocketAddress::parse("tcp::0"), "test", 4);
    CHECK(s.address.host == "127.0.0.1");
    CHECK(s.address.port != 0);
    sockaddr_in bound{};
    socklen_t len = sizeof bound;
    REQUIRE(::getsockname(s.fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0);
    CHECK(ntohs(bound.sin_port) == s.address.port);
    CHECK((::fcntl(s.fd, F_GETFL) & O_NONBLOCK) != 0);
    CHECK((::fcntl(s.fd, F_GETFD) & FD_CLOEXEC) != 0);

    const int client = connect_to(s.address);
    REQUIRE(client >= 0);
    CHECK(accepts(s.fd));
    ::close(client);

    // The same port again is an error naming the endpoint.
    CHECK_THROWS_WITH(listen_socket(s.address, "--metrics x", 4),
                      Catch::StartsWith("--metrics x: bind: ") && Catch::Contains("in use"));
    ::close(s.fd);
}

TEST_CASE("listen_socket: a unix socket is mode 0600 from birth, whatever the umask", "[listen]")
{
    testing::TempDir dir{"colo-listen"};
    const auto path = dir.path / "perm.sock";
    const mode_t old = ::umask(0);
    const ListeningSocket s = listen_socket(unix_at(path), "test", 4);
    ::umask(old);
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600);
    ::close(s.fd);
}

TEST_CASE("listen_socket: a stale socket is replaced", "[listen]")
{
    testing::TempDir dir{"colo-listen"};
    const auto path = dir.path / "stale.sock";
    {
        // Bound and closed without unlinking, as by a process that died.
        const ListeningSocket dead = listen_socket(unix_at(path), "test", 4);
        ::close(dead.fd);
    }
    const ListeningSocket s = listen_socket(unix_at(path), "test", 4);
    const int client = connect_to(unix_at(path));
    REQUIRE(client >= 0);
    CHECK(accepts(s.fd));
    ::close(client);
    ::close(s.fd);
}

TEST_CASE("listen_socket: a live socket is left alone, even with its backlog full", "[listen]")
{
    testing::TempDir dir{"colo-listen"};
    const auto path = dir.path / "live.sock";
    const ListeningSocket first = listen_socket(unix_at(path), "test", 0);
    const ino_t inode = inode_of(path);

    // Fill the backlog: a blocking probe would now wait for ever.
    std::vector<int> waiting;
    bool full = false;
    for (int i = 0; i < 16 && !full; ++i) {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        const ResolvedAddress r = resolve(unix_at(path));
        const int rc = ::connect(fd, r.get(), r.len);
        const int err = errno;
        waiting.push_back(fd);
        if (rc != 0) {
            REQUIRE(err == EAGAIN);
            full = true;
        }
    }
    REQUIRE(full);
    CHECK_THROWS_WITH(listen_socket(unix_at(path), "unix:" + path.string(), 4),
                      "unix:" + path.string() + ": another process listens on it");
    for (const int fd : waiting) ::close(fd);
    while (accepts(first.fd)) {}

    CHECK_THROWS_WITH(listen_socket(unix_at(path), "ctl", 4), "ctl: another process listens on it");
    CHECK(inode_of(path) == inode);
    while (accepts(first.fd)) { // the probe's connection
    }
    const int client = connect_to(unix_at(path));
    REQUIRE(client >= 0);
    CHECK(accepts(first.fd)); // still the first listener's
    ::close(client);
    ::close(first.fd);
}

TEST_CASE("listen_socket: a symbolic link or a regular file at the path is refused and kept", "[listen]")
{
    testing::TempDir dir{"colo-listen"};
    const auto path = dir.path / "taken.sock";

    // A link to where nothing is yet: bind() would create the socket there.
    const auto target = dir.path / "target";
    std::filesystem::create_symlink(target, path);
    CHECK_THROWS_WITH(listen_socket(unix_at(path), "ctl", 4), "ctl: is a symbolic link; refusing to follow it");
    CHECK(std::filesystem::is_symlink(path));
    CHECK_FALSE(std::filesystem::exists(std::filesystem::symlink_status(target)));

    // A link to a stale socket is not followed to remove it either.
    std::filesystem::remove(path);
    const ListeningSocket dead = listen_socket(unix_at(target), "test", 4);
    ::close(dead.fd);
    std::filesystem::create_symlink(target, path);
    CHECK_THROWS_WITH(listen_socket(unix_at(path), "ctl", 4), "ctl: is a symbolic link; refusing to follow it");
    CHECK(std::filesystem::is_socket(target));

    std::filesystem::remove(path);
    std::ofstream(path) << "data";
    CHECK_THROWS_WITH(listen_socket(unix_at(path), "ctl", 4), "ctl: is not a socket; refusing to replace it");
    CHECK(std::filesystem::file_size(path) == 4);
}

TEST_CASE("listen_socket: a unix path that does not fit sockaddr_un is an error, not an overflow", "[listen]")
{
    SocketAddress long_path;
    long_path.kind = SocketAddress::Kind::unix_path;
    long_path.path = "/tmp/" + std::string(200, 'x');
    CHECK_THROWS_WITH(listen_socket(long_path, "ctl", 4), "ctl: a unix socket path is 1 to 107 bytes");
    long_path.path.clear();
    CHECK_THROWS_WITH(listen_socket(long_path, "ctl", 4), "ctl: a unix socket path is 1 to 107 bytes");
}

TEST_CASE("remove_socket_file: removes a socket, leaves anything else", "[listen]")
{
    testing::TempDir dir{"colo-listen"};
    const auto sock = dir.path / "a.sock", file = dir.path / "a.txt";
    const ListeningSocket s = listen_socket(unix_at(sock), "test", 4);
    ::close(s.fd);
    std::ofstream(file) << "data";
    remove_socket_file(sock.string());
    remove_socket_file(file.string());
    CHECK_FALSE(std::filesystem::exists(std::filesystem::symlink_status(sock)));
    CHECK(std::filesystem::file_size(file) == 4);
}
