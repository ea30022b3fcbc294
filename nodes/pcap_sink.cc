#include "nodes/pcap_sink.hh"

#include "engine/registry.hh"

#include "nodes/io/buffered_file.hh"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace colo {

namespace counter { enum { packets, bytes, write_errors }; }

PcapSink::PcapSink(const Properties& p) : file_(p.str("file")), flush_each_batch_(p.boolean("flush"))
{
    dead_ = pcap_open_dead(DLT_EN10MB, int(p.integer("snaplen")));
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

PcapSink::~PcapSink() { finish(); }

void PcapSink::check_stream()
{
    if (failed_ || !ferror(pcap_dump_file(dumper_))) return;
    failed_ = true;
    if (injector_) injector_->log(file_ + ": write failed (" + std::strerror(errno) + "); dropping further packets");
}

void PcapSink::push(int, const Batch& batch, Emit&)
{
    if (failed_) { count(counter::write_errors, batch.size()); return; }
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
    if (failed_) { count(counter::write_errors, batch.size()); return; }
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
        if (pcap_dump_flush(dumper_) != 0 && !failed_ && injector_)
            injector_->log(file_ + ": final flush failed (" + std::strerror(errno) + ")");
        pcap_dump_close(dumper_);
    }
    if (dead_) pcap_close(dead_);
    dumper_ = nullptr;
    dead_ = nullptr;
}

COLO_REGISTER_NODE(pcap_sink_spec());

} // namespace colo
