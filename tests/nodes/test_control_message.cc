// The wire format of node-to-node messages (nodes/control_message.hh): event
// logs, scripts and interop peers read these bytes.
#include <catch2/catch.hpp>

#include "nodes/control_message.hh"
#include "nodes/proto/compare_events.hh"

using namespace colo;

namespace {
constexpr uint64_t kT = 1'700'000'001'250'000'000ull; // 1700000001.250000
std::string text(const Packet& p)
{
    return std::string(packet_text(p));
}
} // namespace

TEST_CASE("control messages: commands", "[control-message]")
{
    CHECK(text(checkpoint_command(kT)) == R"({"command":"checkpoint"})");
    CHECK(checkpoint_command(kT).ts_ns == kT);
    CHECK(text(command_message("failover", kT)) == R"({"command":"failover"})");
    CHECK(parse_command(checkpoint_command(kT)) == Command::checkpoint);
    CHECK(parse_command(command_message("failover", kT)) == Command::failover);
    CHECK(parse_command(command_message("reboot", kT)) == Command::unknown);
    CHECK(parse_command(event_packet("not json", kT)) == Command::unknown);
}

TEST_CASE("control messages: events", "[control-message]")
{
    CHECK(text(checkpoint_done_event(kT, 3, 2)) ==
          R"({"version":1,"event":"checkpoint_done","time":1700000001.250000,"released":3,"secondary_dropped":2})");
    CHECK(text(failover_event(kT)) == R"({"version":1,"event":"failover","time":1700000001.250000})");

    CheckpointRequest r;
    r.time_ns = kT;
    const Packet request = checkpoint_request_event(r);
    CHECK(request.ts_ns == kT);
    CHECK_THAT(text(request),
               Catch::StartsWith(R"({"version":1,"event":"checkpoint_request","time":1700000001.250000,"reason":")"));
    CHECK(is_checkpoint_request(request));
    CHECK_FALSE(is_checkpoint_request(failover_event(kT)));
    const auto fields = parse_checkpoint_request(packet_text(request));
    REQUIRE(fields);
    CHECK(fields->reason == to_string(r.reason));
    CHECK(fields->flow == r.flow.to_string());
    CHECK_FALSE(parse_checkpoint_request(packet_text(checkpoint_command(kT))));
}

TEST_CASE("control message: members are read as JSON, not by their text", "[control]")
{
    CHECK(parse_command(event_packet(R"({ "command" : "checkpoint" })", kT)) == Command::checkpoint);
    CHECK(parse_command(event_packet(R"({"data":{"command":"failover"}})", kT)) == Command::unknown); // nested
    CHECK(parse_command(event_packet(R"({"note":"\"command\":\"failover\""})", kT)) == Command::unknown);
    CHECK(parse_command(event_packet(R"(["command","failover"])", kT)) == Command::unknown);
    CHECK(parse_command(event_packet(R"({"command":"fail\u006fver"})", kT)) == Command::failover);
    CHECK(message_field(R"({"reason":7})", "reason").empty()); // not a string
}
