// The comparator's degraded mode in a running graph: its secondary's link
// status arrives on `secondary_status` (a socket's or heartbeat's peer
// events); without its secondary it passes primaries through at once, and
// compares again once the secondary is back and re-synchronised, by the
// first checkpoint (resume_after: checkpoint) or a resume command.
#include <catch2/catch.hpp>

#include "engine/graph_file.hh"
#include "engine/runtime.hh"
#include "nodes/control_message.hh"
#include "nodes/proto/event_json.hh"
#include "tests/engine/parse_ok.hh"
#include "tests/nodes/feed_capture.hh"
#include "tests/proto/frames.hh"

#include <string>
#include <vector>

using namespace colo;
using namespace colo::testnodes;

namespace {

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;
constexpr uint64_t kMs = 1'000'000;

Packet udp(const std::string& payload, uint64_t at_ms)
{
    return frames::packet(frames::udp(frames::Endpoints{}, payload), 0, kT0 + at_ms * kMs);
}

// Runs the graph over the feeds; returns the payload tags released on `out`
// and the events' names.
struct Run {
    std::vector<std::string> released, events;
    std::vector<std::pair<std::string, uint64_t>> counters;
    uint64_t counter(const std::string& name) const
    {
        for (const auto& [n, v] : counters)
            if (n == name) return v;
        FAIL("no counter " << name);
        return 0;
    }
};

Run run(const std::string& resume_after)
{
    const std::string yaml = R"(
nodes:
  p:   { type: test-feed, name: p }
  s:   { type: test-feed, name: s }
  st:  { type: test-feed, name: st }
  ctl: { type: test-feed, name: ctl }
  cmp: { type: comparator, compare_timeout: 10000, expired_scan_cycle: 100, resume_after: )" +
                             resume_after + R"( }
  out: { type: test-capture, name: out }
  ev:  { type: test-capture, name: ev }
links:
  - p -> cmp.primary
  - s -> cmp.secondary
  - st -> cmp.secondary_status
  - ctl -> cmp.control
  - cmp.out -> out
  - cmp.events -> ev
)";
    Runtime rt(testing::parse_ok(yaml, "degraded.yaml"), RunOptions{});
    rt.run();
    Run r;
    for (const auto& p : captures["out"])
        r.released.emplace_back(reinterpret_cast<const char*>(p.frame()) + p.frame_len() - 1, 1);
    for (const auto& p : captures["ev"]) r.events.push_back(message_field(packet_text(p), "event"));
    for (const auto& s : rt.stats())
        if (s.name == "cmp") r.counters = s.counters;
    return r;
}

// A held; the link goes down (A released, B passes at once); it comes back
// (C still passes); a checkpoint; then D and its twin D.
void feed_the_story()
{
    feeds["p"] = {udp("A", 1), udp("B", 3), udp("C", 5), udp("D", 7)};
    feeds["s"] = {udp("D", 8)};
    feeds["st"] = {peer_status_event({false, "disconnect"}, kT0 + 2 * kMs),
                   peer_status_event({true, ""}, kT0 + 4 * kMs)};
    feeds["ctl"] = {checkpoint_command(kT0 + 6 * kMs)};
}

} // namespace

TEST_CASE("comparator: losing the secondary releases what waits and passes primaries through", "[degraded]")
{
    ClearListsAfterTest clear;
    feed_the_story();
    const Run r = run("checkpoint");
    CHECK(r.released == std::vector<std::string>{"A", "B", "C", "D"});
    CHECK(r.counter("secondary_lost") == 1);
    CHECK(r.counter("released_flush") == 1);       // A, held when the link went down
    CHECK(r.counter("released_passthrough") == 2); // B and C, while degraded
}

TEST_CASE("comparator: the first checkpoint after the secondary is back ends degraded mode", "[degraded]")
{
    ClearListsAfterTest clear;
    feed_the_story();
    const Run r = run("checkpoint");
    CHECK(r.events == std::vector<std::string>{"secondary_lost", "secondary_back", "checkpoint_done", "resume"});
    CHECK(r.counter("released_matched") == 1); // D waited for its twin: compared again
    CHECK(r.counter("degraded") == 0);
}

TEST_CASE("comparator: with resume_after command, only a resume ends degraded mode", "[degraded]")
{
    ClearListsAfterTest clear;
    feed_the_story();
    const Run stays = run("command");
    CHECK(stays.events == std::vector<std::string>{"secondary_lost", "secondary_back", "checkpoint_done"});
    CHECK(stays.counter("released_matched") == 0); // D passed through
    CHECK(stays.counter("degraded") == 1);

    ClearListsAfterTest::clear();
    feed_the_story();
    feeds["ctl"].push_back(command_message("resume", kT0 + 6 * kMs + 1));
    const Run resumed = run("command");
    CHECK(resumed.events == std::vector<std::string>{"secondary_lost", "secondary_back", "checkpoint_done", "resume"});
    CHECK(resumed.counter("released_matched") == 1);
    CHECK(resumed.counter("degraded") == 0);
}

TEST_CASE("comparator: a checkpoint before the secondary is back does not end degraded mode", "[degraded]")
{
    ClearListsAfterTest clear;
    feed_the_story();
    feeds["st"].pop_back(); // it never comes back
    const Run r = run("checkpoint");
    CHECK(r.events == std::vector<std::string>{"secondary_lost", "checkpoint_done"});
    CHECK(r.counter("degraded") == 1);
    CHECK(r.released == std::vector<std::string>{"A", "B", "C", "D"});
}
