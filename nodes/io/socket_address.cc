#include "nodes/io/socket_address.hh"

#include <charconv>
#include <cstddef>
#include <cstring>
#include <stdexcept>

#include <netdb.h>
#include <sys/un.h>

namespace colo {

namespace {

[[noreturn]] void bad_address(std::string_view text, const char* why)
{
    throw std::invalid_argument("invalid socket address \"" + std::string(text) + "\": " + why);
}

} // namespace

SocketAddress SocketAddress::parse(std::string_view text)
{
    SocketAddress a;
    if (text.starts_with("unix:")) {
        a.kind = Kind::unix_path;
        a.path = std::string(text.substr(5));
        if (a.path.empty()) bad_address(text, "empty path");
        if (a.path.size() >= sizeof(sockaddr_un::sun_path)) bad_address(text, "path too long");
        return a;
    }
    if (!text.starts_with("tcp:")) bad_address(text, "expected tcp:HOST:PORT or unix:PATH");

    const std::string_view rest = text.substr(4);
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) bad_address(text, "missing port");
    std::string_view host = rest.substr(0, colon);
    const std::string_view port = rest.substr(colon + 1);

    if (host.starts_with('[')) {
        if (!host.ends_with(']')) bad_address(text, "unbalanced '[' in host");
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        bad_address(text, "IPv6 hosts must be written in brackets");
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
        bad_address(text, "port must be a number 0-65535");

    a.kind = Kind::tcp;
    a.host = std::string(host);
    a.port = uint16_t(value);
    return a;
}

std::string SocketAddress::to_string() const
{
    if (kind == Kind::unix_path) return "unix:" + path;
    const bool v6 = host.find(':') != std::string::npos;
    return "tcp:" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ResolvedAddress resolve(const SocketAddress& address)
{
    ResolvedAddress r;
    if (address.kind == SocketAddress::Kind::unix_path) {
        auto* un = reinterpret_cast<sockaddr_un*>(&r.storage);
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, address.path.c_str(), address.path.size() + 1);
        r.len = socklen_t(offsetof(sockaddr_un, sun_path) + address.path.size() + 1);
        return r;
    }

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    const std::string host = address.host.empty() ? "127.0.0.1" : address.host;
    const std::string port = std::to_string(address.port);
    addrinfo* list = nullptr;
    if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &list); rc != 0)
        throw std::runtime_error(address.to_string() + ": cannot resolve host: " + gai_strerror(rc));
    std::memcpy(&r.storage, list->ai_addr, list->ai_addrlen);
    r.len = list->ai_addrlen;
    freeaddrinfo(list);
    return r;
}

} // namespace colo
