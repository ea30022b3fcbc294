#include "tools/cli/operator_endpoints.hh"

#include "tools/cli/metrics.hh"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace colo {

namespace {

std::runtime_error sys_error(const std::string& what)
{
    return std::runtime_error(what + ": " + std::strerror(errno));
}

// A unix stream socket at `path`, mode 0600. A stale socket (nobody
// listening) is replaced; a symlink or any other file is refused.
int listen_unix(const std::string& path)
{
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        throw std::runtime_error(path + ": a unix socket path is 1 to " + std::to_string(sizeof addr.sun_path - 1) +
                                 " bytes");
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode)) throw std::runtime_error(path + ": is a symbolic link; refusing to follow it");
        if (!S_ISSOCK(st.st_mode)) throw std::runtime_error(path + ": exists and is not a socket");
        const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool live = connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        close(probe);
        if (live) throw std::runtime_error(path + ": another process listens on it");
        unlink(path.c_str());
    }
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw sys_error("socket");
    const mode_t old = umask(0177); // no moment at which others could connect
    const int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    umask(old);
    if (rc != 0 || chmod(path.c_str(), 0600) != 0 || listen(fd, 128) != 0) {
        const auto err = sys_error(path);
        close(fd);
        throw err;
    }
    return fd;
}

// "HOST:PORT", "[V6]:PORT" or ":PORT"/"PORT" (loopback). Returns the socket
// and what it is bound to.
int listen_tcp(const std::string& address, std::string& bound)
{
    std::string host = "127.0.0.1", port = address;
    if (const auto colon = address.rfind(':'); colon != std::string::npos) {
        host = address.substr(0, colon);
        port = address.substr(colon + 1);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        if (host.empty()) host = "127.0.0.1";
    }
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
        throw std::runtime_error("--metrics " + address + ": " + gai_strerror(rc));
    const int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        const auto err = sys_error("--metrics " + address);
        freeaddrinfo(res);
        if (fd >= 0) close(fd);
        throw err;
    }
    freeaddrinfo(res);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    char h[NI_MAXHOST], p[NI_MAXSERV];
    getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, h, sizeof h, p, sizeof p, NI_NUMERICHOST | NI_NUMERICSERV);
    bound = (ss.ss_family == AF_INET6 ? "[" + std::string(h) + "]" : std::string(h)) + ":" + p;
    return fd;
}

// One control client: request lines in, reply lines out.
class ControlSession final : public PollServer::Session {
public:
    ControlSession(ControlService& service, std::function<void(std::string)> later) : client_(service, std::move(later))
    {}
    bool received(std::string& in, std::string& out) override
    {
        std::size_t start = 0;
        for (std::size_t nl; (nl = in.find('\n', start)) != std::string::npos; start = nl + 1) {
            std::string_view line(in.data() + start, nl - start);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (!line.empty()) out += client_.request(line);
        }
        in.erase(0, start);
        return true;
    }

private:
    ControlService::Client client_;
};

// One scrape: an HTTP request head in, the exposition out, then close.
class MetricsSession final : public PollServer::Session {
public:
    explicit MetricsSession(Runtime& rt) : rt_(rt) {}
    bool received(std::string& in, std::string& out) override
    {
        auto end = in.find("\r\n\r\n");
        if (end == std::string::npos) end = in.find("\n\n"); // bare newlines, as some clients send
        if (end == std::string::npos) return true;
        std::string status = metrics_request_status(std::string_view(in).substr(0, end));
        std::string body = status.empty() ? prometheus_text(rt_.graph(), rt_.stats()) : status + "\n";
        out += "HTTP/1.1 " + (status.empty() ? std::string("200 OK") : status) +
               "\r\nContent-Type: " + (status.empty() ? "text/plain; version=0.0.4" : "text/plain") +
               "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        in.clear();
        return false;
    }

private:
    Runtime& rt_;
};

} // namespace

OperatorEndpoints::OperatorEndpoints(Runtime& rt, const std::string& control_path, const std::string& metrics_address,
                                     Log log)
    : rt_(rt), service_(rt)
{
    if (!metrics_address.empty()) {
        const int fd = listen_tcp(metrics_address, metrics_bound_);
        PollServer::Limits limits;
        limits.max_request = 8192; // a request head; nothing else is read
        limits.request_timeout = std::chrono::milliseconds(5000);
        metrics_ = std::make_unique<PollServer>(
            fd, "metrics",
            [this](PollServer&, uint64_t, const std::string&) { return std::make_unique<MetricsSession>(rt_); }, limits,
            log);
    }
    if (!control_path.empty()) {
        const int fd = listen_unix(control_path);
        control_path_ = control_path;
        PollServer::Limits limits;
        limits.max_request = kMaxControlLine;
        control_ = std::make_unique<PollServer>(
            fd, "control " + control_path,
            [this](PollServer& server, uint64_t id, const std::string&) {
                return std::make_unique<ControlSession>(
                    service_, [&server, id](std::string reply) { server.send_later(id, std::move(reply)); });
            },
            limits, log);
    }
}

OperatorEndpoints::~OperatorEndpoints()
{
    control_.reset();
    metrics_.reset();
    if (!control_path_.empty()) unlink(control_path_.c_str());
}

} // namespace colo
