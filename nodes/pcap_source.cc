#include "nodes/pcap_source.hh"

#include "engine/registry.hh"

#include "nodes/io/buffered_file.hh"

#include <pcap/pcap.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace colo {

namespace counter { enum { packets, bytes, snapped, truncated_files }; }

PcapSource::PcapSource(const Properties& p)
    : file_(p.str("file")), paced_(p.str("timing") == "original"), passes_(p.integer("loop")),
      vnet_len_(uint32_t(p.integer("vnet_hdr_len")))
{
    open();
}

PcapSource::~PcapSource() { finish(); }

void PcapSource::open()
{
    char err[PCAP_ERRBUF_SIZE] = {};
    FILE* f = fopen_buffered(file_, "rb", read_buffer_);
    if (!f) throw std::runtime_error(file_ + ": " + std::strerror(errno));
    pcap_ = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
    if (!pcap_) {
        std::fclose(f);
        throw std::runtime_error(file_ + ": " + err);
    }
    if (pcap_datalink(pcap_) != DLT_EN10MB) {
        const char* name = pcap_datalink_val_to_name(pcap_datalink(pcap_));
        std::string msg = file_ + ": link type " + (name ? name : std::to_string(pcap_datalink(pcap_))) +
                          " is not supported (need EN10MB, Ethernet)";
        pcap_close(pcap_);
        pcap_ = nullptr;
        throw std::runtime_error(msg);
    }
}

bool PcapSource::read_one()
{
    while (!eof_) {
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        const int rc = pcap_next_ex(pcap_, &hdr, &data);
        if (rc == 1) {
            uint64_t ts = uint64_t(hdr->ts.tv_sec) * 1'000'000'000ull + uint64_t(hdr->ts.tv_usec);
            if (first_ts_ == 0 && pass_ == 0) first_ts_ = ts;
            ts += pass_offset_ns_;
            last_ts_ = ts;
            const uint32_t n = std::min<uint32_t>(hdr->caplen, kMaxFrameLen - vnet_len_);
            next_ = Packet::with_capacity(n + vnet_len_);
            if (vnet_len_) std::memset(next_.buf.get()->data(), 0, vnet_len_);
            std::memcpy(next_.buf.get()->data() + vnet_len_, data, n);
            next_.len = n + vnet_len_;
            next_.vnet_len = vnet_len_;
            next_.ts_ns = ts;
            next_.seq = seq_++;
            if (hdr->caplen < hdr->len) count(counter::snapped);
            return true;
        }
        if (rc == -1) {
            // libpcap reports a record cut short as an error; the file ends here.
            count(counter::truncated_files);
            if (injector_) injector_->log(file_ + ": " + pcap_geterr(pcap_) + "; the rest of the file is ignored");
            eof_ = true;
            break;
        }
        // End of this pass: reopen, shifting time so it keeps moving forward.
        if (passes_ != 0 && pass_ + 1 >= passes_) { eof_ = true; break; }
        ++pass_;
        pass_offset_ns_ = last_ts_ + 1'000'000 - first_ts_;
        pcap_close(pcap_);
        pcap_ = nullptr;
        open();
    }
    return false;
}

bool PcapSource::peek_time(uint64_t& ts_ns)
{
    if (!have_next_) have_next_ = read_one();
    if (!have_next_) return false;
    ts_ns = next_.ts_ns;
    return true;
}

bool PcapSource::pull(std::size_t max, uint64_t until_ns, int& out_port, Batch& out)
{
    out_port = 0;
    out.packets.reserve(max);
    while (out.size() < max) {
        if (!have_next_ && !(have_next_ = read_one())) break;
        if (!out.empty() && next_.ts_ns > until_ns) break;
        count(counter::packets);
        count(counter::bytes, next_.len);
        out.packets.push_back(std::move(next_));
        have_next_ = false;
    }
    return !out.empty();
}

void PcapSource::start(Injector& injector)
{
    injector_ = &injector;
    if (paced_) thread_ = std::thread([this, &injector] { paced_loop(injector); });
}

void PcapSource::paced_loop(Injector& injector)
{
    using namespace std::chrono;
    const auto wall_start = steady_clock::now();
    uint64_t ts0 = 0;
    while (!stop_.load() && !injector.stopping()) {
        uint64_t ts = 0;
        if (!peek_time(ts)) break;
        if (!ts0) ts0 = ts;
        std::this_thread::sleep_until(wall_start + nanoseconds(ts - ts0));
        Packet p = std::move(next_);
        have_next_ = false;
        p.ts_ns = injector.now_ns();
        count(counter::packets);
        count(counter::bytes, p.len);
        Batch b;
        b.packets.push_back(std::move(p));
        if (!injector.inject(0, std::move(b))) break;
    }
    injector.done();
}

void PcapSource::stop_thread()
{
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
}

void PcapSource::drain(Emit&) { stop_thread(); }

void PcapSource::finish()
{
    stop_thread();
    if (pcap_) pcap_close(pcap_);
    pcap_ = nullptr;
}

COLO_REGISTER_NODE(pcap_source_spec());

} // namespace colo
