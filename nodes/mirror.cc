#include "nodes/mirror.hh"

#include "engine/registry.hh"

namespace colo {

namespace {
namespace port {
constexpr InPortId in{0, "in"};
constexpr OutPortId out{0, "out"}, mirror{1, "mirror"};
} // namespace port
} // namespace

void Mirror::push(int, const Batch& batch, Emit& out)
{
    // A live graph runs the successor of the port forwarded last first, so the
    // copy for `mirror` leaves first: on a primary that is the secondary's, the
    // longer way to its guest, and the reply waits for the later guest (the
    // other order measured +100 µs a request, docs/performance.md).
    out.forward(port::out);
    out.forward(port::mirror);
}

namespace {
NodeSpec spec()
{
    return {
        .type = "mirror",
        .summary = "Pass packets through and send a copy to a second port (QEMU filter-mirror)",
        .description = "Each packet arriving on `in` leaves on `out` unchanged, and the same packet leaves on "
                       "`mirror`. On a COLO primary, `mirror` feeds the secondary's inbound path, so both guests see "
                       "the client's traffic. The copy is zero-copy: both outputs share one buffer.",
        .ports =
            {
                declare(port::in, "packets to pass and copy", Link::required),
                declare(port::out, "every packet, unchanged"),
                declare(port::mirror, "a copy of every packet"),
            },
        .factory = construct<Mirror>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
