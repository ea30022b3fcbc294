// qmp: checkpoint signalling with KVM COLO over QEMU's QMP monitor
// (reference §8.4). KVM COLO has no chardev for checkpoints; from outside
// QEMU one can
//   * request one: setting the migration parameter x-checkpoint-delay while
//     COLO runs makes QEMU checkpoint at once;
//   * see one: each checkpoint stops the primary VM and resumes it (QMP
//     events STOP and RESUME); the flush belongs after the RESUME.
// So: checkpoint_request events on `events` become a migrate-set-parameters
// command, and every RESUME event leaves on `control` as a checkpoint command.
#pragma once

#include "engine/node.hh"

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

namespace colo {

class Qmp : public Node {
public:
    explicit Qmp(const Properties& p);
    ~Qmp() override;
    SourceKind source_kind() const override { return SourceKind::live; }
    void start(Injector& injector) override;
    void push(int in_port, const Batch& batch, Emit& out) override;
    void drain(Emit& out) override { stop(); }
    void finish() override { stop(); }

private:
    void run(Injector& injector);
    bool session(Injector& injector);   // one connection; false when stopping
    bool send_line(const std::string& json);
    void stop();

    std::string path_;
    int64_t checkpoint_delay_ms_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex fd_mu_;
    int fd_ = -1;
};

inline NodeSpec qmp_spec()
{
    return {
        "qmp",
        "KVM COLO checkpoints over QEMU's QMP: requests out, RESUME in",
        "Connects to a QMP monitor socket of the primary QEMU (reconnecting while it is away). For every "
        "checkpoint_request event on `events` it sends migrate-set-parameters x-checkpoint-delay, which "
        "makes a running KVM COLO checkpoint at once; for every RESUME event QEMU emits (the primary VM "
        "resumes after each checkpoint) it emits {\"command\":\"checkpoint\"} on `control`, so a comparator "
        "flushes after the checkpoint, as QEMU's own colo-compare does.",
        {
            {"events", PortDir::in, "events; checkpoint_request ones ask QEMU for a checkpoint"},
            {"control", PortDir::out, "a checkpoint command after every RESUME"},
        },
        {
            {"path", PropType::string, "", true, INT64_MIN, INT64_MAX, {}, "QMP unix socket (QEMU -qmp unix:PATH,server=on,wait=off)"},
            {"checkpoint_delay", PropType::integer, "20000", false, 0, INT64_MAX, {},
             "ms written to x-checkpoint-delay when asking for a checkpoint (QEMU's default period)"},
        },
        {
            {"requests_sent", "checkpoint requests sent as migrate-set-parameters"},
            {"requests_failed", "checkpoint requests that could not be sent (QMP not connected)"},
            {"resumes", "RESUME events seen (each emits a checkpoint command)"},
            {"qmp_errors", "QMP replies carrying an error"},
            {"connections", "QMP sessions established"},
        },
        [](const Properties& p) -> std::unique_ptr<Node> { return std::make_unique<Qmp>(p); },
    };
}

} // namespace colo
