// pcap-sink: writes frames to a pcap file (LINKTYPE_ETHERNET, microsecond
// timestamps) that tcpdump and tshark read. Any virtio-net header is left
// out: pcap holds Ethernet frames.
//
// A failed write (e.g. a full disk) is logged once with the file name; the
// sink then counts every packet it cannot write and the graph keeps running.
#pragma once

#include "engine/node.hh"

#include <cstdio>
#include <string>
#include <vector>

typedef struct pcap pcap_t;
typedef struct pcap_dumper pcap_dumper_t;

namespace colo {

class PcapSink : public Node {
public:
    explicit PcapSink(const Properties& p);
    ~PcapSink() override;
    void start(Injector& injector) override { injector_ = &injector; }
    void push(int in_port, const Batch& batch, Emit& out) override;
    void drain(Emit& out) override;
    void finish() override;

private:
    std::string open(); // the dumper; an error message on failure
    void check_stream();

    std::string file_;
    bool flush_each_batch_;
    pcap_t* dead_ = nullptr;
    pcap_dumper_t* dumper_ = nullptr;
    std::vector<char> write_buffer_; // the FILE's stdio buffer; outlives dumper_
    bool failed_ = false;
    Injector* injector_ = nullptr;
};

inline NodeSpec pcap_sink_spec()
{
    return {
        "pcap-sink",
        "Write frames to a pcap file",
        "Writes every frame arriving on `in` to FILE (created or truncated at start). The file is "
        "complete after a normal end or SIGINT/SIGTERM: the runtime drains the graph and the sink "
        "closes the file. On a write error the sink logs once, counts the packets it drops, and the "
        "rest of the graph keeps running.",
        {{"in", PortDir::in, "frames to write", true}},
        {
            {"file", PropType::string, "", true, INT64_MIN, INT64_MAX, {}, "pcap file to write"},
            {"snaplen", PropType::integer, "262144", false, 64, 262144, {}, "bytes of each frame kept"},
            {"flush", PropType::boolean, "false", false, INT64_MIN, INT64_MAX, {},
             "flush after every batch (for live graphs whose file is read while running)"},
        },
        {
            {"packets", "frames written"},
            {"bytes", "bytes written"},
            {"write_errors", "frames lost because the file could not be written"},
        },
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<PcapSink>(p); },
    };
}

} // namespace colo
