// Chardev-style socket addresses: "tcp:HOST:PORT" (HOST may be a name, an
// IPv4 address, "[IPv6]", or empty for loopback) and "unix:PATH".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace colo {

struct SocketAddress {
    enum class Kind { tcp, unix_path };

    Kind kind = Kind::tcp;
    std::string host;  // tcp: without brackets; empty means loopback
    uint16_t port = 0; // tcp: 0 asks a server for an ephemeral port
    std::string path;  // unix

    // Throws std::invalid_argument naming the problem and the text.
    static SocketAddress parse(std::string_view text);
    // Canonical text, also used to prefix log messages.
    std::string to_string() const;
};

struct ResolvedAddress {
    sockaddr_storage storage{};
    socklen_t len = 0;
    int family() const { return storage.ss_family; }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// First address for `address` (numeric hosts need no DNS). An empty host
// resolves to 127.0.0.1 so that servers listen on loopback unless told
// otherwise. Throws std::runtime_error on failure.
ResolvedAddress resolve(const SocketAddress& address);

} // namespace colo
