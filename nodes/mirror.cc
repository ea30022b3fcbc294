#include "nodes/mirror.hh"

#include "engine/registry.hh"

namespace colo {

void Mirror::push(int, const Batch& batch, Emit& out)
{
    out.send(0, batch);
    out.send(1, batch);
}

COLO_REGISTER_NODE(mirror_spec());

} // namespace colo
