#include "engine/node_spec.hh"

namespace colo {

const HandlerSpec* NodeSpec::handler(const std::string& name) const
{
    for (const auto& h : handlers)
        if (h.name == name) return &h;
    return nullptr;
}

const PortSpec* NodeSpec::port(const std::string& name, PortDir dir) const
{
    for (const auto& p : ports)
        if (p.name == name && p.dir == dir) return &p;
    return nullptr;
}

int NodeSpec::port_index(const std::string& name, PortDir dir) const
{
    int i = 0;
    for (const auto& p : ports) {
        if (p.dir != dir) continue;
        if (p.name == name) return i;
        ++i;
    }
    return -1;
}

std::vector<const PortSpec*> NodeSpec::ports_of(PortDir dir) const
{
    std::vector<const PortSpec*> v;
    for (const auto& p : ports)
        if (p.dir == dir) v.push_back(&p);
    return v;
}

const PropertySpec* NodeSpec::property(const std::string& name) const
{
    for (const auto& p : properties)
        if (p.name == name) return &p;
    return nullptr;
}

std::string check_scalar(const PropertySpec& p, std::string& text)
{
    switch (p.type) {
    case PropType::integer: {
        int64_t v = 0;
        if (!parse_integer(text, v)) return "expected an integer, got '" + text + "'";
        if (v < p.min || v > p.max)
            return text + " is out of range [" + std::to_string(p.min) + ", " + std::to_string(p.max) + "]";
        return "";
    }
    case PropType::boolean: {
        bool b = false;
        if (!parse_boolean(text, b)) return "expected true or false, got '" + text + "'";
        text = b ? "true" : "false";
        return "";
    }
    case PropType::enumeration: {
        std::string all;
        for (const auto& c : p.choices) {
            if (c == text) return "";
            all += (all.empty() ? "" : ", ") + c;
        }
        return "'" + text + "' is not one of: " + all;
    }
    case PropType::string:
    case PropType::list: return "";
    }
    return "";
}

const char* to_string(PropType t)
{
    switch (t) {
    case PropType::string: return "string";
    case PropType::integer: return "integer";
    case PropType::boolean: return "boolean";
    case PropType::enumeration: return "enum";
    case PropType::list: return "list";
    }
    return "?";
}

const char* to_string(PortDir d)
{
    return d == PortDir::in ? "in" : "out";
}

} // namespace colo
