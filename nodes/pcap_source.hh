// pcap-source: reads Ethernet frames from a pcap file.
//
// timing=fast (default) makes it an offline source: the runtime pulls
// batches as fast as the graph takes them and merges several files by
// timestamp, so replay is deterministic and time is the packets' own.
// timing=original replays on a thread at the capture's pace, stamping packets
// with the wall clock, for live graphs.
//
// With read_ahead the file is read on a thread of its own (ReadAhead), a few
// chunks ahead of the graph, so that reading and processing overlap.
#pragma once

#include "engine/node.hh"
#include "nodes/io/read_ahead.hh"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

typedef struct pcap pcap_t;

namespace colo {

class PcapSource : public Node {
public:
    explicit PcapSource(const Properties& p);
    ~PcapSource() override;

    SourceKind source_kind() const override { return paced_ ? SourceKind::live : SourceKind::offline; }
    bool peek_time(uint64_t& ts_ns) override;
    bool pull(std::size_t max, uint64_t until_ns, int& out_port, Batch& out) override;
    void start(Injector& injector) override;
    void drain(Emit& out) override;
    void finish() override;

private:
    // On the read-ahead thread, if there is one:
    void open();
    bool read_one(Packet& out); // false at the end of the input
    bool fill(ReadAhead::Chunk& chunk, std::size_t max_bytes); // false at the end
    // On the thread that consumes (the runtime's driver, or the paced one):
    Packet* front(); // the next packet, or nullptr at the end
    void paced_loop(Injector& injector);
    void stop_thread();

    std::string file_;
    bool paced_;
    bool read_ahead_;
    int64_t passes_;          // 0 = forever
    uint32_t vnet_len_;
    pcap_t* pcap_ = nullptr;
    std::vector<char> read_buffer_; // the stdio buffer of pcap_'s file
    int64_t pass_ = 0;
    uint64_t pass_offset_ns_ = 0, first_ts_ = 0, last_ts_ = 0;
    bool eof_ = false;
    uint64_t seq_ = 0;
    std::unique_ptr<ReadAhead> ahead_; // with read_ahead, started by the first front()
    ReadAhead::Chunk chunk_;
    std::size_t chunk_pos_ = 0;
    std::thread thread_;
    Injector* injector_ = nullptr;
    std::atomic<bool> stop_{false};
};

inline NodeSpec pcap_source_spec()
{
    return {
        "pcap-source",
        "Read Ethernet frames from a pcap file",
        "Emits every frame of FILE on `out`. With timing=fast the graph replays as fast as it can, "
        "on the packets' own clock (deterministic: several sources are merged by timestamp). With "
        "timing=original frames are released at the capture's pace and stamped with the wall clock. "
        "Only Ethernet (LINKTYPE_ETHERNET) captures are accepted. A truncated capture ends the file "
        "with a logged warning and a counter.",
        {{"out", PortDir::out, "frames read from the file"}},
        {
            {"file", PropType::string, "", true, INT64_MIN, INT64_MAX, {}, "pcap file to read"},
            {"timing", PropType::enumeration, "fast", false, INT64_MIN, INT64_MAX, {"fast", "original"},
             "fast: as fast as possible on packet time; original: at the capture's pace"},
            {"loop", PropType::integer, "1", false, 0, INT64_MAX, {}, "passes over the file; 0 = forever"},
            {"vnet_hdr_len", PropType::integer, "0", false, 0, 20, {},
             "prepend a zeroed virtio-net header of this many bytes to every frame"},
            {"read_ahead", PropType::boolean, "false", false, INT64_MIN, INT64_MAX, {},
             "read on a thread of its own, up to 1 MiB ahead: a replay through a graph that does real work "
             "(a comparator) finishes sooner on a second core, for more CPU in all (docs/performance.md); "
             "a graph that only moves packets is slower"},
        },
        {
            {"packets", "frames read"},
            {"bytes", "bytes read"},
            {"snapped", "frames shorter in the file than on the wire (snaplen)"},
            {"truncated_files", "files that ended in the middle of a record"},
        },
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<PcapSource>(p); },
    };
}

} // namespace colo
