// ControlService: what each control-socket command does to a running graph
// (docs/operations.md). Commands that act on nodes go to every node whose
// type takes them (its spec lists a handler of that name), or to the one
// named; the engine runs each in the node's serial context.
#pragma once

#include "engine/runtime.hh"
#include "tools/cli/control_protocol.hh"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace colo {

class ControlService {
public:
    explicit ControlService(Runtime& rt) : rt_(rt), started_(std::chrono::steady_clock::now()) {}

    // A trace a client started: its tap, and how to stop it early.
    struct Trace {
        int tap;
        std::function<void()> abandon;
    };

    // One client's requests. A trace answers later, through `later`, once
    // its packets are written; it ends, written so far, when the client goes.
    class Client {
    public:
        Client(ControlService& service, std::function<void(std::string)> later)
            : service_(service), later_(std::move(later))
        {}
        ~Client();
        // The reply line to one request line; "" when it comes later.
        std::string request(std::string_view line);

    private:
        ControlService& service_;
        std::function<void(std::string)> later_;
        std::vector<Trace> traces_;
    };

    std::chrono::milliseconds node_timeout{5000}; // for a node to answer a request

private:
    nlohmann::json execute(const ControlRequest& r, std::function<void(std::string)>& later, std::vector<Trace>& traces,
                           bool& deferred);
    nlohmann::json to_nodes(const std::string& handler, const nlohmann::json& args, const std::string& arg);
    nlohmann::json trace(const nlohmann::json& args, std::function<void(std::string)> later,
                         std::vector<Trace>& traces);
    nlohmann::json help() const;

    Runtime& rt_;
    std::chrono::steady_clock::time_point started_;
};

} // namespace colo
