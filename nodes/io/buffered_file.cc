#include "nodes/io/buffered_file.hh"

namespace colo {

FILE* fopen_buffered(const std::string& path, const char* mode, std::vector<char>& buffer)
{
    FILE* f = std::fopen(path.c_str(), mode);
    if (!f) return nullptr;
    buffer.resize(std::size_t(1) << 16);
    std::setvbuf(f, buffer.data(), _IOFBF, buffer.size()); // glibc ignores the size unless given the buffer
    return f;
}

} // namespace colo
