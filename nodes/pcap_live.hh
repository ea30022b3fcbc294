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
    void start(Injector& injector) override;
    void push(int in_port, const Batch& batch, Emit& out) override;
    void drain(Emit& out) override { reader_.stop(); }
    void finish() override;

private:
    void configure(const Properties& p);
    void read_ready(Injector& injector);

    std::string device_;
    pcap_t* pcap_ = nullptr;
    FdReader reader_;
    Injector* injector_ = nullptr;
};

inline NodeSpec pcap_live_spec()
{
    return {
        "pcap-live",
        "Capture from and inject into an existing interface (libpcap live)",
        "Frames received on DEVICE (direction `in` by default, so frames this node injects are not "
        "captured back) leave on `out`; frames on `in` are injected with pcap_inject. An optional BPF "
        "FILTER narrows the capture. Needs CAP_NET_RAW.",
        {
            {"in", PortDir::in, "frames to inject into the interface"},
            {"out", PortDir::out, "frames captured on the interface"},
        },
        {
            {"device", PropType::string, "", true, INT64_MIN, INT64_MAX, {}, "interface name"},
            {"filter", PropType::string, "", false, INT64_MIN, INT64_MAX, {}, "BPF capture filter (tcpdump syntax)"},
            {"direction", PropType::enumeration, "in", false, INT64_MIN, INT64_MAX, {"in", "out", "inout"},
             "which direction to capture"},
        },
        {
            {"frames_in", "frames captured"},
            {"frames_out", "frames injected"},
            {"drop_inject_error", "frames pcap_inject refused"},
            {"drop_after_stop", "frames captured after the graph began to stop"},
        },
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<PcapLive>(p); },
    };
}

} // namespace colo
