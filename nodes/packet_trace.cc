#include "nodes/packet_trace.hh"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace colo {

namespace {

// pcapng block types and option codes.
constexpr uint32_t kSectionHeader = 0x0A0D0D0A, kInterfaceDescription = 1, kEnhancedPacket = 6;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint16_t kEndOfOptions = 0, kComment = 1, kShbUserAppl = 4, kIfTsresol = 9;
constexpr uint16_t kLinktypeEthernet = 1;

template <typename T>
void append(std::vector<uint8_t>& b, T value)
{
    const std::size_t at = b.size();
    b.resize(at + sizeof value);
    std::memcpy(&b[at], &value, sizeof value);
}

// `data`, then zeros up to the next multiple of 4 bytes.
void append_padded(std::vector<uint8_t>& b, const void* data, std::size_t n)
{
    const auto* p = static_cast<const uint8_t*>(data);
    b.insert(b.end(), p, p + n);
    b.resize((b.size() + 3) / 4 * 4, 0);
}

void append_option(std::vector<uint8_t>& b, uint16_t code, std::string_view value)
{
    append(b, code);
    append(b, uint16_t(value.size()));
    append_padded(b, value.data(), value.size());
}

void begin_block(std::vector<uint8_t>& b, uint32_t type)
{
    b.clear();
    append(b, type);
    append(b, uint32_t(0)); // block total length, set by end_block()
}

void end_block(std::vector<uint8_t>& b)
{
    const uint32_t total = uint32_t(b.size() + 4);
    std::memcpy(&b[4], &total, 4);
    append(b, total);
}

} // namespace

void PacketTrace::FreeFilter::operator()(bpf_program* p) const
{
    pcap_freecode(p);
    delete p;
}

PacketTrace::PacketTrace(const std::string& path, const std::string& filter) : path_(path)
{
    if (!filter.empty()) {
        pcap_t* dead = pcap_open_dead(DLT_EN10MB, int(kSnaplen));
        if (!dead) throw std::runtime_error("filter '" + filter + "': pcap_open_dead failed");
        auto program = std::make_unique<bpf_program>();
        const bool compiled = pcap_compile(dead, program.get(), filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
        const std::string error = compiled ? "" : pcap_geterr(dead);
        pcap_close(dead);
        if (!compiled) throw std::runtime_error("filter '" + filter + "': " + error);
        filter_.reset(program.release());
    }
    out_.reset(std::fopen(path.c_str(), "wb"));
    if (!out_) throw std::runtime_error(path + ": " + std::strerror(errno));

    begin_block(block_, kSectionHeader);
    append(block_, kByteOrderMagic);
    append(block_, uint16_t(1)); // version 1.0
    append(block_, uint16_t(0));
    append(block_, int64_t(-1)); // section length: not given
    append_option(block_, kShbUserAppl, "colo-graph");
    append_option(block_, kEndOfOptions, "");
    end_block(block_);
    put_block();

    begin_block(block_, kInterfaceDescription);
    append(block_, kLinktypeEthernet);
    append(block_, uint16_t(0)); // reserved
    append(block_, kSnaplen);
    append_option(block_, kIfTsresol, std::string_view("\x09", 1)); // 10^-9 s
    append_option(block_, kEndOfOptions, "");
    end_block(block_);
    put_block();
}

bool PacketTrace::matches(const uint8_t* frame, uint32_t len) const
{
    if (!filter_) return true;
    pcap_pkthdr h{};
    h.caplen = std::min(len, kSnaplen);
    h.len = len;
    return pcap_offline_filter(filter_.get(), &h, frame) != 0;
}

void PacketTrace::write(const uint8_t* frame, uint32_t len, uint64_t ts_ns, std::string_view comment)
{
    const uint32_t captured = std::min(len, kSnaplen);
    begin_block(block_, kEnhancedPacket);
    append(block_, uint32_t(0)); // interface 0
    append(block_, uint32_t(ts_ns >> 32));
    append(block_, uint32_t(ts_ns));
    append(block_, captured);
    append(block_, len);
    append_padded(block_, frame, captured);
    if (!comment.empty()) {
        append_option(block_, kComment, comment.substr(0, 65535));
        append_option(block_, kEndOfOptions, "");
    }
    end_block(block_);
    put_block();
}

void PacketTrace::put_block()
{
    if (std::fwrite(block_.data(), 1, block_.size(), out_.get()) != block_.size())
        throw std::runtime_error(path_ + ": write failed (" + std::strerror(errno) + ")");
}

void PacketTrace::flush()
{
    if (std::fflush(out_.get()) != 0) throw std::runtime_error(path_ + ": write failed (" + std::strerror(errno) + ")");
}

} // namespace colo
