// FdReader: a paused reader's descriptor is no longer handled, a handler may
// pause its own reader, and a stopped reader's thread has ended.
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

TEST_CASE("FdReader: after pause() a readable descriptor is not handled", "[fd-reader]")
{
    WatchedPipe w;
    w.poke();
    REQUIRE(w.wait_for_calls(1));
    w.reader.pause(); // from another thread than the reader's
    w.poke();
    w.reader.stop(); // the thread has ended: no call can be under way or come
    char c;
    CHECK(::read(w.fds[0], &c, 1) == 1); // nobody read the second byte
    CHECK(w.call_count() == 1);
}

TEST_CASE("FdReader: a handler may pause its own reader", "[fd-reader]")
{
    // A node's drain may run on its reader's thread (a graph task that thread
    // runs): pausing there must neither deadlock nor call the handler again.
    WatchedPipe w;
    w.pause_in_handler = true;
    w.poke();
    REQUIRE(w.wait_for_calls(1));
    w.reader.stop(); // joins: the thread ended by itself after the pause
    CHECK(w.call_count() == 1);
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
