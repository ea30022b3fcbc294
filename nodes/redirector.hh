// redirector: QEMU filter-redirector in graph form.
//
// QEMU's redirector sits in a netdev's filter chain: packets of its direction
// are consumed and written to `outdev`, and records read from `indev` are
// injected into the chain after it. In a graph the chain is explicit, so the
// two halves become two port pairs:
//   in    -> outdev   packets taken off the chain (to a socket sink)
//   indev -> out      packets put onto the chain (from a socket source)
// With status=off, `in` passes to `out` instead of being redirected, as an
// `off` QEMU filter does; injection from `indev` is never gated (as in QEMU).
#pragma once

#include "engine/node.hh"

namespace colo {

class Redirector : public Node {
public:
    explicit Redirector(const Properties& p);
    void push(int in_port, const Batch& batch, Emit& out) override;

private:
    bool enabled_;
};

} // namespace colo
