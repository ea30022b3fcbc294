// qmp: checkpoint signalling with KVM COLO over QEMU's QMP monitor
// (docs/deployment.md, KVM checkpoint signalling). KVM COLO has no chardev for checkpoints; from outside
// QEMU one can
//   * request one: setting the migration parameter x-checkpoint-delay while
//     COLO runs makes QEMU checkpoint at once;
//   * see one: each checkpoint stops the primary VM and resumes it (QMP
//     events STOP and RESUME); the flush belongs after the RESUME.
// So: checkpoint_request events on `events` become a migrate-set-parameters
// command, and every RESUME event leaves on `control` as a checkpoint command.
// When COLO ends on that QEMU (event COLO_EXIT) because it took over, a
// failover command leaves on `control` instead (the secondary's switches and
// rewriter, docs/deployment.md, "Primary dies: failover"); after COLO_EXIT a
// RESUME is a checkpoint only while COLO runs again (query-colo-status).
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
    void take(const std::string& line, bool& ready, Injector& injector);
    void colo_exit(const std::string& mode, const std::string& reason, Injector& injector);
    void failover(const std::string& why, Injector& injector);
    void emit(Packet command, Injector& injector);
    bool send_line(const std::string& json);
    void stop();

    std::string path_;
    int64_t checkpoint_delay_ms_;
    std::string failover_on_exit_;
    // The session thread's alone: COLO_EXIT seen (and COLO not running again
    // since), and a failover it waits for.
    bool colo_over_ = false;
    bool awaiting_takeover_ = false;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex fd_mu_;
    int fd_ = -1;
};

} // namespace colo
