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
constexpr EnumProperty failover_on_exit{"failover_on_exit"};
} // namespace prop
namespace counter {
constexpr CounterId requests_sent{0, "requests_sent"}, requests_failed{1, "requests_failed"}, resumes{2, "resumes"},
    qmp_errors{3, "qmp_errors"}, connections{4, "connections"}, colo_exits{5, "colo_exits"}, failovers{6, "failovers"},
    resumes_ignored{7, "resumes_ignored"};
} // namespace counter

// What one line from the monitor is. QMP sends one JSON object per line; only
// its top-level members count (an event's data may hold any key or string).
constexpr std::size_t kMaxLine = 1 << 20;
// The ids the node gives its query-colo-status commands, to know their
// replies: asked while waiting for a takeover, and for a RESUME after COLO_EXIT.
constexpr const char* kTakeoverQueryId = "colo-graph:takeover";
constexpr const char* kResumeQueryId = "colo-graph:resume";
constexpr auto kTakeoverQueryPeriod = std::chrono::milliseconds(500);

std::string colo_status_query(const char* id)
{
    return std::string(R"({"execute":"query-colo-status","id":")") + id + "\"}";
}

enum class QmpLine { greeting, reply, resume, colo_exit, error, other, garbage };

struct QmpMessage {
    QmpLine kind = QmpLine::garbage;
    std::string id;           // a reply's or error's "id", when the command had one
    std::string mode, reason; // COLO_EXIT's data, or a query-colo-status reply's return
};

std::string string_member(const nlohmann::json& j, const char* key)
{
    if (!j.is_object()) return {};
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

QmpMessage classify(const std::string& line)
{
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return {};
    QmpMessage m;
    m.kind = QmpLine::other;
    m.id = string_member(j, "id");
    const auto colo_fields = [&m](const nlohmann::json& data) {
        m.mode = string_member(data, "mode");
        m.reason = string_member(data, "reason");
    };
    if (j.contains("QMP")) {
        m.kind = QmpLine::greeting;
    } else if (const auto ret = j.find("return"); ret != j.end()) {
        m.kind = QmpLine::reply;
        colo_fields(*ret);
    } else if (j.contains("error")) {
        m.kind = QmpLine::error;
    } else if (const std::string event = string_member(j, "event"); event == "RESUME") {
        m.kind = QmpLine::resume;
    } else if (event == "COLO_EXIT") {
        m.kind = QmpLine::colo_exit;
        if (const auto data = j.find("data"); data != j.end()) colo_fields(*data);
    }
    return m;
}

} // namespace

Qmp::Qmp(const Properties& p)
    : path_(p.get(prop::path)),
      checkpoint_delay_ms_(p.get(prop::checkpoint_delay)),
      failover_on_exit_(p.get(prop::failover_on_exit))
{}

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
    auto next_query = std::chrono::steady_clock::now();
    while (!stop_.load()) {
        if (ready && awaiting_takeover_ && std::chrono::steady_clock::now() >= next_query) {
            send_line(colo_status_query(kTakeoverQueryId));
            next_query = std::chrono::steady_clock::now() + kTakeoverQueryPeriod;
        }
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 200) <= 0) continue;
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) break;
        buf.append(chunk, std::size_t(n));
        for (std::size_t nl; (nl = buf.find('\n')) != std::string::npos; buf.erase(0, nl + 1))
            take(buf.substr(0, nl), ready, injector);
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

void Qmp::take(const std::string& line, bool& ready, Injector& injector)
{
    const QmpMessage m = classify(line);
    const bool takeover_reply = m.id == kTakeoverQueryId, resume_reply = m.id == kResumeQueryId;
    if (!ready && m.kind == QmpLine::greeting) {
        send_line(R"({"execute":"qmp_capabilities"})");
    } else if (!ready && m.kind == QmpLine::reply) {
        ready = true;
        count(counter::connections);
        log("qmp " + path_ + ": connected");
    } else if (m.kind == QmpLine::resume && colo_over_) {
        // After COLO_EXIT a RESUME is a stop/cont of a VM running alone, or
        // the one QEMU emits as the survivor starts: resetting the rewriter
        // then would break every connection it still translates. Unless COLO
        // runs again (a new peer joined): the reply decides.
        if (!send_line(colo_status_query(kResumeQueryId))) count(counter::resumes_ignored);
    } else if (m.kind == QmpLine::resume ||
               (resume_reply && m.kind == QmpLine::reply && (m.mode == "primary" || m.mode == "secondary"))) {
        colo_over_ = false;
        count(counter::resumes);
        emit(checkpoint_command(injector.now_ns()), injector);
    } else if (resume_reply) {
        count(counter::resumes_ignored);
        if (m.kind == QmpLine::error) log("qmp " + path_ + ": query-colo-status: " + line.substr(0, 200));
    } else if (m.kind == QmpLine::colo_exit) {
        colo_exit(m.mode, m.reason, injector);
    } else if (m.kind == QmpLine::reply && takeover_reply && awaiting_takeover_ && m.reason == "request") {
        // The failover QEMU was waiting for has completed (x-colo-lost-heartbeat).
        awaiting_takeover_ = false;
        failover("query-colo-status reports the failover done", injector);
    } else if (m.kind == QmpLine::error || m.kind == QmpLine::garbage) {
        count(counter::qmp_errors);
        log("qmp " + path_ + ": " + (m.kind == QmpLine::garbage ? "not a JSON object: " : "") + line.substr(0, 200));
        if (takeover_reply && awaiting_takeover_) {
            awaiting_takeover_ = false;
            log("qmp " + path_ +
                ": cannot follow the failover; send colo-graph ctl failover with x-colo-lost-heartbeat");
        }
    }
}

