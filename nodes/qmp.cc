#include "nodes/qmp.hh"

#include "engine/registry.hh"
#include "nodes/control_message.hh"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>

namespace colo {

namespace {

namespace port {
constexpr InPortId events{0, "events"};
constexpr OutPortId control{0, "control"};
} // namespace port
namespace prop {
constexpr StringProperty path{"path"};
constexpr IntProperty checkpoint_delay{"checkpoint_delay"};
} // namespace prop
namespace counter {
constexpr CounterId requests_sent{0, "requests_sent"}, requests_failed{1, "requests_failed"}, resumes{2, "resumes"},
    qmp_errors{3, "qmp_errors"}, connections{4, "connections"};
} // namespace counter

// What one line from the monitor is. QMP sends one JSON object per line; only
// its top-level members count (an event's data may hold any key or string).
constexpr std::size_t kMaxLine = 1 << 20;

enum class QmpLine { greeting, reply, resume, error, other, garbage };

QmpLine classify(const std::string& line)
{
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return QmpLine::garbage;
    if (j.contains("QMP")) return QmpLine::greeting;
    if (j.contains("return")) return QmpLine::reply;
    if (j.contains("error")) return QmpLine::error;
    const auto event = j.find("event");
    if (event != j.end() && event->is_string() && *event == "RESUME") return QmpLine::resume;
    return QmpLine::other;
}

} // namespace

Qmp::Qmp(const Properties& p) : path_(p.get(prop::path)), checkpoint_delay_ms_(p.get(prop::checkpoint_delay)) {}

Qmp::~Qmp()
{
    stop();
}

void Qmp::on_start(Injector& injector)
{
    thread_ = std::thread([this, &injector] { run(injector); });
}

void Qmp::stop()
{
    stop_.store(true);
    {
        std::lock_guard lock(fd_mu_);
        if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    }
    if (thread_.joinable()) thread_.join();
}

void Qmp::run(Injector& injector)
{
    auto backoff = std::chrono::milliseconds(100);
    bool said = false;
    while (!stop_.load() && !injector.stopping()) {
        if (!session(injector)) {
            if (!said) log("qmp " + path_ + ": not connected; retrying");
            said = true;
            for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stop_.load();
                 waited += std::chrono::milliseconds(50))
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        } else {
            said = false;
            backoff = std::chrono::milliseconds(100);
        }
    }
}

bool Qmp::session(Injector& injector)
{
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (fd >= 0) ::close(fd);
        return false;
    }
    {
        std::lock_guard lock(fd_mu_);
        fd_ = fd;
    }
    std::string buf;
    bool ready = false;
    char chunk[4096];
    while (!stop_.load()) {
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 200) <= 0) continue;
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) break;
        buf.append(chunk, std::size_t(n));
        for (std::size_t nl; (nl = buf.find('\n')) != std::string::npos; buf.erase(0, nl + 1)) {
            const std::string line = buf.substr(0, nl);
            const QmpLine kind = classify(line);
            if (!ready && kind == QmpLine::greeting) {
                send_line(R"({"execute":"qmp_capabilities"})");
            } else if (!ready && kind == QmpLine::reply) {
                ready = true;
                count(counter::connections);
                log("qmp " + path_ + ": connected");
            } else if (kind == QmpLine::resume) {
                count(counter::resumes);
                Batch b;
                b.packets.push_back(checkpoint_command(injector.now_ns()));
                injector.inject(port::control, std::move(b));
            } else if (kind == QmpLine::error || kind == QmpLine::garbage) {
                count(counter::qmp_errors);
                log("qmp " + path_ + ": " + (kind == QmpLine::garbage ? "not a JSON object: " : "") +
                    line.substr(0, 200));
            }
        }
        if (buf.size() > kMaxLine) { // a monitor never sends this much without a newline
            count(counter::qmp_errors);
            log("qmp " + path_ + ": a line longer than " + std::to_string(kMaxLine) + " bytes; reconnecting");
            break;
        }
    }
    std::lock_guard lock(fd_mu_);
    ::close(fd);
    fd_ = -1;
    return ready || stop_.load();
}

bool Qmp::send_line(const std::string& json)
{
    std::lock_guard lock(fd_mu_);
    if (fd_ < 0) return false;
    const std::string line = json + "\n";
    return ::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) == ssize_t(line.size());
}

void Qmp::push(int, const Batch& batch, Emit&)
{
    for (const auto& p : batch.packets) {
        if (!is_checkpoint_request(p)) continue;
        const std::string cmd = R"({"execute":"migrate-set-parameters","arguments":{"x-checkpoint-delay":)" +
                                std::to_string(checkpoint_delay_ms_) + "}}";
        count(send_line(cmd) ? counter::requests_sent : counter::requests_failed);
    }
}

namespace {
NodeSpec spec()
{
    return {
        .type = "qmp",
        .summary = "KVM COLO checkpoints over QEMU's QMP: requests out, RESUME in",
        .description =
            "Connects to a QMP monitor socket of the primary QEMU (reconnecting while it is away). For every "
            "checkpoint_request event on `events` it sends migrate-set-parameters x-checkpoint-delay, which "
            "makes a running KVM COLO checkpoint at once; for every RESUME event QEMU emits (the primary VM "
            "resumes after each checkpoint) it emits {\"command\":\"checkpoint\"} on `control`, so a comparator "
            "flushes after the checkpoint, as QEMU's own colo-compare does.",
        .ports =
            {
                declare(port::events, "events; checkpoint_request ones ask QEMU for a checkpoint"),
                declare(port::control, "a checkpoint command after every RESUME"),
            },
        .properties =
            {
                declare(prop::path,
                        {.required = true, .doc = "QMP unix socket (QEMU -qmp unix:PATH,server=on,wait=off)"}),
                declare(
                    prop::checkpoint_delay,
                    {.default_value = "20000",
                     .min = 0,
                     .doc = "ms written to x-checkpoint-delay when asking for a checkpoint (QEMU's default period)"}),
            },
        .counters =
            {
                declare(counter::requests_sent, "checkpoint requests sent as migrate-set-parameters"),
                declare(counter::requests_failed, "checkpoint requests that could not be sent (QMP not connected)"),
                declare(counter::resumes, "RESUME events seen (each emits a checkpoint command)"),
                declare(counter::qmp_errors, "QMP error replies, lines that are not a JSON object, and lines over 1 "
                                             "MiB (which end the session)"),
                declare(counter::connections, "QMP sessions established"),
            },
        .factory = construct<Qmp>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
