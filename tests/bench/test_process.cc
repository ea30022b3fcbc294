// How colo-bench tells a server that ended cleanly when stopped from one that
// crashed on the way out: the figures of a run are only trusted when no
// server died unnoticed.
#include "tools/bench/process.hh"

#include "tests/temp_dir.hh"
#include "tests/wait_until.hh"

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>

namespace colo::bench {

namespace {

// stop_process() on a shell that set `trap` first; the SIGKILL comes after `grace`.
std::string stop_shell(const std::string& trap, std::chrono::milliseconds grace = std::chrono::seconds(5))
{
    const colo::testing::TempDir dir;
    const auto ready = dir.path / "ready";
    const pid_t pid = spawn({"sh", "-c", trap + "; : > '" + ready.string() + "'; while :; do sleep 0.01; done"},
                            (dir.path / "log").string());
    // A signal sent before the trap is set would meet sh's default action.
    REQUIRE(colo::testing::wait_until([&] { return std::filesystem::exists(ready); }));
    return unclean_end(stop_process(pid, SIGTERM, grace));
}

} // namespace

TEST_CASE("A server that exits or dies of SIGTERM when stopped stopped cleanly", "[process]")
{
    CHECK(stop_shell("trap 'exit 0' TERM").empty());
    CHECK(stop_shell("true").empty()); // SIGTERM's default action
}

TEST_CASE("A server that crashes, fails or hangs when stopped is named so", "[process]")
{
    // A crash, without the core dump SIGSEGV might leave behind.
    CHECK(stop_shell("trap 'kill -USR1 $$' TERM") == "killed by signal 10 (User defined signal 1)");
    CHECK(stop_shell("trap 'exit 3' TERM") == "exit status 3");
    CHECK(stop_shell("trap '' TERM", std::chrono::milliseconds(300)) == "still running after the grace, killed");
    CHECK(stop_shell("trap 'kill -KILL $$' TERM") == "killed by signal 9 (Killed)");
}

} // namespace colo::bench
