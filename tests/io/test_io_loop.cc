// IoLoop: a client with a deadline runs without an event, a removed client
// is not dispatched again, and output held in a dispatch is written once
// when it ends.
#include <catch2/catch.hpp>

#include "nodes/io/io_loop.hh"
#include "tests/wait_until.hh"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <vector>

using namespace colo;

namespace {

// A pipe's read end as a client; dispatch() drains it and counts the call.
struct PipeClient final : IoLoop::Client {
    int fds[2] = {-1, -1};
    std::atomic<int> dispatched{0};
    std::atomic<int> deadline_ms{-1}; // what timeout_ms() says
    std::atomic<int> deferred_writes{0};
    std::function<void()> in_dispatch; // run by dispatch() when it read something, on the loop thread

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
        bool read = false;
        while (::read(fds[0], buf, sizeof buf) > 0) read = true;
        if (read && in_dispatch) in_dispatch();
        dispatched.fetch_add(1);
    }
    void write_deferred() override { deferred_writes.fetch_add(1); }
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

TEST_CASE("IoLoop: output held in a dispatch is written once, when the dispatch ends", "[io][io_loop]")
{
    {
        const IoLoop::OutputHold hold(true);
        CHECK_FALSE(IoLoop::defer_output(nullptr)); // not a loop thread: write at once
    }
    IoLoop loop;
    PipeClient input, output;
    // What the loop thread saw in input's dispatch: defer_output()'s answers
    // (three releases from reads that more input follows, then one from the
    // last read) and output's writes meanwhile.
    std::vector<bool> answers;
    int writes_during_dispatch = -1;
    input.in_dispatch = [&] {
        {
            const IoLoop::OutputHold hold(true);
            for (int i = 0; i < 3; ++i) answers.push_back(IoLoop::defer_output(&output));
        }
        const IoLoop::OutputHold hold(false);
        answers.push_back(IoLoop::defer_output(&output));
        writes_during_dispatch = output.deferred_writes.load();
    };
    loop.add(&input);
    loop.add(&output);
    input.poke();
    REQUIRE(reaches(output.deferred_writes, 1));
    input.poke();
    REQUIRE(reaches(output.deferred_writes, 2));
    const int rounds = output.dispatched.load();
    for (int more = 1; more <= 2; ++more) { // full rounds more: nothing held, nothing written
        output.poke();
        REQUIRE(reaches(output.dispatched, rounds + more));
    }
    loop.remove(&input);
    loop.remove(&output);
    CHECK(answers == std::vector<bool>{true, true, true, false, true, true, true, false});
    CHECK(writes_during_dispatch == 1); // the second dispatch saw only the first's write
    CHECK(output.deferred_writes.load() == 2);
}
