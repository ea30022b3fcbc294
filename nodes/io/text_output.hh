// A line-oriented output that a graph names: "-" is standard output, any
// other name a file created (or appended to). Shared by the text sinks.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace colo {

class TextOutput {
public:
    TextOutput(const std::string& name, bool append = false); // throws naming the file
    ~TextOutput() { close(); }
    TextOutput(const TextOutput&) = delete;
    TextOutput& operator=(const TextOutput&) = delete;

    void line(std::string_view text);
    void flush();
    void close();

private:
    std::FILE* out_ = nullptr;
};

} // namespace colo
