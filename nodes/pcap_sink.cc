#include "nodes/pcap_sink.hh"

#include "engine/registry.hh"

#include "nodes/io/buffered_file.hh"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace colo {

namespace {
namespace port {
constexpr InPortId in{0, "in"};
}
namespace prop {
constexpr StringProperty file{"file"};
constexpr IntProperty snaplen{"snaplen"};
constexpr BoolProperty flush{"flush"};
} // namespace prop
namespace counter {
constexpr CounterId packets{0, "packets"}, bytes{1, "bytes"}, write_errors{2, "write_errors"};
}
} // namespace

PcapSink::PcapSink(const Properties& p) : file_(p.get(prop::file)), flush_each_batch_(p.get(prop::flush))
{
    dead_ = pcap_open_dead(DLT_EN10MB, int(p.get(prop::snaplen)));
    const std::string err = dead_ ? open() : "pcap_open_dead failed";
    if (!err.empty()) {
        if (dead_) pcap_close(dead_);
        dead_ = nullptr;
        throw std::runtime_error(file_ + ": " + err);
    }
}

std::string PcapSink::open()
{
    if (file_ == "-") { // libpcap's name for stdout
        dumper_ = pcap_dump_open(dead_, "-");
        return dumper_ ? "" : pcap_geterr(dead_);
    }
    FILE* f = fopen_buffered(file_, "wb", write_buffer_);
    if (!f) return std::strerror(errno);
    dumper_ = pcap_dump_fopen(dead_, f);
    if (dumper_) return "";
    std::fclose(f);
    return pcap_geterr(dead_);
}

PcapSink::~PcapSink()
{
    finish();
}

void PcapSink::check_stream()
{
    if (failed_ || !ferror(pcap_dump_file(dumper_))) return;
    failed_ = true;
    log(file_ + ": write failed (" + std::strerror(errno) + "); dropping further packets");
}

void PcapSink::push(int, const Batch& batch, Emit&)
{
    if (failed_) {
        count(counter::write_errors, batch.size());
        return;
    }
    for (const auto& p : batch.packets) {
        pcap_pkthdr h{};
        h.ts.tv_sec = time_t(p.ts_ns / 1'000'000'000ull);
        h.ts.tv_usec = suseconds_t(p.ts_ns % 1'000'000'000ull / 1000);
        h.len = p.frame_len();
        h.caplen = std::min<uint32_t>(h.len, uint32_t(pcap_snapshot(dead_)));
        pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, p.frame());
    }
    if (flush_each_batch_) pcap_dump_flush(dumper_);
    check_stream();
    if (failed_) {
        count(counter::write_errors, batch.size());
        return;
    }
    count(counter::packets, batch.size());
    count(counter::bytes, batch.bytes());
}

void PcapSink::drain(Emit&)
{
    if (dumper_ && pcap_dump_flush(dumper_) != 0) check_stream();
}

void PcapSink::finish()
{
    if (dumper_) {
        if (pcap_dump_flush(dumper_) != 0 && !failed_)
            log(file_ + ": final flush failed (" + std::strerror(errno) + ")");
        pcap_dump_close(dumper_);
    }
    if (dead_) pcap_close(dead_);
    dumper_ = nullptr;
    dead_ = nullptr;
}

namespace {
NodeSpec spec()
{
    return {
        .type = "pcap-sink",
        .summary = "Write frames to a pcap file",
        .description = "Writes every frame arriving on `in` to FILE (created or truncated at start). The file is "
                       "complete after a normal end or SIGINT/SIGTERM: the runtime drains the graph and the sink "
                       "closes the file. On a write error the sink logs once, counts the packets it drops, and the "
                       "rest of the graph keeps running.",
        .ports = {declare(port::in, "frames to write", Link::required)},
        .properties =
            {
                declare(prop::file, {.required = true, .doc = "pcap file to write"}),
                declare(prop::snaplen,
                        {.default_value = "262144", .min = 64, .max = 262144, .doc = "bytes of each frame kept"}),
                declare(prop::flush,
                        {.default_value = "false",
                         .doc = "flush after every batch (for live graphs whose file is read while running)"}),
            },
        .counters =
            {
                declare(counter::packets, "frames written"),
                declare(counter::bytes, "bytes written"),
                declare(counter::write_errors, "frames lost because the file could not be written"),
            },
        .factory = construct<PcapSink>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
