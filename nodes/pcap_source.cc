#include "nodes/pcap_source.hh"

#include "engine/registry.hh"

#include "nodes/io/pcap_reader.hh"

#include <pcap/pcap.h>

#include <chrono>
#include <stdexcept>

namespace colo {

namespace {
namespace port {
constexpr OutPortId out{0, "out"};
}
namespace prop {
constexpr StringProperty file{"file"};
constexpr EnumProperty timing{"timing"};
constexpr IntProperty loop{"loop"}, vnet_hdr_len{"vnet_hdr_len"};
constexpr BoolProperty read_ahead{"read_ahead"};
} // namespace prop
namespace counter {
constexpr CounterId packets{0, "packets"}, bytes{1, "bytes"}, snapped{2, "snapped"},
    truncated_files{3, "truncated_files"}, file_bytes{4, "file_bytes"};
} // namespace counter
} // namespace

PcapSource::PcapSource(const Properties& p)
    : file_(p.get(prop::file)),
      paced_(p.get(prop::timing) == "original"),
      read_ahead_(p.get(prop::read_ahead)),
      passes_(p.get(prop::loop)),
      vnet_len_(uint32_t(p.get(prop::vnet_hdr_len)))
{
    open();
}

PcapSource::~PcapSource()
{
    finish();
}

void PcapSource::open()
{
    reader_ = std::make_unique<PcapReader>(file_, vnet_len_);
    if (reader_->link_type() != DLT_EN10MB) {
        const char* name = pcap_datalink_val_to_name(reader_->link_type());
        const std::string msg = file_ + ": link type " + (name ? name : std::to_string(reader_->link_type())) +
                                " is not supported (need EN10MB, Ethernet)";
        reader_.reset();
        throw std::runtime_error(msg);
    }
}

bool PcapSource::read_one(Packet& out)
{
    while (!eof_) {
        bool snapped = false;
        const PcapReader::Next next = reader_->next(out, snapped);
        if (next == PcapReader::Next::frame) {
            uint64_t ts = out.ts_ns;
            if (first_ts_ == 0 && pass_ == 0) first_ts_ = ts;
            ts += pass_offset_ns_;
            last_ts_ = ts;
            out.ts_ns = ts;
            out.seq = seq_++;
            if (snapped) count(counter::snapped);
            return true;
        }
        if (next == PcapReader::Next::truncated) {
            count(counter::truncated_files);
            log(reader_->error() + "; the rest of the file is ignored");
            eof_ = true;
            break;
        }
        // End of this pass: reopen, shifting time so it keeps moving forward.
        if (passes_ != 0 && pass_ + 1 >= passes_) {
            eof_ = true;
            break;
        }
        ++pass_;
        pass_offset_ns_ = last_ts_ + 1'000'000 - first_ts_;
        passes_bytes_ += reader_->position();
        reader_.reset();
        open();
    }
    return false;
}

uint64_t PcapSource::file_position() const
{
    return reader_ ? reader_->position() : 0;
}

bool PcapSource::fill(ReadAhead::Chunk& chunk, std::size_t max_bytes)
{
    std::size_t bytes = 0;
    bool more = true;
    while (more && bytes < max_bytes) {
        more = read_one(chunk.emplace_back());
        if (more) bytes += chunk.back().len;
        else chunk.pop_back();
    }
    // Once per chunk, not per packet: how far into the file(s) reading is,
    // headers included, which a progress bar divides by their size.
    set_counter(counter::file_bytes, passes_bytes_ + file_position());
    return more;
}

Packet* PcapSource::front()
{
    // Chunks are sized in bytes. Read ahead: large, so that handing one over
    // (a wake-up) is rare next to reading it. Otherwise: small, so that the
    // packets are still in the cache when the graph reads them.
    if (chunk_pos_ == chunk_.size()) {
        chunk_pos_ = 0;
        if (read_ahead_) {
            if (!ahead_)
                ahead_ = std::make_unique<ReadAhead>([this](ReadAhead::Chunk& c) { return fill(c, 256 * 1024); }, 4);
            if (!ahead_->next(chunk_)) chunk_.clear();
        } else {
            chunk_.clear();
            fill(chunk_, 16 * 1024);
        }
        if (chunk_.empty()) return nullptr;
    }
    return &chunk_[chunk_pos_];
}

bool PcapSource::peek_time(uint64_t& ts_ns)
{
    const Packet* p = front();
    if (p) ts_ns = p->ts_ns;
    return p != nullptr;
}

bool PcapSource::pull(std::size_t max, uint64_t until_ns, int& out_port, Batch& out)
{
    out_port = port::out.index;
    out.packets.reserve(max);
    uint64_t bytes = 0; // counted once per batch: each count() is an atomic add
    while (out.size() < max) {
        Packet* p = front();
        if (!p || (!out.empty() && p->ts_ns > until_ns)) break;
        bytes += p->len;
        out.packets.push_back(std::move(*p));
        ++chunk_pos_;
    }
    count(counter::packets, out.size());
    count(counter::bytes, bytes);
    return !out.empty();
}

void PcapSource::on_start(Injector& injector)
{
    if (paced_) thread_ = std::thread([this, &injector] { paced_loop(injector); });
}

void PcapSource::paced_loop(Injector& injector)
{
    using namespace std::chrono;
    const auto wall_start = steady_clock::now();
    uint64_t ts0 = 0;
    while (!stop_.load() && !injector.stopping()) {
        Packet* next = front();
        if (!next) break;
        if (!ts0) ts0 = next->ts_ns;
        std::this_thread::sleep_until(wall_start + nanoseconds(next->ts_ns - ts0));
        Packet p = std::move(*next);
        ++chunk_pos_;
        p.ts_ns = injector.now_ns();
        count(counter::packets);
        count(counter::bytes, p.len);
        Batch b;
        b.packets.push_back(std::move(p));
        if (!injector.inject(port::out, std::move(b))) break;
    }
    injector.done();
}

void PcapSource::stop_thread()
{
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
}

void PcapSource::drain(Emit&)
{
    stop_thread();
}

void PcapSource::finish()
{
    stop_thread();
    ahead_.reset(); // before the file it reads is closed
    reader_.reset();
}

namespace {
NodeSpec spec()
{
    return {
        .type = "pcap-source",
        .summary = "Read Ethernet frames from a pcap file",
        .description = "Emits every frame of FILE on `out`. With timing=fast the graph replays as fast as it can, "
                       "on the packets' own clock (deterministic: several sources are merged by timestamp). With "
                       "timing=original frames are released at the capture's pace and stamped with the wall clock. "
                       "Only Ethernet (LINKTYPE_ETHERNET) captures are accepted. A truncated capture ends the file "
                       "with a logged warning and a counter.",
        .ports = {declare(port::out, "frames read from the file")},
        .properties =
            {
                declare(prop::file, {.required = true, .doc = "pcap file to read"}),
                declare(prop::timing,
                        {.default_value = "fast",
                         .choices = {"fast", "original"},
                         .doc = "fast: as fast as possible on packet time; original: at the capture's pace"}),
                declare(prop::loop, {.default_value = "1", .min = 0, .doc = "passes over the file; 0 = forever"}),
                declare(prop::vnet_hdr_len,
                        {.default_value = "0",
                         .min = 0,
                         .max = 20,
                         .doc = "prepend a zeroed virtio-net header of this many bytes to every frame"}),
                declare(
                    prop::read_ahead,
                    {.default_value = "false",
                     .doc =
                         "read on a thread of its own, up to 1 MiB ahead: a replay through a graph that does real work "
                         "(a comparator) finishes sooner on a second core, for more CPU in all (docs/performance.md); "
                         "a graph that only moves packets may be slower"}),
            },
        .counters =
            {
                declare(counter::packets, "frames read"),
                declare(counter::bytes, "bytes read"),
                declare(counter::snapped, "frames shorter in the file than on the wire (snaplen)"),
                declare(counter::truncated_files, "files that ended in the middle of a record"),
                declare(counter::file_bytes,
                        "bytes of the file read, headers included, over every pass (updated per chunk: the "
                        "progress bar of colo-graph run and compare)"),
            },
        .factory = construct<PcapSource>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
