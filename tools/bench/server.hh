// The servers under test, each listening on three unix sockets like QEMU's
// `-chardev socket,server=on` chardevs:
//   qemu        qemu-system-x86_64 -machine none hosting a colo-compare object
//               (no guest; shared/tools/qemu-peer/README.md);
//   colo-graph  `colo-graph run graphs/colo-compare.yaml --set ...`;
//   graph-relay colo-graph copying primary_in straight to outdev and
//               discarding secondary_in: the engine's socket machinery (framing,
//               packets, a hop) with no comparison;
//   min-relay   tools/bench/min_relay.c: the same copy with 1 MiB reads and
//               no framing at all, the ceiling of what any proxy reaches here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace colo::bench {

enum class ServerKind { qemu, colo_graph, relay, min_relay };
// Both relays release a pair on its primary, the comparators on its secondary.
inline bool releases_on_primary(ServerKind k)
{
    return k == ServerKind::relay || k == ServerKind::min_relay;
}
const char* to_string(ServerKind k);

struct ServerConfig {
    std::string workdir;                      // sockets, logs and generated graphs go here
    std::string colo_graph;                   // the colo-graph binary
    std::vector<std::string> colo_graph_args; // extra `colo-graph run` options, e.g. --threads=1
    std::string compare_graph;                // graphs/colo-compare.yaml
    std::string min_relay;                    // the min-relay binary
    std::string qemu = "qemu-system-x86_64";
    unsigned max_queue_size = 1024;
    uint32_t max_connections = 0; // colo-graph: the comparator's, when set (0: the graph's default)
};

class Server {
public:
    Server(ServerKind kind, const ServerConfig& config);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Starts the process; the sockets exist once connect() succeeds.
    void start();
    // SIGTERM, then SIGKILL after 5 s. Returns how the process ended when
    // not cleanly (unclean_end()), empty otherwise or when it was not running.
    std::string stop();

    ServerKind kind() const { return kind_; }
    pid_t pid() const { return pid_; }
    const std::string& primary_in() const { return primary_in_; }
    const std::string& secondary_in() const { return secondary_in_; }
    const std::string& outdev() const { return outdev_; }

private:
    std::string write_relay_graph() const;
    std::string write_compare_graph() const; // compare_graph, max_connections applied

    ServerKind kind_;
    ServerConfig config_;
    std::string primary_in_, secondary_in_, outdev_, notify_, log_;
    pid_t pid_ = -1;
};

// Connects a unix stream socket, retrying for up to 10 s while the server
// starts; throws after that.
int connect_unix(const std::string& path);

} // namespace colo::bench
