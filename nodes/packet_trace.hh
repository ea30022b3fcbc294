// The file behind `colo-graph ctl PATH trace NODE.PORT` (VPP's `trace add` for
// a graph): the packets crossing one port, each with a comment (node, port,
// verdict, hold time). pcapng, because classic pcap has no per-packet comment;
// libpcap 1.10 reads pcapng but cannot write it, so the three block types are
// written here (host byte order, nanosecond timestamps). The filter is a
// tcpdump expression compiled by libpcap for Ethernet frames; libpcap is why
// this plain class lives here and not in nodes/io, which uses no library but
// the standard one (docs/architecture.md, "Who may include what").
//
// Used from one thread at a time (the caller holds a lock). Buffered: flush()
// reports a write error; the destructor closes the file without a word.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct bpf_program;

namespace colo {

class PacketTrace {
public:
    // Throws std::runtime_error naming the filter or the file: "filter 'tcp portt
    // 80': can't parse filter expression: syntax error",
    // "trace.pcapng: Permission denied". An empty filter matches every frame.
    PacketTrace(const std::string& path, const std::string& filter);
    PacketTrace(const PacketTrace&) = delete;
    PacketTrace& operator=(const PacketTrace&) = delete;

    // `frame`: an Ethernet frame, without any virtio-net header.
    bool matches(const uint8_t* frame, uint32_t len) const;
    // One Enhanced Packet Block; the comment is left out when empty and cut at
    // 65,535 bytes. Throws (naming the file) when the write fails.
    void write(const uint8_t* frame, uint32_t len, uint64_t ts_ns, std::string_view comment);
    void flush(); // throws naming the file

    static constexpr uint32_t kSnaplen = 262144; // longer frames are cut, their length kept

private:
    struct FreeFilter {
        void operator()(bpf_program* p) const;
    };
    struct CloseFile {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    void put_block(); // throws naming the file

    std::string path_;
    std::unique_ptr<bpf_program, FreeFilter> filter_; // null: every frame
    std::unique_ptr<std::FILE, CloseFile> out_;       // closed by the destructor
    std::vector<uint8_t> block_;                      // the block being built, reused
};

} // namespace colo
