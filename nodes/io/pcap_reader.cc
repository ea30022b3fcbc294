#include "nodes/io/pcap_reader.hh"

#include "nodes/io/buffered_file.hh"

#include <pcap/pcap.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace colo {

namespace {

constexpr uint32_t kMagicMicroseconds = 0xa1b2c3d4, kMagicNanoseconds = 0xa1b23c4d;
constexpr uint32_t kFileHeaderLen = 24, kRecordHeaderLen = 16;
// libpcap's bound on a record's captured length (MAXIMUM_SNAPLEN): a larger
// one is a corrupt file, not a frame.
constexpr uint32_t kMaxCaptureLen = 262144;
// Pooled (the buffer pool's largest class) and large enough that a chunk's
// read, and handing its packets on, is rare next to parsing them.
constexpr uint32_t kChunkBytes = 256u << 10;

uint32_t load32(const uint8_t* p, bool swapped)
{
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return swapped ? __builtin_bswap32(v) : v;
}

// A packet of its own: vnet_len zero bytes, then the frame's n bytes.
void copy_frame(Packet& out, const uint8_t* frame, uint32_t n, uint32_t vnet_len)
{
    out.buf = BufRef::allocate(n + vnet_len);
    out.head = 0;
    std::memset(out.buf.get()->data(), 0, vnet_len);
    std::memcpy(out.buf.get()->data() + vnet_len, frame, n);
    out.len = n + vnet_len;
    out.vnet_len = vnet_len;
}

} // namespace

PcapReader::PcapReader(const std::string& path, uint32_t vnet_len) : path_(path), vnet_len_(vnet_len)
{
    char err[PCAP_ERRBUF_SIZE] = {};
    FILE* f = fopen_buffered(path_, "rb", stdio_buffer_);
    if (!f) throw std::runtime_error(path_ + ": " + std::strerror(errno));
    pcap_ = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
    if (!pcap_) {
        std::fclose(f);
        throw std::runtime_error(path_ + ": " + err);
    }
    link_type_ = pcap_datalink(pcap_);
    // In place: classic Ethernet captures of version 2.4 (what libpcap and
    // Wireshark write), which libpcap reads without a quirk (older versions
    // may have their lengths swapped; other link types have other bounds).
    uint32_t magic = 0;
    if (link_type_ != DLT_EN10MB || pcap_major_version(pcap_) != 2 || pcap_minor_version(pcap_) != 4) return;
    if (::pread(fileno(f), &magic, sizeof magic, 0) != ssize_t(sizeof magic)) return; // a pipe: libpcap reads it
    if (pcap_is_swapped(pcap_)) magic = __builtin_bswap32(magic);
    if (magic != kMagicMicroseconds && magic != kMagicNanoseconds) return; // pcapng, or a variant of pcap
    fd_ = ::fcntl(fileno(f), F_DUPFD_CLOEXEC, 0);
    if (fd_ < 0) return;
    swapped_ = pcap_is_swapped(pcap_);
    nanoseconds_ = magic == kMagicNanoseconds;
    snaplen_ = uint32_t(pcap_snapshot(pcap_)); // as libpcap adjusted it: 0 or above the bound means the bound
    chunk_file_offset_ = kFileHeaderLen;
    pcap_close(pcap_);
    pcap_ = nullptr;
    stdio_buffer_ = {}; // its FILE is closed
}

PcapReader::~PcapReader()
{
    if (pcap_) pcap_close(pcap_);
    if (fd_ >= 0) ::close(fd_);
}

PcapReader::Next PcapReader::next(Packet& out, bool& snapped)
{
    return pcap_ ? next_libpcap(out, snapped) : next_classic(out, snapped);
}

uint64_t PcapReader::position() const
{
    if (!pcap_) return chunk_file_offset_ + pos_;
    const long pos = std::ftell(pcap_file(pcap_)); // what libpcap consumed, not what stdio buffered
    return pos < 0 ? 0 : uint64_t(pos);
}

PcapReader::Next PcapReader::fail(std::string why)
{
    if (error_.empty()) error_ = path_ + ": " + why;
    eof_ = true;
    return Next::truncated;
}

bool PcapReader::buffered(uint32_t need)
{
    while (end_ - pos_ < need) {
        if (eof_) return false;
        if (!chunk().get() || pos_ + need > chunk().get()->capacity()) next_chunk(need);
        const ssize_t n = ::pread(fd_, chunk().get()->data() + end_, chunk().get()->capacity() - end_,
                                  off_t(chunk_file_offset_ + end_));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(std::string("read failed: ") + std::strerror(errno));
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        end_ += uint32_t(n);
    }
    return true;
}

