// FdReader: readers share the process's one I/O thread, a paused reader's
// descriptor is no longer handled, and a stopped reader is let go.
#include <catch2/catch.hpp>

#include "nodes/io/fd_reader.hh"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace colo;

namespace {

// A non-blocking pipe whose read end an FdReader watches; the handler drains
// it and records what it saw.
struct WatchedPipe {
    int fds[2] = {-1, -1};
    std::mutex mu;
    std::condition_variable cv;
    int calls = 0;
    std::thread::id handler_thread;
    std::atomic<bool> pause_in_handler{false};
    FdReader reader;

    WatchedPipe()
    {
        REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
        reader.start(fds[0], [this] { on_readable(); });
    }
    ~WatchedPipe()
    {
        reader.stop();
        ::close(fds[0]);
        ::close(fds[1]);
    }
    void on_readable()
    {
        if (pause_in_handler) {
            reader.pause(); // leaves the pipe readable: only the pause stops further calls
        } else {
            char buf[64];
            while (::read(fds[0], buf, sizeof buf) > 0) {}
        }
        std::lock_guard lock(mu);
        ++calls;
        handler_thread = std::this_thread::get_id();
        cv.notify_all();
    }
    void poke() { REQUIRE(::write(fds[1], "x", 1) == 1); }
    // Waits until the handler has run `n` times in all; the bound only ends
    // a broken run.
    bool wait_for_calls(int n)
    {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, std::chrono::seconds(10), [&] { return calls >= n; });
    }
    int call_count()
    {
        std::lock_guard lock(mu);
        return calls;
    }
};

} // namespace

TEST_CASE("FdReader: every reader's handler runs on the one I/O thread", "[fd-reader]")
{
    WatchedPipe a, b;
    a.poke();
    REQUIRE(a.wait_for_calls(1));
    b.poke();
    REQUIRE(b.wait_for_calls(1));
    CHECK(a.handler_thread == b.handler_thread);
    CHECK(a.handler_thread != std::this_thread::get_id());
}

TEST_CASE("FdReader: after pause() a readable descriptor is not handled", "[fd-reader]")
{
    WatchedPipe paused, witness;
    paused.poke();
    REQUIRE(paused.wait_for_calls(1));
    paused.reader.pause();
    paused.poke(); // readable from now on, never read
    witness.poke();
    // The loop has polled since the first pipe became readable: the witness's
    // handler ran in that poll's round or a later one.
    REQUIRE(witness.wait_for_calls(1));
    witness.poke();
    REQUIRE(witness.wait_for_calls(2));
    CHECK(paused.call_count() == 1);
}

TEST_CASE("FdReader: a handler may pause its own reader", "[fd-reader]")
{
    // A node's drain may run in its reader's handler (a graph task the I/O
    // thread runs): pausing there must neither deadlock nor call it again.
    WatchedPipe self, witness;
    self.pause_in_handler = true;
    self.poke();
    REQUIRE(self.wait_for_calls(1));
    // Two more rounds of the loop, with the pipe still readable.
    witness.poke();
    REQUIRE(witness.wait_for_calls(1));
    witness.poke();
    REQUIRE(witness.wait_for_calls(2));
    CHECK(self.call_count() == 1);
}

TEST_CASE("FdReader: stop() returns with the handler never to run again", "[fd-reader]")
{
    WatchedPipe w;
    w.poke();
    REQUIRE(w.wait_for_calls(1));
    w.reader.stop();
    w.poke();
    w.reader.stop(); // twice is harmless
    char c;
    CHECK(::read(w.fds[0], &c, 1) == 1); // nobody read it
    CHECK(w.call_count() == 1);
}
