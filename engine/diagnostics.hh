// Compiler-style diagnostics: "file:line:col: error: message". Loaders collect
// every problem before giving up, as click-check does.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace colo {

struct SourceLoc {
    std::string file;
    int line = 0; // 1-based; 0 = unknown
    int col = 0;
};

struct Diagnostic {
    SourceLoc loc;
    bool error = true; // false = note
    std::string message;
};

class Diagnostics {
public:
    void error(const SourceLoc& loc, std::string msg) { items_.push_back({loc, true, std::move(msg)}); }
    void note(const SourceLoc& loc, std::string msg) { items_.push_back({loc, false, std::move(msg)}); }
    std::size_t error_count() const;
    bool ok() const { return error_count() == 0; }
    const std::vector<Diagnostic>& items() const { return items_; }
    void print(std::ostream& os) const;

private:
    std::vector<Diagnostic> items_;
};

std::string format(const Diagnostic& d);

} // namespace colo
