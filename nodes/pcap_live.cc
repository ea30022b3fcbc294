#include "nodes/pcap_live.hh"

#include "engine/registry.hh"

#include <pcap/pcap.h>

#include <stdexcept>

namespace colo {

namespace {
namespace port {
constexpr InPortId in{0, "in"};
constexpr OutPortId out{0, "out"};
} // namespace port
namespace prop {
constexpr StringProperty device{"device"}, filter{"filter"};
constexpr EnumProperty direction{"direction"};
} // namespace prop
namespace counter {
constexpr CounterId frames_in{0, "frames_in"}, frames_out{1, "frames_out"}, drop_inject_error{2, "drop_inject_error"},
    drop_after_stop{3, "drop_after_stop"};
} // namespace counter
} // namespace

PcapLive::PcapLive(const Properties& p) : device_(p.get(prop::device))
{
    char err[PCAP_ERRBUF_SIZE] = {};
    pcap_ = pcap_create(device_.c_str(), err);
    if (!pcap_) throw std::runtime_error(device_ + ": " + err);
    pcap_set_snaplen(pcap_, int(kMaxFrameLen));
    pcap_set_immediate_mode(pcap_, 1);
    pcap_set_promisc(pcap_, 1);
    const int rc = pcap_activate(pcap_);
    if (rc < 0) {
        std::string msg = device_ + ": " + pcap_statustostr(rc) + " " + pcap_geterr(pcap_);
        if (rc == PCAP_ERROR_PERM_DENIED) msg += " (needs CAP_NET_RAW)";
        pcap_close(pcap_);
        pcap_ = nullptr;
        throw std::runtime_error(msg);
    }
    try {
        configure(p);
    } catch (...) {
        pcap_close(pcap_); // the destructor does not run for a throwing constructor
        pcap_ = nullptr;
        throw;
    }
}

void PcapLive::configure(const Properties& p)
{
    const std::string dir = p.get(prop::direction);
    pcap_setdirection(pcap_, dir == "in" ? PCAP_D_IN : dir == "out" ? PCAP_D_OUT : PCAP_D_INOUT);
    if (pcap_datalink(pcap_) != DLT_EN10MB) throw std::runtime_error(device_ + ": not an Ethernet interface");
    const std::string filter = p.get(prop::filter);
    if (!filter.empty()) {
        bpf_program prog{};
        if (pcap_compile(pcap_, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) < 0)
            throw std::runtime_error(device_ + ": filter '" + filter + "': " + pcap_geterr(pcap_));
        const int rc = pcap_setfilter(pcap_, &prog);
        pcap_freecode(&prog);
        if (rc < 0) throw std::runtime_error(device_ + ": filter '" + filter + "': " + pcap_geterr(pcap_));
    }
    char err[PCAP_ERRBUF_SIZE] = {};
    pcap_setnonblock(pcap_, 1, err);
}

PcapLive::~PcapLive()
{
    finish();
}

void PcapLive::on_start(Injector& injector)
{
    reader_.start(pcap_get_selectable_fd(pcap_), [this, &injector] { read_ready(injector); });
}

void PcapLive::read_ready(Injector& injector)
{
    Batch b;
    while (b.size() < 64) {
        pcap_pkthdr* h = nullptr;
        const u_char* data = nullptr;
        if (pcap_next_ex(pcap_, &h, &data) != 1) break;
        b.packets.push_back(Packet::copy_of(data, h->caplen, 0, injector.now_ns()));
    }
    if (b.empty()) return;
    const std::size_t n = b.size();
    count(counter::frames_in, n);
    if (!injector.inject(port::out, std::move(b))) count(counter::drop_after_stop, n);
}

void PcapLive::push(int, const Batch& batch, Emit&)
{
    for (const auto& p : batch.packets) {
        if (pcap_inject(pcap_, p.frame(), p.frame_len()) == int(p.frame_len())) {
            count(counter::frames_out);
        } else {
            if (counter(counter::drop_inject_error) == 0) log(device_ + ": inject failed: " + pcap_geterr(pcap_));
            count(counter::drop_inject_error);
        }
    }
}

void PcapLive::finish()
{
    reader_.stop();
    if (pcap_) pcap_close(pcap_);
    pcap_ = nullptr;
}

namespace {
NodeSpec spec()
{
    return {
        .type = "pcap-live",
        .summary = "Capture from and inject into an existing interface (libpcap live)",
        .description = "Frames received on DEVICE (direction `in` by default, so frames this node injects are not "
                       "captured back) leave on `out`; frames on `in` are injected with pcap_inject. An optional BPF "
                       "FILTER narrows the capture. Needs CAP_NET_RAW.",
        .ports =
            {
                declare(port::in, "frames to inject into the interface"),
                declare(port::out, "frames captured on the interface"),
            },
        .properties =
            {
                declare(prop::device, {.required = true, .doc = "interface name"}),
                declare(prop::filter, {.doc = "BPF capture filter (tcpdump syntax)"}),
                declare(
                    prop::direction,
                    {.default_value = "in", .choices = {"in", "out", "inout"}, .doc = "which direction to capture"}),
            },
        .counters =
            {
                declare(counter::frames_in, "frames captured"),
                declare(counter::frames_out, "frames injected"),
                declare(counter::drop_inject_error, "frames pcap_inject refused"),
                declare(counter::drop_after_stop, "frames captured after the graph began to stop"),
            },
        .factory = construct<PcapLive>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
