#include "engine/registry.hh"

#include "engine/properties.hh"

#include <algorithm>
#include <stdexcept>

namespace colo {

Registry& Registry::instance()
{
    static Registry r;
    return r;
}

namespace {

// Levenshtein distance, for suggestions.
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

} // namespace

std::string Registry::check(const NodeSpec& spec)
{
    std::string faults;
    const auto fault = [&](const std::string& what) { faults += "node type '" + spec.type + "': " + what + "\n"; };
    if (spec.type.empty()) fault("no type name");
    if (!spec.factory) fault("no factory");
    for (PortDir dir : {PortDir::in, PortDir::out}) {
        const auto ports = spec.ports_of(dir);
        for (std::size_t i = 0; i < ports.size(); ++i) {
            const PortSpec& p = *ports[i];
            if (p.index != int(i))
                fault(std::string(to_string(dir)) + " port '" + p.name + "' is declared at position " +
                      std::to_string(i) + " but its handle has index " + std::to_string(p.index));
            if (spec.port(p.name, dir) != &p)
                fault(std::string(to_string(dir)) + " port '" + p.name + "' is declared twice");
        }
    }
    for (std::size_t i = 0; i < spec.counters.size(); ++i) {
        const CounterSpec& c = spec.counters[i];
        if (c.index != i)
            fault("counter '" + c.name + "' is declared at position " + std::to_string(i) +
                  " but its handle has index " + (c.index == SIZE_MAX ? std::string("none") : std::to_string(c.index)));
        for (std::size_t j = 0; j < i; ++j)
            if (spec.counters[j].name == c.name) fault("counter '" + c.name + "' is declared twice");
    }
    for (std::size_t i = 0; i < spec.histograms.size(); ++i) {
        const HistogramSpec& h = spec.histograms[i];
        if (h.index != i) fault("histogram '" + h.name + "' is declared at position " + std::to_string(i));
        for (std::size_t j = 0; j < i; ++j)
            if (spec.histograms[j].name == h.name) fault("histogram '" + h.name + "' is declared twice");
    }
    for (std::size_t i = 0; i < spec.handlers.size(); ++i) {
        const HandlerSpec& h = spec.handlers[i];
        if (h.index != int(i)) fault("handler '" + h.name + "' is declared at position " + std::to_string(i));
        for (std::size_t j = 0; j < i; ++j)
            if (spec.handlers[j].name == h.name) fault("handler '" + h.name + "' is declared twice");
    }
    for (const auto& p : spec.properties) {
        if (p.changeable && p.type == PropType::list)
            fault("property '" + p.name + "' is a list; only scalars can be changeable");
        if (spec.property(p.name) != &p) fault("property '" + p.name + "' is declared twice");
        if (p.type != PropType::integer && (p.min != INT64_MIN || p.max != INT64_MAX))
            fault("property '" + p.name + "' has a range but is not an integer");
        if ((p.type == PropType::enumeration) != !p.choices.empty())
            fault("property '" + p.name + "': choices are for enumerations, and every enumeration needs them");
        if (p.required && !p.default_value.empty()) fault("property '" + p.name + "' is required but has a default");
        std::string value = p.default_value;
        if (const std::string why = value.empty() ? "" : check_scalar(p, value); !why.empty())
            fault("property '" + p.name + "': the default is invalid: " + why);
    }
    return faults;
}

bool Registry::add(NodeSpec spec)
{
    if (const std::string faults = check(spec); !faults.empty()) throw std::logic_error(faults);
    const std::string name = spec.type;
    if (!specs_.emplace(name, std::move(spec)).second) throw std::logic_error("node type registered twice: " + name);
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

std::string suggest(const std::string& word, const std::vector<std::string>& candidates)
{
    std::string best;
    std::size_t best_d = SIZE_MAX;
    for (const auto& c : candidates) {
        std::size_t d = edit_distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    // A typo, not a different word: at most a third of the letters off.
    return best_d <= std::max<std::size_t>(2, word.size() / 3) ? best : std::string();
}

} // namespace colo
