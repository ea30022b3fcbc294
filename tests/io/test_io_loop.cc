// IoLoop: a client with a deadline runs without an event, and a removed
// client is not dispatched again.
#include <catch2/catch.hpp>

#include "nodes/io/io_loop.hh"
#include "tests/wait_until.hh"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

using namespace colo;

namespace {

// A pipe's read end as a client; dispatch() drains it and counts the call.
struct PipeClient final : IoLoop::Client {
    int fds[2] = {-1, -1};
    std::atomic<int> dispatched{0};
    std::atomic<int> deadline_ms{-1}; // what timeout_ms() says

    PipeClient() { REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0); }
    ~PipeClient() override
    {
        ::close(fds[0]);
        ::close(fds[1]);
    }
    std::size_t prepare(std::span<pollfd, kMaxFds> out) override
    {
        out[0] = {fds[0], POLLIN, 0};
        return 1;
    }
    int timeout_ms() const override { return deadline_ms.load(); }
    void dispatch(std::span<const pollfd>) override
    {
        char buf[64];
        while (::read(fds[0], buf, sizeof buf) > 0) {}
        dispatched.fetch_add(1);
    }
    void poke() { REQUIRE(::write(fds[1], "x", 1) == 1); }
};

bool reaches(const std::atomic<int>& count, int n)
{
    return testing::wait_until([&] { return count.load() >= n; });
}

} // namespace

TEST_CASE("IoLoop: a client with a deadline runs without an event", "[io][io_loop]")
{
    IoLoop loop;
    PipeClient timed;
    timed.deadline_ms = 2;
    loop.add(&timed);
    CHECK(reaches(timed.dispatched, 3)); // the pipe stays empty: only the deadline calls it
    loop.remove(&timed);
}

TEST_CASE("IoLoop: a removed client is not dispatched again", "[io][io_loop]")
{
    IoLoop loop;
    PipeClient gone, stays;
    loop.add(&gone);
    loop.add(&stays);
    gone.poke();
    REQUIRE(reaches(gone.dispatched, 1));
    loop.remove(&gone);
    const int before = gone.dispatched.load();
    gone.poke(); // readable, but no longer the loop's
    stays.poke();
    REQUIRE(reaches(stays.dispatched, 1));
    stays.poke(); // one more full round after the removal
    REQUIRE(reaches(stays.dispatched, 2));
    CHECK(gone.dispatched.load() == before);
    loop.remove(&stays);
}
