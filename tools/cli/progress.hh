// The progress bar of long replays (colo-graph run, colo-graph compare): one
// line on standard error, redrawn in place, with the bytes of the capture
// files read over their size, packets/s and the time left. Only on a
// terminal, as dd, curl and gst-launch do: in a pipe, a log or CI there is
// nothing at all.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace colo {

class Node;
class Runtime;

// One line of exactly `width` columns (fewer when that is too narrow for
// the numbers): "[#####....]  42%  1.25M pkt/s  ETA 0:13". `done` of `total`
// bytes, `packets` in `elapsed_s` seconds; rates are averages over the run.
// total = 0: the total is unknown (a file replayed forever), so there is no
// bar, percent or ETA, only the bytes read and the rate.
std::string format_progress(uint64_t done, uint64_t total, uint64_t packets, double elapsed_s, std::size_t width);

// Where a bar reads its numbers: two counters of a node, read by position
// (Node::counter(), relaxed atomics: safe while the graph runs).
struct ProgressSource {
    const Node* node = nullptr;
    std::size_t bytes_counter = 0, packets_counter = 0;
    uint64_t total = 0; // bytes; 0 = unknown
};

// Draws the line on standard error every `interval` from a thread of its own
// until destroyed; then draws it once more at the final counts and clears it
// (spaces, so that it needs no escape sequence), leaving the cursor where
// the line began, so that what follows is not garbled.
class ProgressBar {
public:
    ProgressBar(std::vector<ProgressSource> sources, std::size_t width,
                std::chrono::milliseconds interval = std::chrono::milliseconds(200));
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

private:
    friend void log_line(const std::string& line);
    void sample();
    void draw_locked();  // the log's lock held
    void clear_locked(); // the log's lock held

    std::vector<ProgressSource> sources_;
    std::size_t width_;
    std::chrono::steady_clock::time_point start_;
    bool drawn_ = false;
    std::mutex mu_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

// What the CLI shows: a bar over the files of every pcap-source of `rt`'s
// graph (size x passes) while it runs, when standard error is a terminal;
// else, or when the graph reads no file, nullptr.
std::unique_ptr<ProgressBar> progress_on_terminal(const Runtime& rt);

// Writes `line` and a newline to standard error, above the bar when one is
// shown (the line is cleared, the message written, the bar redrawn below):
// a RunOptions::log for graphs that may show one. With no bar, the bytes
// are the runtime's default log's.
void log_line(const std::string& line);

} // namespace colo
