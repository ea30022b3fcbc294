// Subcommands of colo-graph that live in their own files. Each takes the
// arguments after the command name and returns a sysexits code.
#pragma once

#include <string>
#include <vector>

namespace colo {

// colo-graph compare PRIMARY.pcap SECONDARY.pcap [--json] [--set NAME=VALUE]...
int cmd_compare(const std::vector<std::string>& args);

// colo-graph ctl PATH COMMAND [ARGS]: the control socket's client
int cmd_ctl(const std::vector<std::string>& args);

} // namespace colo
