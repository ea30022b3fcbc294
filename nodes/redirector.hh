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

inline NodeSpec redirector_spec()
{
    return {
        "redirector",
        "Take packets off a path and inject others onto it (QEMU filter-redirector)",
        "Packets arriving on `in` leave on `outdev` (they are consumed: nothing continues on `out`). "
        "Packets arriving on `indev` leave on `out`. Link `outdev` to a socket to send a guest's "
        "traffic to a comparator, and `indev` from a socket to release a comparator's output.",
        {
            {"in", PortDir::in, "packets to redirect"},
            {"indev", PortDir::in, "packets to inject onto `out`"},
            {"out", PortDir::out, "injected packets (and `in` packets when status is off)"},
            {"outdev", PortDir::out, "redirected packets"},
        },
        {
            {"status", PropType::enumeration, "on", false, INT64_MIN, INT64_MAX, {"on", "off"},
             "off passes `in` straight to `out`, like a disabled QEMU filter"},
        },
        {},
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<Redirector>(p); },
    };
}

} // namespace colo
