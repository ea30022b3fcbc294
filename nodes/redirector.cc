#include "nodes/redirector.hh"

#include "engine/registry.hh"

namespace colo {

namespace {
namespace port {
constexpr InPortId in{0, "in"}, indev{1, "indev"};
constexpr OutPortId out{0, "out"}, outdev{1, "outdev"};
} // namespace port
namespace prop {
constexpr EnumProperty status{"status"};
}
} // namespace

Redirector::Redirector(const Properties& p) : enabled_(p.get(prop::status) == "on") {}

void Redirector::push(int in_port, const Batch& batch, Emit& out)
{
    out.forward(in_port == port::indev || !enabled_ ? port::out : port::outdev);
}

namespace {
NodeSpec spec()
{
    return {
        .type = "redirector",
        .summary = "Take packets off a path and inject others onto it (QEMU filter-redirector)",
        .description = "Packets arriving on `in` leave on `outdev` (they are consumed: nothing continues on `out`). "
                       "Packets arriving on `indev` leave on `out`. Link `outdev` to a socket to send a guest's "
                       "traffic to a comparator, and `indev` from a socket to release a comparator's output.",
        .ports =
            {
                declare(port::in, "packets to redirect"),
                declare(port::indev, "packets to inject onto `out`"),
                declare(port::out, "injected packets (and `in` packets when status is off)"),
                declare(port::outdev, "redirected packets"),
            },
        .properties =
            {
                declare(prop::status, {.default_value = "on",
                                       .choices = {"on", "off"},
                                       .doc = "off passes `in` straight to `out`, like a disabled QEMU filter"}),
            },
        .factory = construct<Redirector>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
