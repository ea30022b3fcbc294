#include "nodes/io/text_output.hh"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace colo {

TextOutput::TextOutput(const std::string& name, bool append)
{
    out_ = name == "-" ? stdout : std::fopen(name.c_str(), append ? "a" : "w");
    if (!out_) throw std::runtime_error(name + ": " + std::strerror(errno));
}

void TextOutput::line(std::string_view text)
{
    if (!out_) return;
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fputc('\n', out_);
}

void TextOutput::flush()
{
    if (out_) std::fflush(out_);
}

void TextOutput::close()
{
    if (!out_) return;
    if (out_ == stdout) std::fflush(out_);
    else std::fclose(out_);
    out_ = nullptr;
}

} // namespace colo
