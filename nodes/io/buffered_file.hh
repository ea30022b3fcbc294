// fopen() with a 64 KiB stdio buffer instead of glibc's 4 KiB. libpcap reads
// and writes capture records with fread/fwrite, so the buffer decides how
// many read()/write() calls a capture costs (400 MB: 97,698 reads -> 423).
// The FILE does not lock itself: the caller uses it from one thread at a time.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace colo {

// `buffer` becomes the FILE's buffer and must outlive it. On failure returns
// nullptr with errno set, like fopen().
FILE* fopen_buffered(const std::string& path, const char* mode, std::vector<char>& buffer);

} // namespace colo
