// The node-type registry. Each node type registers itself with one line at the
// end of its .cc file:
//
//     COLO_REGISTER_NODE(mirror_spec());
//
// where mirror_spec() returns the type's NodeSpec.
#pragma once

#include "engine/node_spec.hh"

#include <map>
#include <string>
#include <vector>

namespace colo {

class Registry {
public:
    static Registry& instance();
    bool add(NodeSpec spec);
    const NodeSpec* find(const std::string& type) const;
    std::vector<const NodeSpec*> all() const;   // sorted by type name
    std::string nearest(const std::string& type) const;   // best "did you mean", or ""

private:
    std::map<std::string, NodeSpec> specs_;
};

// Levenshtein distance, for suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);
// The candidate closest to `word` if it is close enough to be a likely typo.
std::string suggest(const std::string& word, const std::vector<std::string>& candidates);

} // namespace colo

#define COLO_REGISTER_CONCAT2(a, b) a##b
#define COLO_REGISTER_CONCAT(a, b) COLO_REGISTER_CONCAT2(a, b)
#define COLO_REGISTER_NODE(spec_expr) \
    static const bool COLO_REGISTER_CONCAT(colo_registered_, __LINE__) = ::colo::Registry::instance().add(spec_expr)
