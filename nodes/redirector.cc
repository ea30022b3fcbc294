#include "nodes/redirector.hh"

#include "engine/registry.hh"

namespace colo {

namespace port { enum { in = 0, indev = 1, out = 0, outdev = 1 }; }

Redirector::Redirector(const Properties& p) : enabled_(p.str("status") == "on") {}

void Redirector::push(int in_port, const Batch& batch, Emit& out)
{
    out.forward(in_port == port::indev || !enabled_ ? port::out : port::outdev);
}

COLO_REGISTER_NODE(redirector_spec());

} // namespace colo
