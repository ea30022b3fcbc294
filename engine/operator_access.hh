// OperatorAccess: what Runtime::call(), set(), tap() and untap() do, the
// engine's side of `colo-graph ctl`. Requests reach a node as messages, so
// they run in its serial context between its other calls; they are accepted
// only between the start of the nodes and the end of the run, the window in
// which the execution model runs messages.
#pragma once

#include "engine/port_tap.hh"
#include "engine/topology.hh"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace colo::engine {

class OperatorAccess {
public:
    explicit OperatorAccess(RunningGraph& graph) : graph_(graph) {}

    // Around the window in which requests run (Runtime::run()).
    void open(bool replay);
    void close();

    std::string call(const std::string& node, const std::string& handler, const std::string& arg,
                     std::chrono::milliseconds timeout);
    void set(const std::string& node, const std::string& property, std::string value,
             std::chrono::milliseconds timeout);
    int tap(const std::string& node, const std::string& port, std::shared_ptr<PortTap> tap);
    void untap(int id);

private:
    NodeRunner& runner(const std::string& node) const;
    std::string request(NodeRunner& r, std::function<std::string(Node&, Emit&)> run, std::chrono::milliseconds timeout);

    RunningGraph& graph_;
    std::mutex mu_;
    enum class State { before, open, replay, closed } state_ = State::before; // guarded by mu_
    int posting_ = 0;                // guarded by mu_: requests being handed to the model
    std::condition_variable posted_; // close() waits for them
    struct Attached {
        TapSlot* slot;
        std::shared_ptr<PortTap> tap; // kept to the end: a sender may still hold the pointer
    };
    std::vector<Attached> taps_; // guarded by mu_; an id is an index
};

} // namespace colo::engine
