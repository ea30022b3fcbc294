// The control socket's protocol (docs/operations.md): one JSON object per
// line each way. A request names a command and its arguments,
//     {"command":"set","node":"cmp","property":"compare_timeout","value":"500"}
// and gets one reply line, {"ok":true,"result":...} or {"ok":false,"error":"..."}.
// This file only reads and writes the lines; control_service does the work.
// It sees bytes from any local process, so it checks every field's type and
// refuses what it does not know, naming it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace colo {

// Longest request line accepted; a client that sends more is dropped.
inline constexpr std::size_t kMaxControlLine = 64 * 1024;

struct ControlRequest {
    std::string command; // one of kControlCommands
    nlohmann::json args; // the request's other members, checked against the command's
};

struct ControlCommandInfo {
    const char* name;
    const char* usage; // the arguments `colo-graph ctl` takes
    const char* doc;
};
extern const std::vector<ControlCommandInfo> kControlCommands;

// One line, without its newline. Throws std::invalid_argument saying what is
// wrong: not JSON, not an object, an unknown command, a missing or mistyped
// or unknown member.
ControlRequest parse_control_request(std::string_view line);

// The reply lines, newline included.
std::string control_reply(const nlohmann::json& result);
std::string control_error(std::string_view message);

} // namespace colo
