#include "tools/bench/server.hh"

#include "tools/bench/process.hh"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace colo::bench {

const char* to_string(ServerKind k)
{
    switch (k) {
    case ServerKind::qemu: return "qemu-7.2";
    case ServerKind::colo_graph: return "colo-graph";
    case ServerKind::relay: return "graph-relay";
    case ServerKind::min_relay: return "min-relay";
    }
    return "?";
}

Server::Server(ServerKind kind, const ServerConfig& config) : kind_(kind), config_(config)
{
    const std::string base = config.workdir + "/" + to_string(kind);
    primary_in_ = base + "-pin.sock";
    secondary_in_ = base + "-sin.sock";
    outdev_ = base + "-out.sock";
    notify_ = base + "-notify.sock";
    log_ = base + ".log";
}

Server::~Server()
{
    stop();
}

std::string Server::write_relay_graph() const
{
    const std::string path = config_.workdir + "/relay.yaml";
    std::ofstream(path) << "description: primary_in copied to outdev, secondary_in discarded (no comparison)\n"
                           "variables: { primary_in: '', secondary_in: '', outdev: '' }\n"
                           "nodes:\n"
                           "  primary_in:   { type: socket, address: '${primary_in}' }\n"
                           "  secondary_in: { type: socket, address: '${secondary_in}' }\n"
                           "  outdev:       { type: socket, address: '${outdev}' }\n"
                           "  discard:      { type: null-sink }\n"
                           "links:\n"
                           "  - primary_in.out -> outdev.in\n"
                           "  - secondary_in.out -> discard\n";
    return path;
}

std::string Server::write_compare_graph() const
{
    if (config_.max_connections == 0) return config_.compare_graph;
    std::ifstream in(config_.compare_graph);
    std::stringstream text;
    text << in.rdbuf();
    std::string graph = text.str();
    const std::string anchor = "max_queue_size: \"${max_queue_size}\"\n";
    const auto at = graph.find(anchor);
    if (at == std::string::npos) throw std::runtime_error(config_.compare_graph + ": no '" + anchor + "' to follow");
    const std::string indent(at - graph.rfind('\n', at) - 1, ' ');
    graph.insert(at + anchor.size(), indent + "max_connections: " + std::to_string(config_.max_connections) + "\n");
    const std::string path = config_.workdir + "/colo-compare-max" + std::to_string(config_.max_connections) + ".yaml";
    std::ofstream(path) << graph;
    return path;
}

void Server::start()
{
    for (const auto* p : {&primary_in_, &secondary_in_, &outdev_, &notify_}) ::unlink(p->c_str());
    std::vector<std::string> argv;
    if (kind_ == ServerKind::qemu) {
        auto chardev = [](const char* id, const std::string& path) {
            return std::string("socket,id=") + id + ",path=" + path + ",server=on,wait=off";
        };
        argv = {config_.qemu,
                "-machine",
                "none",
                "-nodefaults",
                "-display",
                "none",
                "-monitor",
                "none",
                "-serial",
                "none",
                "-object",
                "iothread,id=iothread1",
                "-chardev",
                chardev("pin", primary_in_),
                "-chardev",
                chardev("sin", secondary_in_),
                "-chardev",
                chardev("out", outdev_),
                "-object",
                "colo-compare,id=comp0,primary_in=pin,secondary_in=sin,outdev=out,iothread=iothread1,"
                "max_queue_size=" +
                    std::to_string(config_.max_queue_size)};
    } else if (kind_ == ServerKind::min_relay) {
        argv = {config_.min_relay, primary_in_, secondary_in_, outdev_};
    } else {
        const bool relay = kind_ == ServerKind::relay;
        argv = {config_.colo_graph,
                "run",
                relay ? write_relay_graph() : write_compare_graph(),
                "--set",
                "primary_in=unix:" + primary_in_,
                "--set",
                "secondary_in=unix:" + secondary_in_,
                "--set",
                "outdev=unix:" + outdev_};
        argv.insert(argv.end(), config_.colo_graph_args.begin(), config_.colo_graph_args.end());
        if (!relay) {
            argv.insert(argv.end(),
                        {"--set", "notify_dev=unix:" + notify_, "--set", "events=" + config_.workdir + "/events.jsonl",
                         "--set", "max_queue_size=" + std::to_string(config_.max_queue_size)});
        }
    }
    pid_ = spawn(argv, log_);
}

std::string Server::stop()
{
    if (pid_ <= 0) return {};
    const Stopped stopped = stop_process(pid_, SIGTERM, std::chrono::seconds(5));
    pid_ = -1;
    return unclean_end(stopped);
}

int connect_unix(const std::string& path)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return fd;
        if (fd >= 0) ::close(fd);
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("cannot connect to " + path);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

} // namespace colo::bench
