// mirror: QEMU filter-mirror as a node. Every packet continues on `out` and a
// copy goes to `mirror`. The copy shares the packet's buffer (a refcount, not
// a memcpy); a node that edits either copy triggers copy-on-write.
#pragma once

#include "engine/node.hh"

namespace colo {

class Mirror : public Node {
public:
    void push(int in_port, const Batch& batch, Emit& out) override;
};

} // namespace colo
