// Fuzzes the capture reader (nodes/io/pcap_reader.hh), whose classic-pcap
// path parses records itself, against libpcap reading the same bytes.
//
// Input: byte 0 is the virtio-net header length (0..31, the reader's copy
// path from 17 on); the rest is the file, in a memfd opened by its
// /proc/self/fd path.
//
// Checked: the reader opens what libpcap opens and refuses what it refuses;
// it gives the same frames (bytes, stamps, snapped) in the same order, ends
// where libpcap ends, and says what libpcap says when a record cannot be read;
// no frame is longer than kMaxFrameLen; position() ends where libpcap's
// stream does.
#include "nodes/io/pcap_reader.hh"

#include <pcap/pcap.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

using namespace colo;

namespace {

void check_at(bool ok, int line)
{
    if (!ok) {
        std::fprintf(stderr, "check failed at line %d\n", line);
        std::abort();
    }
}

#define check(ok) check_at(ok, __LINE__)
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1) return 0;
    const uint32_t vnet_len = data[0] % 32;
    const int fd = memfd_create("capture", MFD_CLOEXEC);
    check(fd >= 0);
    check(::write(fd, data + 1, size - 1) == ssize_t(size - 1));
    const std::string path = "/proc/self/fd/" + std::to_string(fd);

    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    PcapReader* reader = nullptr;
    try {
        reader = new PcapReader(path, vnet_len);
    } catch (const std::runtime_error& e) {
        check(p == nullptr);
        check(std::string(e.what()).rfind(path + ": ", 0) == 0);
        ::close(fd);
        return 0;
    }
    check(p != nullptr);

    pcap_pkthdr* h;
    const u_char* bytes;
    int rc;
    Packet pkt;
    bool snapped = false;
    while ((rc = pcap_next_ex(p, &h, &bytes)) == 1) {
        check(reader->next(pkt, snapped) == PcapReader::Next::frame);
        const uint32_t n = std::min<uint32_t>(h->caplen, kMaxFrameLen - vnet_len);
        check(pkt.len == n + vnet_len && pkt.len <= kMaxFrameLen && pkt.vnet_len == vnet_len);
        for (uint32_t i = 0; i < vnet_len; ++i) check(pkt.data()[i] == 0);
        check(std::memcmp(pkt.data() + vnet_len, bytes, n) == 0);
        check(pkt.ts_ns == uint64_t(h->ts.tv_sec) * 1'000'000'000ull + uint64_t(h->ts.tv_usec));
        check(snapped == (h->caplen < h->len));
    }
    const PcapReader::Next last = reader->next(pkt, snapped);
    if (rc == -1) {
        check(last == PcapReader::Next::truncated);
        check(reader->error() == path + ": " + pcap_geterr(p));
    } else {
        check(last == PcapReader::Next::end);
    }
    check(reader->position() == uint64_t(std::ftell(pcap_file(p)))); // what libpcap consumed
    delete reader;
    pcap_close(p);
    ::close(fd);
    return 0;
}
