// Validated property values of one node instance, with defaults applied.
// The graph loader guarantees that every value matches its PropertySpec, so
// getters do not re-validate.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace colo {

enum class PropType { string, integer, boolean, enumeration, list };

// A property handle: its name and type, declared once by the node type (see
// node_spec.hh) and read with Properties::get(), which returns the type's
// value (std::string, int64_t, bool or a list of strings).
template <PropType T>
struct Property {
    const char* name;
};
using StringProperty = Property<PropType::string>;
using IntProperty = Property<PropType::integer>;
using BoolProperty = Property<PropType::boolean>;
using EnumProperty = Property<PropType::enumeration>;
using ListProperty = Property<PropType::list>;

class Properties {
public:
    void set(const std::string& name, std::string value) { scalars_[name] = std::move(value); }
    void set_list(const std::string& name, std::vector<std::string> v) { lists_[name] = std::move(v); }

    std::string get(StringProperty p) const { return str(p.name); }
    std::string get(EnumProperty p) const { return str(p.name); }
    int64_t get(IntProperty p) const { return integer(p.name); }
    bool get(BoolProperty p) const { return boolean(p.name); }
    std::vector<std::string> get(ListProperty p) const { return list(p.name); }

    std::string str(const std::string& name) const;
    int64_t integer(const std::string& name) const;
    bool boolean(const std::string& name) const;
    std::vector<std::string> list(const std::string& name) const;

    const std::map<std::string, std::string>& scalars() const { return scalars_; }
    const std::map<std::string, std::vector<std::string>>& lists() const { return lists_; }

private:
    std::map<std::string, std::string> scalars_;
    std::map<std::string, std::vector<std::string>> lists_;
};

// Text-to-value rules shared by validation and the getters.
bool parse_integer(const std::string& text, int64_t& out);
bool parse_boolean(const std::string& text, bool& out);

} // namespace colo