// QEMU's colo_process_incoming_thread() (secondary) and colo_process_checkpoint()
// (primary) emit COLO_EXIT as they leave COLO: reason "request" when a failover
// completed (this QEMU now runs alone), "error" when the stream to the peer
// broke. After an error QEMU waits for a decision (x-colo-lost-heartbeat) and
// says nothing more when it comes, so the node asks query-colo-status until it
// reports the failover: taking over on the error itself could leave two guests
// serving the client if the peer still lives.
void Qmp::colo_exit(const std::string& mode, const std::string& reason, Injector& injector)
{
    count(counter::colo_exits);
    colo_over_ = true;
    const std::string what = "COLO_EXIT (mode " + mode + ", reason " + reason + ")";
    const bool follows = failover_on_exit_ == "any" || (failover_on_exit_ == "secondary" && mode == "secondary");
    if (!follows) {
        log("qmp " + path_ + ": " + what + "; no failover command (failover_on_exit: " + failover_on_exit_ + ")");
    } else if (reason == "request") {
        failover(what, injector);
    } else {
        awaiting_takeover_ = true;
        log("qmp " + path_ + ": " + what + "; waiting for the failover (x-colo-lost-heartbeat) before taking over");
    }
}

void Qmp::failover(const std::string& why, Injector& injector)
{
    count(counter::failovers);
    log("qmp " + path_ + ": " + why + ": failover");
    emit(command_message("failover", injector.now_ns()), injector);
}

void Qmp::emit(Packet command, Injector& injector)
{
    Batch b;
    b.packets.push_back(std::move(command));
    injector.inject(port::control, std::move(b));
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
        .summary = "KVM COLO over QEMU's QMP: checkpoint requests out, RESUME and COLO_EXIT in",
        .description =
            "Connects to a QMP monitor socket of a COLO QEMU (reconnecting while it is away). For every "
            "checkpoint_request event on `events` it sends migrate-set-parameters x-checkpoint-delay, which "
            "makes a running KVM COLO checkpoint at once; for every RESUME event QEMU emits (the VM resumes "
            "after each checkpoint) it emits {\"command\":\"checkpoint\"} on `control`, so a comparator "
            "flushes after the checkpoint, as QEMU's own colo-compare does, and a rewriter resets its offsets. "
            "When COLO ends on that QEMU (COLO_EXIT) it emits {\"command\":\"failover\"} instead, once QEMU "
            "has taken over: at once for reason \"request\"; for reason \"error\" (the peer is gone, QEMU "
            "waits for x-colo-lost-heartbeat) when query-colo-status, asked every 500 ms, reports the "
            "failover done. Which COLO_EXIT events count is `failover_on_exit`. After a COLO_EXIT, a RESUME "
            "is a checkpoint only if query-colo-status says COLO runs again (a new peer joined).",
        .ports =
            {
                declare(port::events, "events; checkpoint_request ones ask QEMU for a checkpoint"),
                declare(port::control, "a checkpoint command after every RESUME; a failover command when QEMU "
                                       "took over"),
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
                declare(prop::failover_on_exit,
                        {.default_value = "secondary",
                         .choices = {"secondary", "any", "off"},
                         .doc = "which COLO_EXIT events lead to a failover command: a secondary QEMU's (it took "
                                "over), any (a primary's too: its comparator then passes through), or none"}),
            },
        .counters =
            {
                declare(counter::requests_sent, "checkpoint requests sent as migrate-set-parameters"),
                declare(counter::requests_failed, "checkpoint requests that could not be sent (QMP not connected)"),
                declare(counter::resumes, "RESUME events while COLO runs (each emits a checkpoint command)"),
                declare(counter::qmp_errors, "QMP error replies, lines that are not a JSON object, and lines over 1 "
                                             "MiB (which end the session)"),
                declare(counter::connections, "QMP sessions established"),
                declare(counter::colo_exits, "COLO_EXIT events seen"),
                declare(counter::failovers, "failover commands emitted"),
                declare(counter::resumes_ignored,
                        "RESUME events after a COLO_EXIT while COLO did not run (no command)"),
            },
        .factory = construct<Qmp>,
    };
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
