// The control socket's protocol: which request lines parse_control_request()
// accepts and what it says about the others, and the reply lines.
#include <catch2/catch.hpp>

#include "tools/cli/control_protocol.hh"

#include <set>
#include <stdexcept>
#include <string>

using namespace colo;
using Catch::Matchers::Message;

namespace {

// The request parsed, or the test fails with parse_control_request()'s message.
ControlRequest parse(const std::string& line)
{
    try {
        return parse_control_request(line);
    } catch (const std::invalid_argument& e) {
        FAIL("refused " << line << ": " << e.what());
    }
    return {};
}

void check_one_json_line(const std::string& reply)
{
    REQUIRE(!reply.empty());
    CHECK(reply.back() == '\n');
    CHECK(reply.find('\n') == reply.size() - 1);
    CHECK_NOTHROW(nlohmann::json::parse(reply)); // strict: invalid UTF-8 throws
}

} // namespace

TEST_CASE("every control command's valid request parses, its members in args", "[control]")
{
    std::set<std::string> tested;
    const auto accepted = [&](const std::string& line) {
        const ControlRequest r = parse(line);
        tested.insert(r.command);
        CHECK(r.args.is_object());
        CHECK(!r.args.contains("command"));
        return r;
    };
    for (const char* bare : {"stats", "graph", "help", "checkpoint", "failover", "resume"}) {
        const ControlRequest r = accepted(std::string("{\"command\":\"") + bare + "\"}");
        CHECK(r.command == bare);
        CHECK(r.args.empty());
    }
    for (const char* on_node : {"checkpoint", "failover", "resume"}) {
        const ControlRequest r = accepted(std::string("{\"command\":\"") + on_node + "\",\"node\":\"cmp\"}");
        CHECK(r.args == nlohmann::json{{"node", "cmp"}});
    }
    {
        const ControlRequest r = accepted(R"({"command":"bypass","action":"add","rule":"tcp port 22","node":"cmp"})");
        CHECK(r.command == "bypass");
        CHECK(r.args == nlohmann::json{{"action", "add"}, {"rule", "tcp port 22"}, {"node", "cmp"}});
        CHECK(accepted(R"({"command":"bypass","action":"list"})").args == nlohmann::json{{"action", "list"}});
    }
    {
        const ControlRequest r =
            accepted(R"( { "value" : "500", "command" : "set", "node" : "cmp", "property" : "compare_timeout" } )");
        CHECK(r.command == "set");
        CHECK(r.args == nlohmann::json{{"node", "cmp"}, {"property", "compare_timeout"}, {"value", "500"}});
    }
    {
        const ControlRequest r = accepted(
            R"({"command":"trace","node":"cmp","port":"out","filter":"tcp","count":10,"out":"/tmp/t.pcapng"})");
        CHECK(r.command == "trace");
        CHECK(r.args.at("count") == 10);
        CHECK(r.args.at("filter") == "tcp");
        CHECK(r.args.at("out") == "/tmp/t.pcapng");
        CHECK(accepted(R"({"command":"trace","node":"n","port":"in","out":"f"})").args.size() == 3);
        CHECK(accepted(R"({"command":"trace","node":"n","port":"in","out":"f","count":1})").args.at("count") == 1);
        CHECK(accepted(R"({"command":"trace","node":"n","port":"in","out":"f","count":1000000000})").args.at("count") ==
              1'000'000'000);
    }
    // Every command the socket offers was tried.
    for (const auto& c : kControlCommands) CHECK(tested.count(c.name) == 1);
    CHECK(tested.size() == kControlCommands.size());
}

TEST_CASE("a control request that is not a JSON object with a known command is refused, saying why", "[control]")
{
    const auto refused = [](const std::string& line, const std::string& why) {
        INFO(line);
        CHECK_THROWS_MATCHES(parse_control_request(line), std::invalid_argument, Message(why));
    };
    refused("", "not JSON");
    refused("stats", "not JSON");
    refused(R"({"command":"stats")", "not JSON");
    refused(R"({"command":"stats"} {})", "not JSON");
    refused("[\"stats\"]", "a request is a JSON object");
    refused("\"stats\"", "a request is a JSON object");
    refused("42", "a request is a JSON object");
    refused("null", "a request is a JSON object");
    refused("{}", "\"command\" (a string) is missing");
    refused(R"({"node":"cmp"})", "\"command\" (a string) is missing");
    refused(R"({"command":7})", "\"command\" (a string) is missing");
    refused(R"({"command":["stats"]})", "\"command\" (a string) is missing");
    refused(R"({"command":"reboot"})", "unknown command 'reboot' (try help)");
    refused(R"({"command":"STATS"})", "unknown command 'STATS' (try help)");
    refused(R"({"command":"stats","node":"cmp"})", "stats: unknown member 'node'");
    refused(R"({"command":"set","node":"cmp","property":"p","value":"1","force":true})", "set: unknown member 'force'");
    refused(R"({"command":"checkpoint","node":5})", "checkpoint: \"node\" must be a string");
    refused(R"({"command":"checkpoint","node":null})", "checkpoint: \"node\" must be a string");
    refused(R"({"command":"set","node":"cmp","property":"p","value":500})", "set: \"value\" must be a string");
    refused(R"({"command":"bypass","action":["add"]})", "bypass: \"action\" must be a string");
    refused(R"({"command":"bypass","rule":"tcp"})", "bypass: \"action\" is missing");
    refused(R"({"command":"set","node":"cmp","property":"p"})", "set: \"value\" is missing");
    refused(R"({"command":"set","value":"1","property":"p"})", "set: \"node\" is missing");
    refused(R"({"command":"trace","node":"n","port":"p"})", "trace: \"out\" is missing");
}

TEST_CASE("a trace count must be a whole number from 1 to 10^9", "[control]")
{
    const std::string head = R"({"command":"trace","node":"n","port":"p","out":"f","count":)";
    for (const char* count : {"0", "-1", "-1000", "1.5", "10.0", "1e3", "1000000001", "18446744073709551616", "\"10\"",
                              "true", "null", "[10]"}) {
        INFO("count " << count);
        CHECK_THROWS_MATCHES(parse_control_request(head + count + "}"), std::invalid_argument,
                             Message("trace: \"count\" must be a count from 1 to 10^9"));
    }
    CHECK(parse(head + "999999999}").args.at("count") == 999'999'999);
}

TEST_CASE("a control request line longer than 64 KiB is refused", "[control]")
{
    std::string line = R"({"command":"stats"})";
    line += std::string(kMaxControlLine - line.size(), ' ');
    CHECK(parse(line).command == "stats");
    line += ' ';
    CHECK_THROWS_MATCHES(parse_control_request(line), std::invalid_argument, Message("request longer than 64 KiB"));
}

TEST_CASE("control replies and errors are one line of valid JSON, whatever bytes they carry", "[control]")
{
    const std::string reply = control_reply(nlohmann::json{{"emitted", 3}, {"note", "two\nlines"}});
    check_one_json_line(reply);
    const auto r = nlohmann::json::parse(reply);
    CHECK(r.at("ok") == true);
    CHECK(r.at("result") == nlohmann::json{{"emitted", 3}, {"note", "two\nlines"}});
    CHECK(nlohmann::json::parse(control_reply(nullptr)) == nlohmann::json{{"ok", true}, {"result", nullptr}});

    const std::string error = control_error("no node named 'x'\nsecond line");
    check_one_json_line(error);
    const auto e = nlohmann::json::parse(error);
    CHECK(e.at("ok") == false);
    CHECK(e.at("error") == "no node named 'x'\nsecond line");

    // Invalid UTF-8 (a node's message may quote bytes off the wire) is replaced, not thrown on.
    const std::string bad = "bad byte \xff and a cut \xe2\x82 sequence";
    std::string bad_error, bad_reply;
    REQUIRE_NOTHROW(bad_error = control_error(bad));
    check_one_json_line(bad_error);
    const std::string text = nlohmann::json::parse(bad_error).at("error");
    CHECK(text.rfind("bad byte ", 0) == 0);
    CHECK(text.find(" sequence") != std::string::npos);
    REQUIRE_NOTHROW(bad_reply = control_reply(nlohmann::json{{"rule", bad}}));
    check_one_json_line(bad_reply);
}
