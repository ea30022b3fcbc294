#include "nodes/event_log.hh"

#include "engine/registry.hh"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace colo {

EventLog::EventLog(const Properties& p) : file_(p.str("file"))
{
    out_ = file_ == "-" ? stdout : std::fopen(file_.c_str(), p.boolean("append") ? "a" : "w");
    if (!out_) throw std::runtime_error(file_ + ": " + std::strerror(errno));
}

EventLog::~EventLog() { finish(); }

void EventLog::push(int, const Batch& batch, Emit&)
{
    for (const auto& p : batch.packets) {
        std::fwrite(p.data(), 1, p.len, out_);
        std::fputc('\n', out_);
    }
    std::fflush(out_);
    count(0, batch.size());
}

void EventLog::finish()
{
    if (!out_) return;
    if (out_ == stdout) std::fflush(out_);
    else std::fclose(out_);
    out_ = nullptr;
}

COLO_REGISTER_NODE(event_log_spec());

} // namespace colo
