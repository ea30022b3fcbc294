// The replays' progress bar: the line format_progress() draws, and what
// ProgressBar writes around the log lines and when it ends (tests/cli/progress_bar.sh
// runs it on a terminal).
#include <catch2/catch.hpp>

#include "engine/node.hh"
#include "tools/cli/progress.hh"

#include <iostream>
#include <sstream>

using namespace colo;

namespace {

// Captures std::cerr, where the bar and log_line() write, for one scope.
struct CaptureStderr {
    std::ostringstream text;
    std::streambuf* saved = std::cerr.rdbuf(text.rdbuf());
    ~CaptureStderr() { std::cerr.rdbuf(saved); }
};

constexpr CounterId bytes{0, "file_bytes"}, packets{1, "packets"};

} // namespace

TEST_CASE("the progress line shows the bar, percent, packets/s and time left in the given width", "[progress]")
{
    // A quarter of 4000 bytes in 2 s: 6 s left; 3000 packets in 2 s.
    const std::string line = format_progress(1000, 4000, 3000, 2.0, 60);
    CHECK(line.size() == 60);
    CHECK(line == "[#######........................]  25%  1.5k pkt/s  ETA 0:06");
    const std::string end = format_progress(4000, 4000, 2'500'000, 2.0, 60);
    CHECK(end == "[##############################] 100%  1.25M pkt/s  ETA 0:00");
}

TEST_CASE("the progress line before any byte, past the total and over an hour", "[progress]")
{
    CHECK(format_progress(0, 4000, 0, 0.0, 50) == "[.......................]   0%  0 pkt/s  ETA --:--");
    CHECK(format_progress(5000, 4000, 10, 1.0, 50).find("100%") != std::string::npos); // a file that grew
    CHECK(format_progress(1, 4000, 10, 1.0, 50).find("ETA 1:06:39") != std::string::npos);
}

TEST_CASE("with no total the progress line gives the bytes read and the rate only", "[progress]")
{
    const std::string line = format_progress(3 * 1024 * 1024 / 2, 0, 500, 1.0, 40);
    CHECK(line == "1.50 MiB read  500 pkt/s                ");
}

TEST_CASE("a narrow terminal drops the bar, then cuts the line, never wider than its width", "[progress]")
{
    CHECK(format_progress(1000, 4000, 3000, 2.0, 30) == " 25%  1.5k pkt/s  ETA 0:06    ");
    CHECK(format_progress(1000, 4000, 3000, 2.0, 10) == " 25%  1.5k");
}

TEST_CASE("the bar draws its final counts and clears its line when it ends, and log lines go above it", "[progress]")
{
    Node node;
    node.init_counters(2);
    node.set_counter(bytes, 500);
    node.set_counter(packets, 7);
    CaptureStderr err;
    {
        // An interval longer than the test: only log_line() and the end draw.
        ProgressBar bar({{&node, bytes.index, packets.index, 1000}}, 60, std::chrono::hours(1));
        log_line("src: a message");
        node.set_counter(bytes, 1000);
    }
    log_line("after");
    const std::string blank(60, ' ');
    const std::string out = err.text.str();
    INFO(out);
    // No bar was drawn yet, so there is nothing to clear before the message.
    REQUIRE(out.rfind("src: a message\n\r[", 0) == 0);
    CHECK(out.find(" 50%  ") != std::string::npos);
    const std::string tail = "\r" + blank + "\rafter\n";
    REQUIRE(out.size() > tail.size());
    CHECK(out.substr(out.size() - tail.size()) == tail);
    const auto last = out.rfind("\r[");
    CHECK(out.substr(last + 1, 60).find("] 100%  ") != std::string::npos);
}
