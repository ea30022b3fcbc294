#include "engine/diagnostics.hh"

namespace colo {

std::size_t Diagnostics::error_count() const
{
    std::size_t n = 0;
    for (const auto& d : items_) n += d.error;
    return n;
}

std::string format(const Diagnostic& d)
{
    std::string s = d.loc.file.empty() ? "colo-graph" : d.loc.file;
    if (d.loc.line > 0) {
        // Appended piece by piece: `":" + std::to_string(...)` trips a GCC 12 -Wrestrict false positive.
        s += ':';
        s += std::to_string(d.loc.line);
        s += ':';
        s += std::to_string(d.loc.col);
    }
    s += d.error ? ": error: " : ": note: ";
    return s + d.message;
}

void Diagnostics::print(std::ostream& os) const
{
    for (const auto& d : items_) os << format(d) << '\n';
}

} // namespace colo
