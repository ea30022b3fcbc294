// The operator endpoints of `colo-graph run` (docs/operations.md): the
// control socket (--control PATH, or `run: {control: PATH}` in the graph
// file) and the Prometheus endpoint (--metrics HOST:PORT, `run: {metrics:
// ...}`). Each serves on a thread of its own, so a busy or hostile client
// never holds up the graph, or the other endpoint.
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
    OperatorEndpoints(Runtime& rt, const std::string& control_path, const std::string& metrics_address, Log log);
    ~OperatorEndpoints(); // removes the control socket

    // Where /metrics is served, as bound ("127.0.0.1:9464"; the port chosen
    // by the system when 0 was asked for); empty without --metrics.
    const std::string& metrics_bound() const { return metrics_bound_; }

private:
    Runtime& rt_;
    ControlService service_;
    std::string control_path_, metrics_bound_;
    std::unique_ptr<PollServer> control_, metrics_;
};

} // namespace colo
