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

inline NodeSpec mirror_spec()
{
    return {
        "mirror",
        "Pass packets through and send a copy to a second port (QEMU filter-mirror)",
        "Each packet arriving on `in` leaves on `out` unchanged, and the same packet leaves on "
        "`mirror`. On a COLO primary, `mirror` feeds the secondary's inbound path, so both guests see "
        "the client's traffic. The copy is zero-copy: both outputs share one buffer.",
        {
            {"in", PortDir::in, "packets to pass and copy", true},
            {"out", PortDir::out, "every packet, unchanged"},
            {"mirror", PortDir::out, "a copy of every packet"},
        },
        {},
        {},
        [](const Properties&) -> std::unique_ptr<Node> { return std::make_unique<Mirror>(); },
    };
}

} // namespace colo
