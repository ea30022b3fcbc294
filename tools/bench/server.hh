// The servers under test, each listening on three unix sockets like QEMU's
// `-chardev socket,server=on` chardevs:
//   qemu        qemu-system-x86_64 -machine none hosting a colo-compare object
//               (no guest; shared/tools/qemu-peer/README.md);
//   colo-graph  `colo-graph run graphs/colo-compare.yaml --set ...`;
//   relay       colo-graph copying primary_in straight to outdev and
//               discarding secondary_in: the same socket machinery with no
//               comparison, the ceiling of what colo-graph can reach here.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace colo::bench {

enum class ServerKind { qemu, colo_graph, relay };
const char* to_string(ServerKind k);

struct ServerConfig {
    std::string workdir;                      // sockets, logs and generated graphs go here
    std::string colo_graph;                   // the colo-graph binary
    std::vector<std::string> colo_graph_args; // extra `colo-graph run` options, e.g. --threads=1
    std::string compare_graph;                // graphs/colo-compare.yaml
    std::string qemu = "qemu-system-x86_64";
    unsigned max_queue_size = 1024;
};

class Server {
public:
    Server(ServerKind kind, const ServerConfig& config);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Starts the process; the sockets exist once connect() succeeds.
    void start();
    // SIGTERM, then SIGKILL after 5 s.
    void stop();

    ServerKind kind() const { return kind_; }
    pid_t pid() const { return pid_; }
    const std::string& primary_in() const { return primary_in_; }
    const std::string& secondary_in() const { return secondary_in_; }
    const std::string& outdev() const { return outdev_; }

private:
    std::string write_relay_graph() const;

    ServerKind kind_;
    ServerConfig config_;
    std::string primary_in_, secondary_in_, outdev_, notify_, log_;
    pid_t pid_ = -1;
};

// Connects a unix stream socket, retrying for up to 10 s while the server
// starts; throws after that.
int connect_unix(const std::string& path);

} // namespace colo::bench
