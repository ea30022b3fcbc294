// The operator endpoints of `colo-graph run` (docs/operations.md): the
// control socket (--control PATH, or `run: {control: PATH}` in the graph
// file) and the Prometheus endpoint (--metrics HOST:PORT, `run: {metrics:
// ...}`). Each serves on a thread of its own, so a busy or hostile client
// never holds up the graph, or the other endpoint.
//
// Both listen from construction but answer only from serve(), which `run`
// calls once every node has started: an answer on the control socket means
// a running graph (an agent's start check, tools/ocf/colo-graph). A client
// that comes earlier waits in the backlog, and sees the connection close if
// the graph fails to start.
#pragma once

#include "engine/runtime.hh"
#include "tools/cli/control_service.hh"
#include "tools/cli/poll_server.hh"

#include <functional>
#include <memory>
#include <string>

namespace colo {

class OperatorEndpoints {
public:
    using Log = std::function<void(const std::string&)>;
    // Throws std::runtime_error naming the path or address that cannot be
    // served: a symlink, a socket another process listens on, a bad address.
    OperatorEndpoints(Runtime& rt, const std::string& control_path, const std::string& metrics, Log log);
    ~OperatorEndpoints(); // removes the control socket
    // Starts answering (once).
    void serve();

    // Where /metrics is served, as bound ("127.0.0.1:9464"; the port chosen
    // by the system when 0 was asked for); empty without --metrics.
    const std::string& metrics_bound() const { return metrics_bound_; }

private:
    // A listening socket not yet handed to its server.
    struct Listener {
        int fd = -1;
        ~Listener();
    };

    Runtime& rt_;
    ControlService service_;
    Log log_;
    std::string control_path_, metrics_bound_;
    Listener control_listener_, metrics_listener_;
    std::unique_ptr<PollServer> control_, metrics_;
};

} // namespace colo
