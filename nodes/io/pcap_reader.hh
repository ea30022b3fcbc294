// PcapReader: a capture file's frames as packets.
//
// libpcap opens the file: it checks the header and names what it rejects.
// A classic pcap file of Ethernet frames (either byte order, micro- or
// nanosecond stamps) is then read with pread() into pooled 256 KiB chunks
// and its records are parsed where they lie: a packet is a slice of its
// chunk, and the virtio-net header asked for takes the place of the record
// header before it. That is one copy
// of each byte, the kernel's, where reading through libpcap makes three (into
// the stdio buffer, into libpcap's, into a packet), and the copies, not the
// parsing, are what a replay's reading costs (docs/performance.md). Other
// formats (pcapng) and files that cannot be read at an offset (a pipe) go
// through libpcap, a copy per packet.
//
// Packets share their chunk until a writer asks for mutable_data(), which
// copies (Packet's copy-on-write), as those of a socket's read chunks do. A
// graph that holds packets long (a comparator waiting for the other side)
// holds their chunks: at most 16 (4 MiB), after which packets are copied.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/packet.hh"

typedef struct pcap pcap_t;

namespace colo {

class PcapReader {
public:
    // Throws std::runtime_error("PATH: why") when the file cannot be opened
    // or is not a capture.
    PcapReader(const std::string& path, uint32_t vnet_len);
    ~PcapReader();
    PcapReader(const PcapReader&) = delete;
    PcapReader& operator=(const PcapReader&) = delete;

    int link_type() const { return link_type_; }

    enum class Next {
        frame,     // `out` holds the next frame behind vnet_len zero bytes, stamped with its capture time
        end,       // the file ended after a whole record
        truncated, // the file ended inside a record, or a record is malformed: error() says which
    };
    // `snapped`: the frame is shorter in the file than it was on the wire.
    // Frames longer than kMaxFrameLen - vnet_len are cut to it.
    Next next(Packet& out, bool& snapped);
    const std::string& error() const { return error_; } // names the file

    uint64_t position() const; // bytes of the file consumed, headers included

private:
    Next next_classic(Packet& out, bool& snapped);
    Next next_libpcap(Packet& out, bool& snapped);
    bool buffered(uint32_t need); // false: the file ended (or failed: error_) before `need` bytes
    void next_chunk(uint32_t need);
    Next fail(std::string why);

    std::string path_;
    uint32_t vnet_len_;
    int link_type_ = 0;
    pcap_t* pcap_ = nullptr;         // the libpcap path
    std::vector<char> stdio_buffer_; // its FILE's buffer
    // The classic path:
    int fd_ = -1;
    bool swapped_ = false, nanoseconds_ = false, eof_ = false;
    uint32_t snaplen_ = 0;
    // Packets share chunks 0 to kSharedChunks - 1 and are copied out of the
    // private one, which is used only while every shared one is held.
    static constexpr std::size_t kSharedChunks = 16, kPrivateChunk = kSharedChunks;
    std::array<BufRef, kSharedChunks + 1> chunks_;
    std::size_t current_ = 0;
    BufRef& chunk() { return chunks_[current_]; }
    uint32_t pos_ = 0, end_ = 0;     // in chunk(): parsed up to pos_, read up to end_
    uint64_t chunk_file_offset_ = 0; // the file offset of chunk()'s first byte
    std::string error_;
};

} // namespace colo
