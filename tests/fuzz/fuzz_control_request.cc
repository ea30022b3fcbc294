// Fuzzes the control socket's request parser (tools/cli/control_protocol.hh)
// and its reply lines with arbitrary bytes from a client.
//
// Input: a byte stream, split into request lines the way a control session
// does (tools/cli/operator_endpoints.cc ControlSession: at '\n', one '\r'
// before it dropped, empty lines skipped); the whole input is also parsed as
// one line, and written as an error message as it is, invalid UTF-8 included.
//
// Checked: every line gives a request or std::invalid_argument, never another
// exception; a request names a command of kControlCommands, keeps no
// "command" member, has only string or count members, and parses the same
// when written back; every reply is one line of valid JSON saying
// {"ok":true,"result":ARGS} or {"ok":false,"error":MESSAGE}, the message
// intact when it is valid UTF-8.
#include "tools/cli/control_protocol.hh"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

using namespace colo;
using nlohmann::json;

namespace {

void check(bool ok, const char* what)
{
    if (ok) return;
    std::fprintf(stderr, "fuzz_control_request: %s\n", what);
    std::abort();
}

bool valid_utf8(std::string_view s)
{
    try {
        (void)json(s).dump(); // the strict handler throws on invalid UTF-8
        return true;
    } catch (const json::type_error&) {
        return false;
    }
}

// One reply line: a newline at the end and nowhere else, JSON before it.
json reply_json(const std::string& line)
{
    check(!line.empty() && line.back() == '\n', "a reply does not end with a newline");
    check(line.find('\n') == line.size() - 1, "a reply spans more than one line");
    json j = json::parse(std::string_view(line).substr(0, line.size() - 1), nullptr, false);
    check(!j.is_discarded(), "a reply is not JSON");
    check(j.is_object() && j.size() == 2 && j.contains("ok") && j["ok"].is_boolean(), "a reply's shape");
    return j;
}

void check_error(std::string_view message)
{
    const json j = reply_json(control_error(message));
    check(j["ok"] == false && j.contains("error") && j["error"].is_string(), "an error reply's shape");
    if (valid_utf8(message)) check(j["error"].get<std::string>() == message, "an error reply changed the message");
}

void check_request(const ControlRequest& r)
{
    bool known = false;
    for (const auto& c : kControlCommands) known |= r.command == c.name;
    check(known, "a request names a command kControlCommands does not list");
    check(r.args.is_object() && !r.args.contains("command"), "a request's arguments");
    for (const auto& [name, value] : r.args.items())
        check(value.is_string() ||
                  (value.is_number_unsigned() && value.get<uint64_t>() >= 1 && value.get<uint64_t>() <= 1'000'000'000),
              "an argument is neither a string nor a count");

    // Written back, as `colo-graph ctl` writes it, the request parses the same.
    json again = r.args;
    again["command"] = r.command;
    const ControlRequest back = parse_control_request(again.dump());
    check(back.command == r.command && back.args == r.args, "a request parses differently when written back");

    const json j = reply_json(control_reply(r.args));
    check(j["ok"] == true && j.contains("result") && j["result"] == r.args, "a reply changed the result");
}

void parse_line(std::string_view line)
{
    try {
        check_request(parse_control_request(line));
    } catch (const std::invalid_argument& e) {
        check(*e.what() != '\0', "an empty error message");
        check_error(e.what());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_control_request: not std::invalid_argument: %s\n", e.what());
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::size_t start = 0;
    for (std::size_t nl; (nl = input.find('\n', start)) != std::string_view::npos; start = nl + 1) {
        std::string_view line = input.substr(start, nl - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty()) parse_line(line);
    }
    parse_line(input);
    check_error(input);
    return 0;
}
