#include "engine/registry.hh"

#include <algorithm>
#include <stdexcept>

namespace colo {

Registry& Registry::instance()
{
    static Registry r;
    return r;
}

bool Registry::add(NodeSpec spec)
{
    const std::string name = spec.type;
    if (!specs_.emplace(name, std::move(spec)).second)
        throw std::logic_error("node type registered twice: " + name);
    return true;
}

const NodeSpec* Registry::find(const std::string& type) const
{
    auto it = specs_.find(type);
    return it == specs_.end() ? nullptr : &it->second;
}

std::vector<const NodeSpec*> Registry::all() const
{
    std::vector<const NodeSpec*> v;
    for (const auto& [name, spec] : specs_) v.push_back(&spec);
    return v;
}

std::string Registry::nearest(const std::string& type) const
{
    std::vector<std::string> names;
    for (const auto& [name, spec] : specs_) names.push_back(name);
    return suggest(type, names);
}

std::size_t edit_distance(const std::string& a, const std::string& b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string suggest(const std::string& word, const std::vector<std::string>& candidates)
{
    std::string best;
    std::size_t best_d = SIZE_MAX;
    for (const auto& c : candidates) {
        std::size_t d = edit_distance(word, c);
        if (d < best_d) { best_d = d; best = c; }
    }
    // A typo, not a different word: at most a third of the letters off.
    return best_d <= std::max<std::size_t>(2, word.size() / 3) ? best : std::string();
}

} // namespace colo
