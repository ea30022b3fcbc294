// pcap-live: capture from and inject into an existing interface with libpcap
// (AF_PACKET underneath), for hosts where the guest sits on a bridge or a
// veth rather than on a TAP device that colo-graph owns.
#pragma once

#include "engine/node.hh"
#include "nodes/io/fd_reader.hh"

#include <string>

typedef struct pcap pcap_t;

namespace colo {

class PcapLive : public Node {
public:
    explicit PcapLive(const Properties& p);
    ~PcapLive() override;
    SourceKind source_kind() const override { return SourceKind::live; }
    void push(int in_port, const Batch& batch, Emit& out) override;
    void drain(Emit& out) override { reader_.pause(); }
    void finish() override;

protected:
    void on_start(Injector& injector) override;

private:
    void configure(const Properties& p);
    void read_ready(Injector& injector);

    std::string device_;
    pcap_t* pcap_ = nullptr;
    FdReader reader_;
};

} // namespace colo
