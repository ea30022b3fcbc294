// qmp: checkpoint signalling with KVM COLO over QEMU's QMP monitor
// (docs/deployment.md, KVM checkpoint signalling). KVM COLO has no chardev for checkpoints; from outside
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
    void push(int in_port, const Batch& batch, Emit& out) override;
    void drain(Emit& out) override { stop(); }
    void finish() override { stop(); }

protected:
    void on_start(Injector& injector) override;

private:
    void run(Injector& injector);
    bool session(Injector& injector); // one connection; false when stopping
    bool send_line(const std::string& json);
    void stop();

    std::string path_;
    int64_t checkpoint_delay_ms_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex fd_mu_;
    int fd_ = -1;
};

} // namespace colo
