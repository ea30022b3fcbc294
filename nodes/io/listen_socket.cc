#include "nodes/io/listen_socket.hh"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace colo {

namespace {

std::runtime_error failure(const std::string& label, const char* what, int err)
{
    std::string text = label;
    text.append(": ").append(what).append(": ").append(std::strerror(err));
    return std::runtime_error(text);
}

std::runtime_error refusal(const std::string& label, const std::string& why)
{
    std::string text = label;
    text.append(": ").append(why);
    return std::runtime_error(text);
}

// Clears the way for a unix socket at `where`: nothing there, or a stale
// socket, which is removed. Throws for anything else.
void clear_unix_path(const ResolvedAddress& where, const std::string& path, const std::string& label)
{
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return;
        throw failure(label, "cannot inspect socket path", errno);
    }
    if (S_ISLNK(st.st_mode)) throw refusal(label, "is a symbolic link; refusing to follow it");
    if (!S_ISSOCK(st.st_mode)) throw refusal(label, "is not a socket; refusing to replace it");
    // Non-blocking, so that a listener whose backlog is full answers EAGAIN
    // instead of holding us up: it is alive all the same.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0) throw failure(label, "socket", errno);
    const int rc = ::connect(probe, where.get(), where.len);
    const int err = errno;
    ::close(probe);
    if (rc == 0 || err == EAGAIN) throw refusal(label, "another process listens on it");
    if (err == ENOENT) return; // gone meanwhile
    if (err != ECONNREFUSED) throw failure(label, "cannot tell whether another process listens on it", err);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw failure(label, "cannot remove the stale socket", errno);
}

// The numeric host and port `fd` is bound to.
void read_bound_address(int fd, SocketAddress& address, const std::string& label)
{
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) throw failure(label, "getsockname", errno);
    char host[NI_MAXHOST], port[NI_MAXSERV];
    const int rc = ::getnameinfo(reinterpret_cast<const sockaddr*>(&bound), len, host, sizeof host, port, sizeof port,
                                 NI_NUMERICHOST | NI_NUMERICSERV);
    if (rc != 0) throw refusal(label, ::gai_strerror(rc));
    address.host = host;
    address.port = uint16_t(std::stoul(port));
}

} // namespace

ListeningSocket listen_socket(const SocketAddress& address, const std::string& label, int backlog)
{
    const bool is_unix = address.kind == SocketAddress::Kind::unix_path;
    if (is_unix && (address.path.empty() || address.path.size() >= sizeof(sockaddr_un::sun_path)))
        throw refusal(label,
                      "a unix socket path is 1 to " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
    const ResolvedAddress where = resolve(address);
    if (is_unix) clear_unix_path(where, address.path, label);

    ListeningSocket out;
    out.address = address;
    out.fd = ::socket(where.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (out.fd < 0) throw failure(label, "socket", errno);
    try {
        auto check = [&](int rc, const char* what) {
            if (rc != 0) throw failure(label, what, errno);
        };
        if (is_unix) {
            check(::fchmod(out.fd, 0600), "fchmod");
        } else {
            const int on = 1; // a restart need not wait out TIME_WAIT
            check(::setsockopt(out.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on), "setsockopt");
        }
        check(::bind(out.fd, where.get(), where.len), "bind");
        check(::listen(out.fd, backlog), "listen");
        if (!is_unix) read_bound_address(out.fd, out.address, label);
    } catch (...) {
        ::close(out.fd);
        throw;
    }
    return out;
}

void remove_socket_file(const std::string& path)
{
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
}

} // namespace colo
