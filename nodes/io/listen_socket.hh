// The one way colo-graph opens a listening socket: the chardev servers
// (StreamEndpoint), the heartbeat (HeartbeatLink), the control socket and
// /metrics (tools/cli/operator_endpoints.cc).
#pragma once

#include "nodes/io/socket_address.hh"

#include <string>

namespace colo {

struct ListeningSocket {
    int fd = -1;           // non-blocking, close-on-exec; the caller closes it
    SocketAddress address; // tcp: the numeric host and the port bound to
};

// Listens on `address` with room for `backlog` pending connections. `label`
// names the endpoint at the start of every error (std::runtime_error).
//
// A unix path is only ever replaced when it holds a stale socket (nobody
// accepts on it): a live one is another process's, and anything else (a
// symbolic link, a file) is not ours to remove, so both are refused. The
// socket file is created with mode 0600: fchmod() before bind() gives the
// inode its mode, so at no moment can another user connect, and unlike
// umask() it touches no other thread's files.
ListeningSocket listen_socket(const SocketAddress& address, const std::string& label, int backlog);

// Removes the socket file at `path` when it is still a socket, as a server
// does when it stops; anything else put there since is left alone.
void remove_socket_file(const std::string& path);

} // namespace colo
