// ReadAhead: a producer thread that keeps a few chunks of packets ready.
//
// Replay reads a capture (PcapReader: a read() into pooled chunks, records
// parsed in place) and then runs the graph on what it read; both are CPU-bound, so on
// one thread they add up. With the reading on its own thread they overlap,
// and a replay takes as long as the slower of the two. Chunks come out in the
// order `fill` made them, so what the graph sees is unchanged.
//
// `fill` runs on the read-ahead thread only, from construction until it
// returns false (end of input) or throws; next() then rethrows on the
// consumer's thread. At most `depth` chunks wait, bounding the memory held.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/packet.hh"

namespace colo {

class ReadAhead {
public:
    using Chunk = std::vector<Packet>;
    // Appends one chunk's packets; returns false when the input has ended.
    using Fill = std::function<bool(Chunk&)>;

    ReadAhead(Fill fill, std::size_t depth);
    ~ReadAhead(); // stops the thread, dropping unread chunks

    // The next chunk, in order, replacing `chunk` (whose storage is reused);
    // false once every chunk was taken. Blocks while the thread reads.
    bool next(Chunk& chunk);

private:
    void run();

    Fill fill_;
    std::size_t depth_;
    std::mutex mu_;
    std::condition_variable ready_cv_, room_cv_;
    std::deque<Chunk> ready_;
    std::vector<Chunk> spare_; // emptied chunks handed back, capacity kept
    bool ended_ = false, stop_ = false;
    bool consumer_waiting_ = false, filler_waiting_ = false;
    std::exception_ptr error_;
    std::thread thread_; // last: starts once the rest is constructed
};

} // namespace colo
