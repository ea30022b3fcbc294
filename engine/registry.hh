// The node-type registry. Each node type registers itself with one line at the
// end of its .cc file:
//
//     COLO_REGISTER_NODE(spec());
//
// where spec(), in the same file, returns the type's NodeSpec. Registration
// checks the spec (Registry::check): a port or counter whose handle index is
// not its position, a duplicate name, or a default that its own property
// would reject stops the program at start-up with the reason.
#pragma once

#include "engine/node_spec.hh"

#include <map>
#include <string>
#include <vector>

namespace colo {

class Registry {
public:
    static Registry& instance();
    bool add(NodeSpec spec); // throws std::logic_error when check() finds a fault
    // Every fault of a spec, one per line; empty when it is sound.
    static std::string check(const NodeSpec& spec);
    const NodeSpec* find(const std::string& type) const;
    std::vector<const NodeSpec*> all() const;           // sorted by type name
    std::string nearest(const std::string& type) const; // best "did you mean", or ""

private:
    std::map<std::string, NodeSpec> specs_;
};

// The candidate closest to `word` if it is close enough to be a likely typo.
std::string suggest(const std::string& word, const std::vector<std::string>& candidates);

} // namespace colo

#define COLO_REGISTER_CONCAT2(a, b) a##b
#define COLO_REGISTER_CONCAT(a, b) COLO_REGISTER_CONCAT2(a, b)
#define COLO_REGISTER_NODE(spec_expr)                                                                                  \
    static const bool COLO_REGISTER_CONCAT(colo_registered_, __LINE__) = ::colo::Registry::instance().add(spec_expr)
