#include "nodes/io/buffered_file.hh"

#include <stdio_ext.h>

namespace colo {

FILE* fopen_buffered(const std::string& path, const char* mode, std::vector<char>& buffer)
{
    FILE* f = std::fopen(path.c_str(), mode);
    if (!f) return nullptr;
    buffer.resize(std::size_t(1) << 16);
    std::setvbuf(f, buffer.data(), _IOFBF, buffer.size()); // glibc ignores the size unless given the buffer
    // Each FILE is used by one node, and a node by one thread at a time, so
    // stdio's per-call lock (taken once a process has threads) buys nothing:
    // libpcap makes two fread calls per record.
    __fsetlocking(f, FSETLOCKING_BYCALLER);
    return f;
}

} // namespace colo
