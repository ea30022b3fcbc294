#include "tools/cli/operator_endpoints.hh"

#include "nodes/io/listen_socket.hh"
#include "tools/cli/metrics.hh"

#include <unistd.h>

#include <stdexcept>
#include <utility>

namespace colo {

namespace {

// --metrics "HOST:PORT", "[V6]:PORT" or ":PORT"/"PORT" (loopback).
SocketAddress metrics_address(const std::string& text)
{
    std::string spec = "tcp:";
    if (text.find(':') == std::string::npos) spec += ':';
    spec += text;
    try {
        return SocketAddress::parse(spec);
    } catch (const std::invalid_argument&) {
        std::string why = "--metrics ";
        why.append(text).append(": expected HOST:PORT, [IPV6]:PORT or PORT");
        throw std::runtime_error(why);
    }
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

OperatorEndpoints::Listener::~Listener()
{
    if (fd >= 0) ::close(fd);
}

OperatorEndpoints::OperatorEndpoints(Runtime& rt, const std::string& control_path, const std::string& metrics, Log log)
    : rt_(rt), service_(rt), log_(std::move(log))
{
    if (!metrics.empty()) {
        const ListeningSocket listening = listen_socket(metrics_address(metrics), "--metrics " + metrics, 128);
        metrics_listener_.fd = listening.fd;
        metrics_bound_ = listening.address.to_string().substr(4); // without "tcp:"
    }
    if (!control_path.empty()) {
        SocketAddress control;
        control.kind = SocketAddress::Kind::unix_path;
        control.path = control_path;
        control_listener_.fd = listen_socket(control, control_path, 128).fd;
        control_path_ = control_path;
    }
}

void OperatorEndpoints::serve()
{
    if (metrics_listener_.fd >= 0) {
        PollServer::Limits limits;
        limits.max_request = 8192; // a request head; nothing else is read
        limits.request_timeout = std::chrono::milliseconds(5000);
        metrics_ = std::make_unique<PollServer>(
            std::exchange(metrics_listener_.fd, -1), "metrics",
            [this](PollServer&, uint64_t, const std::string&) { return std::make_unique<MetricsSession>(rt_); }, limits,
            log_);
    }
    if (control_listener_.fd >= 0) {
        PollServer::Limits limits;
        limits.max_request = kMaxControlLine;
        control_ = std::make_unique<PollServer>(
            std::exchange(control_listener_.fd, -1), "control " + control_path_,
            [this](PollServer& server, uint64_t id, const std::string&) {
                return std::make_unique<ControlSession>(
                    service_, [&server, id](std::string reply) { server.send_later(id, std::move(reply)); });
            },
            limits, log_);
    }
}

OperatorEndpoints::~OperatorEndpoints()
{
    control_.reset();
    metrics_.reset();
    if (!control_path_.empty()) remove_socket_file(control_path_);
}

} // namespace colo
