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
};

} // namespace colo