// The unparsed bytes move to the start of a chunk with room for `need`: this
// one if no packet holds it any more (still warm in the cache), else another
// shared chunk that none holds, else the private one. Packets that share
// chunks keep them from being reused; the private chunk bounds the memory
// they pin, at a copy of each packet read from it.
void PcapReader::next_chunk(uint32_t need)
{
    const auto fits = [&](const BufRef& c) { return c.get() && c.get()->capacity() >= need; };
    std::size_t into = kPrivateChunk;
    if (current_ != kPrivateChunk && chunks_[current_].unique() && fits(chunks_[current_])) {
        into = current_;
    } else {
        for (std::size_t i = 0; i < kPrivateChunk; ++i) {
            if (i == current_ || (chunks_[i].get() && !chunks_[i].unique())) continue;
            into = i;
            break;
        }
    }
    const uint32_t left = end_ - pos_;
    const uint8_t* from = left ? chunk().get()->data() + pos_ : nullptr;
    if (fits(chunks_[into])) {
        if (left) std::memmove(chunks_[into].get()->data(), from, left);
    } else {
        BufRef larger = BufRef::allocate(std::max(kChunkBytes, need));
        if (left) std::memcpy(larger.get()->data(), from, left);
        chunks_[into] = std::move(larger); // after the copy: `from` may lie in the chunk it replaces
    }
    current_ = into;
    chunk_file_offset_ += pos_;
    end_ = left;
    pos_ = 0;
}

// As libpcap's pcap_next_packet() in sf-pcap.c reads a record, and with its
// words for what ends a file.
PcapReader::Next PcapReader::next_classic(Packet& out, bool& snapped)
{
    if (!buffered(kRecordHeaderLen)) {
        if (!error_.empty()) return Next::truncated;
        if (pos_ == end_) return Next::end;
        const uint32_t got = end_ - pos_;
        pos_ = end_; // consumed, as libpcap's fread() consumes what it finds
        return fail("truncated dump file; tried to read " + std::to_string(kRecordHeaderLen) +
                    " header bytes, only got " + std::to_string(got));
    }
    const uint8_t* h = chunk().get()->data() + pos_;
    const uint32_t seconds = load32(h, swapped_), fraction = load32(h + 4, swapped_);
    const uint32_t caplen = load32(h + 8, swapped_), wire_len = load32(h + 12, swapped_);
    if (caplen > kMaxCaptureLen) {
        pos_ += kRecordHeaderLen;
        return fail("invalid packet capture length " + std::to_string(caplen) +
                    (caplen > snaplen_ ? ", bigger than snaplen of " + std::to_string(snaplen_)
                                       : ", bigger than maximum of " + std::to_string(kMaxCaptureLen)));
    }
    // A record longer than the file's snaplen is cut to it (a writer that
    // got the header wrong, or a corrupt file).
    const uint32_t captured = std::min(caplen, snaplen_);
    if (!buffered(kRecordHeaderLen + caplen)) {
        if (!error_.empty()) return Next::truncated;
        const uint32_t got = end_ - pos_ - kRecordHeaderLen;
        pos_ = end_;
        return fail("truncated dump file; tried to read " + std::to_string(got < captured ? captured : caplen) +
                    " captured bytes, only got " + std::to_string(got));
    }
    const uint32_t n = std::min(captured, kMaxFrameLen - vnet_len_);
    const uint32_t frame_at = pos_ + kRecordHeaderLen;
    if (current_ != kPrivateChunk && vnet_len_ <= kRecordHeaderLen) {
        out.buf = chunk();
        out.head = frame_at - vnet_len_;
        std::memset(chunk().get()->data() + out.head, 0, vnet_len_); // over the record header, parsed already
        out.len = n + vnet_len_;
        out.vnet_len = vnet_len_;
    } else {
        copy_frame(out, chunk().get()->data() + frame_at, n, vnet_len_);
    }
    // libpcap 1.10 takes the stamp's fields as signed in the machine's byte
    // order and as unsigned when it swaps them; they differ only past 2038 or
    // for a fraction above a second, where this reads what libpcap reads.
    const auto field = [&](uint32_t v) { return swapped_ ? int64_t(v) : int64_t(int32_t(v)); };
    out.ts_ns = uint64_t(field(seconds)) * 1'000'000'000ull + uint64_t(field(fraction) * (nanoseconds_ ? 1 : 1000));
    snapped = captured < wire_len;
    pos_ = frame_at + caplen;
    return Next::frame;
}

PcapReader::Next PcapReader::next_libpcap(Packet& out, bool& snapped)
{
    if (eof_) return error_.empty() ? Next::end : Next::truncated;
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(pcap_, &hdr, &data);
    if (rc == -1) return fail(pcap_geterr(pcap_)); // libpcap reports a record cut short as an error
    if (rc != 1) {
        eof_ = true;
        return Next::end;
    }
    copy_frame(out, data, std::min<uint32_t>(hdr->caplen, kMaxFrameLen - vnet_len_), vnet_len_);
    out.ts_ns = uint64_t(hdr->ts.tv_sec) * 1'000'000'000ull + uint64_t(hdr->ts.tv_usec); // nanoseconds, as opened
    snapped = hdr->caplen < hdr->len;
    return Next::frame;
}

} // namespace colo
