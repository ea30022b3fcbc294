// PortTap: what a trace attaches to a port (Runtime::tap()), in the manner of
// VPP's `trace add`: it sees every batch that crosses the port, on the thread
// that moves it, while the graph runs on undisturbed. It must not block for
// long (it holds up the node) and must be safe to call from several threads.
#pragma once

#include "engine/packet.hh"

#include <cstdint>

namespace colo {

class PortTap {
public:
    virtual ~PortTap() = default;
    // `now_ns`: graph time as the batch crosses. Returns false when it wants
    // no more: the port lets go of it then (Runtime::untap() is for the
    // tap's owner, from outside the graph).
    virtual bool copy(const Batch& batch, uint64_t now_ns) = 0;
};

} // namespace colo
