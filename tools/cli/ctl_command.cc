// colo-graph ctl PATH COMMAND [ARGS]: the control socket's client. Builds one
// request (control_protocol.hh), sends it, prints the result: DOT for
// `graph`, JSON otherwise. Exit codes in the manner of sysexits(3).
#include "tools/cli/commands.hh"

#include "tools/cli/control_protocol.hh"

#include <sysexits.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace colo {

namespace {

constexpr const char* kUsageHead = "Usage: colo-graph ctl PATH COMMAND [ARGS] [--timeout SECONDS]\n"
                                   "\n"
                                   "Asks a graph run with --control PATH, and prints the result.\n"
                                   "\n"
                                   "Commands:\n";
constexpr const char* kUsageTail = "\n"
                                   "--timeout: seconds to wait for the answer (default 10; a trace waits for its\n"
                                   "packets unless given).\n"
                                   "\n"
                                   "Exit status: 0 done; 64 usage; 65 the proxy refused the request (the error is\n"
                                   "printed); 69 nobody listens at PATH; 75 no answer in time; 76 a malformed answer;\n"
                                   "77 PATH may not be opened.\n";

void usage(std::ostream& os)
{
    os << kUsageHead;
    for (const auto& c : kControlCommands) {
        std::string head = std::string("  ") + c.name + (*c.usage ? " " : "") + c.usage;
        os << head << "\n      " << c.doc << '\n';
    }
    os << kUsageTail;
}

int usage_error(const std::string& msg)
{
    std::cerr << "colo-graph ctl: " << msg << "\nTry 'colo-graph ctl --help' for more information.\n";
    return EX_USAGE;
}

// argv after PATH → the request. Throws std::invalid_argument for usage errors.
nlohmann::json build_request(std::vector<std::string> args, double& timeout_s, bool& timeout_given)
{
    nlohmann::json r;
    std::vector<std::string> words;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
            return args[++i];
        };
        if (a == "--node") r["node"] = value();
        else if (a == "--filter") r["filter"] = value();
        else if (a == "--out") r["out"] = std::filesystem::absolute(value()).string(); // the proxy's cwd is not ours
        else if (a == "--count") {
            const std::string v = value();
            char* end = nullptr;
            const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
            if (v.empty() || *end || n == 0)
                throw std::invalid_argument("--count takes a positive number, not '" + v + "'");
            r["count"] = uint64_t(n);
        } else if (a == "--timeout") {
            const std::string v = value();
            char* end = nullptr;
            timeout_s = std::strtod(v.c_str(), &end);
            if (v.empty() || *end || !(timeout_s > 0))
                throw std::invalid_argument("--timeout takes seconds, not '" + v + "'");
            timeout_given = true;
        } else if (a.size() > 1 && a[0] == '-' && !std::isdigit((unsigned char)a[1])) // -5 is a value
            throw std::invalid_argument("unknown option " + a);
        else words.push_back(a);
    }
    if (words.empty()) throw std::invalid_argument("missing COMMAND");
    const std::string cmd = words[0];
    if (std::none_of(kControlCommands.begin(), kControlCommands.end(), [&](const auto& c) { return cmd == c.name; }))
        throw std::invalid_argument("unknown command '" + cmd + "'");
    r["command"] = cmd;
    const auto expect = [&](std::size_t n) {
        if (words.size() != n + 1)
            throw std::invalid_argument(cmd + " takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s"));
    };
    const auto dotted = [&](const std::string& s, const char* first, const char* second) {
        const auto dot = s.find('.');
        if (dot == std::string::npos || dot == 0 || dot + 1 == s.size())
            throw std::invalid_argument(cmd + ": expected NODE." +
                                        std::string(second == std::string("port") ? "PORT" : "PROPERTY") + ", got '" +
                                        s + "'");
        r[first] = s.substr(0, dot);
        r[second] = s.substr(dot + 1);
    };
    if (cmd == "bypass") {
        if (words.size() < 2) throw std::invalid_argument("bypass add RULE | del RULE | list");
        r["action"] = words[1];
        std::string rule;
        for (std::size_t i = 2; i < words.size(); ++i) { // quoted or not
            if (i > 2) rule += ' ';
            rule += words[i];
        }
        if (!rule.empty()) r["rule"] = rule;
    } else if (cmd == "set") {
        expect(2);
        dotted(words[1], "node", "property");
        r["value"] = words[2];
    } else if (cmd == "trace") {
        expect(1);
        dotted(words[1], "node", "port");
        if (!r.contains("out")) throw std::invalid_argument("trace needs --out FILE");
    } else {
        expect(0);
    }
    return r;
}

int connect_to(const std::string& path)
{
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        std::cerr << "colo-graph ctl: " << path << ": path too long for a unix socket\n";
        return -EX_USAGE;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    const int err = errno;
    close(fd);
    std::cerr << "colo-graph ctl: " << path << ": " << std::strerror(err)
              << (err == ENOENT || err == ECONNREFUSED ? " (is colo-graph run --control " + path + " running?)" : "")
              << '\n';
    return -(err == EACCES || err == EPERM ? EX_NOPERM : EX_UNAVAILABLE);
}

} // namespace

int cmd_ctl(const std::vector<std::string>& args)
{
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
        usage(std::cout);
        return 0;
    }
    if (args.size() < 2) return usage_error(args.empty() ? "missing PATH" : "missing COMMAND");
    const std::string path = args[0];
    double timeout_s = 10;
    bool timeout_given = false;
    nlohmann::json request;
    try {
        request = build_request({args.begin() + 1, args.end()}, timeout_s, timeout_given);
    } catch (const std::exception& e) {
        return usage_error(e.what());
    }
    const bool wait_forever = request["command"] == "trace" && !timeout_given;
    const int fd = connect_to(path);
    if (fd < 0) return -fd;
    const std::string line = request.dump() + "\n";
    if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) != ssize_t(line.size())) {
        std::cerr << "colo-graph ctl: " << path << ": " << std::strerror(errno) << '\n';
        close(fd);
        return EX_UNAVAILABLE;
    }
    std::string reply;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
        if (const auto nl = reply.find('\n'); nl != std::string::npos) {
            reply.resize(nl);
            break;
        }
        int wait_ms = -1;
        if (!wait_forever) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                std::cerr << "colo-graph ctl: " << path << ": no answer within " << timeout_s << " s\n";
                close(fd);
                return EX_TEMPFAIL;
            }
            wait_ms = int(left.count());
        }
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, wait_ms) <= 0) continue;
        char buf[65536];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            std::cerr << "colo-graph ctl: " << path << ": the proxy closed the connection without an answer\n";
            close(fd);
            return EX_PROTOCOL;
        }
        reply.append(buf, std::size_t(n));
    }
    close(fd);
    const nlohmann::json j = nlohmann::json::parse(reply, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("ok")) {
        std::cerr << "colo-graph ctl: " << path << ": malformed answer: " << reply.substr(0, 200) << '\n';
        return EX_PROTOCOL;
    }
    if (j["ok"] != true) {
        std::cerr << "colo-graph ctl: "
                  << (j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : reply) << '\n';
        return EX_DATAERR;
    }
    const auto& result = j["result"];
    if (request["command"] == "graph" && result.is_string()) std::cout << result.get<std::string>();
    else std::cout << result.dump(2) << '\n';
    return 0;
}

} // namespace colo
