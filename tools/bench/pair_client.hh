// The driver's side of one server: connects outdev first, then primary_in and
// secondary_in; a reader thread takes released frames off outdev, recognises
// them (Workload::identify) and keeps the tally — how many, in which order,
// and, when latency is measured, how long after the secondary twin was
// written.
#pragma once

#include "tools/bench/workload.hh"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace colo::bench {

struct ReleaseTally {
    uint64_t frames = 0;     // workload frames released
    uint64_t distinct = 0;   // different pairs among them
    uint64_t duplicates = 0; // a pair released again
    uint64_t inversions = 0; // a frame older than the last one of its flow
    uint64_t foreign = 0;    // frames that were neither workload nor warm-up
    uint64_t payload_bytes = 0;
    double last_frame_s = 0;         // monotonic time the last workload frame was read
    double reader_cpu_s = 0;         // the reader thread's CPU
    std::vector<int64_t> latency_ns; // per pair, when latency was measured; -1 = not seen
};

class PairClient {
public:
    // Latency per pair is recorded when `measure_latency` is set: from the
    // stamp() of the pair to the read of its released frame.
    PairClient(const std::string& primary_in, const std::string& secondary_in, const std::string& outdev,
               const Workload& workload, bool measure_latency);
    ~PairClient();
    PairClient(const PairClient&) = delete;
    PairClient& operator=(const PairClient&) = delete;

    // Sends warm-up pairs until one comes back: the server has accepted all
    // three connections. Throws after 10 s.
    void warm_up();

    void write_primary(const std::vector<uint8_t>& records) { write_all(primary_fd_, records); }
    void write_secondary(const std::vector<uint8_t>& records) { write_all(secondary_fd_, records); }
    // Latency of `pair` counts from now.
    void stamp(uint64_t pair);

    uint64_t released() const { return released_.load(); }
    // Blocks until `count` workload frames were released; false when nothing
    // new arrived for `stall_s` seconds (the server dropped something).
    bool wait_released(uint64_t count, double stall_s);

    // Closes the sockets, joins the reader and hands over the tally.
    ReleaseTally finish();

private:
    void read_loop();
    void on_frame(const uint8_t* frame, uint32_t len, double now_s, int64_t now_ns);
    static void write_all(int fd, const std::vector<uint8_t>& bytes);

    const Workload& workload_;
    int outdev_fd_ = -1, primary_fd_ = -1, secondary_fd_ = -1;
    std::thread reader_;

    std::atomic<uint64_t> released_{0}, warmups_{0};
    std::atomic<uint64_t> wake_at_{UINT64_MAX};
    std::mutex mu_;
    std::condition_variable cv_;

    // Reader-owned until finish().
    ReleaseTally tally_;
    std::vector<uint8_t> seen_;
    std::vector<uint64_t> last_of_flow_;
    std::unique_ptr<std::atomic<int64_t>[]> sent_ns_; // secondary write time per pair
};

} // namespace colo::bench
