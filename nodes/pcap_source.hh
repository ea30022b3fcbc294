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
#include "nodes/io/pcap_reader.hh"
#include "nodes/io/read_ahead.hh"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace colo {

class PcapSource : public Node {
public:
    explicit PcapSource(const Properties& p);
    ~PcapSource() override;

    SourceKind source_kind() const override { return paced_ ? SourceKind::live : SourceKind::offline; }
    bool peek_time(uint64_t& ts_ns) override;
    bool pull(std::size_t max, uint64_t until_ns, int& out_port, Batch& out) override;
    void drain(Emit& out) override;
    void finish() override;

protected:
    void on_start(Injector& injector) override;

private:
    // On the read-ahead thread, if there is one:
    void open();
    bool read_one(Packet& out);                                // false at the end of the input
    bool fill(ReadAhead::Chunk& chunk, std::size_t max_bytes); // false at the end
    uint64_t file_position() const;                            // bytes of this pass's file read
    // On the thread that consumes (the runtime's driver, or the paced one):
    Packet* front(); // the next packet, or nullptr at the end
    void paced_loop(Injector& injector);
    void stop_thread();

    std::string file_;
    bool paced_;
    bool read_ahead_;
    int64_t passes_; // 0 = forever
    uint32_t vnet_len_;
    std::unique_ptr<PcapReader> reader_;
    int64_t pass_ = 0;
    uint64_t passes_bytes_ = 0; // file bytes read in the passes before this one
    uint64_t pass_offset_ns_ = 0, first_ts_ = 0, last_ts_ = 0;
    bool eof_ = false;
    uint64_t seq_ = 0;
    std::unique_ptr<ReadAhead> ahead_; // with read_ahead, started by the first front()
    ReadAhead::Chunk chunk_;
    std::size_t chunk_pos_ = 0;
    std::thread thread_;
    std::atomic<bool> stop_{false};
};

} // namespace colo
