// Validated property values of one node instance, with defaults applied.
// The graph loader guarantees that every value matches its PropertySpec, so
// getters do not re-validate.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace colo {

class Properties {
public:
    void set(const std::string& name, std::string value) { scalars_[name] = std::move(value); }
    void set_list(const std::string& name, std::vector<std::string> v) { lists_[name] = std::move(v); }

    bool has(const std::string& name) const { return scalars_.count(name) || lists_.count(name); }
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
