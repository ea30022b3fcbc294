#include "engine/properties.hh"

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace colo {

bool parse_integer(const std::string& text, int64_t& out)
{
    if (text.empty()) return false;
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno || *end != '\0') return false;
    out = v;
    return true;
}

bool parse_boolean(const std::string& text, bool& out)
{
    if (text == "true" || text == "on" || text == "yes") {
        out = true;
        return true;
    }
    if (text == "false" || text == "off" || text == "no") {
        out = false;
        return true;
    }
    return false;
}

std::string Properties::str(const std::string& name) const
{
    auto it = scalars_.find(name);
    return it == scalars_.end() ? std::string() : it->second;
}

int64_t Properties::integer(const std::string& name) const
{
    int64_t v = 0;
    if (!parse_integer(str(name), v)) throw std::logic_error("property '" + name + "' is not an integer");
    return v;
}

bool Properties::boolean(const std::string& name) const
{
    bool v = false;
    if (!parse_boolean(str(name), v)) throw std::logic_error("property '" + name + "' is not a boolean");
    return v;
}

std::vector<std::string> Properties::list(const std::string& name) const
{
    auto it = lists_.find(name);
    return it == lists_.end() ? std::vector<std::string>() : it->second;
}

} // namespace colo
