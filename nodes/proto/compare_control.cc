// Comparator operator control: bypass rules added and removed at run time,
// resuming comparison after pass-through, settings changed while running
// (compare.hh; docs/comparator.md, "Operator control").
#include "nodes/proto/compare.hh"

#include <algorithm>
#include <stdexcept>

namespace colo {

void Comparator::forget_state(CompareConnection& conn)
{
    // What was learned of the stream (verified point, ACKs, ISNs) no longer
    // holds once the comparator has missed packets: start over, as for a
    // connection first seen mid-stream. Datagrams keep no state but queues.
    conn.tcp = TcpStreamCompare{};
}

bool Comparator::add_bypass(BypassRule rule, CompareOutput& out)
{
    if (std::find(config_.bypass.begin(), config_.bypass.end(), rule) != config_.bypass.end()) return false;
    for (uint32_t id = table_.oldest(); id != ConnectionTable::npos; id = table_.next_by_age(id)) {
        CompareConnection& conn = table_[id];
        if (!rule.matches(conn.key)) continue;
        flush(conn, out, counters_.released_bypass, counters_.secondary_dropped_bypass);
        forget_state(conn);
        settle_all_ = true; // emptied here, it may have gone idle long ago
    }
    config_.bypass.push_back(std::move(rule));
    return true;
}

bool Comparator::remove_bypass(const BypassRule& rule, CompareOutput& out)
{
    const auto it = std::find(config_.bypass.begin(), config_.bypass.end(), rule);
    if (it == config_.bypass.end()) return false;
    // No connection needs forgetting here: those the rule covered were
    // flushed and forgotten by add_bypass() (or never created: a rule from
    // the configuration), and ingress queues nothing for a bypassed flow.
    config_.bypass.erase(it);
    return true;
}

bool Comparator::remove_bypass(std::string_view text, CompareOutput& out)
{
    return remove_bypass(BypassRule::parse(text), out);
}

std::vector<std::string> Comparator::bypass_rules() const
{
    std::vector<std::string> texts;
    texts.reserve(config_.bypass.size());
    for (const BypassRule& rule : config_.bypass) texts.push_back(rule.text());
    return texts;
}

bool Comparator::resume(CompareOutput& out)
{
    if (!passthrough_) return false;
    // Queues are empty: failover() and shutdown() flushed them, and
    // pass-through queues nothing.
    for (uint32_t id = table_.oldest(); id != ConnectionTable::npos; id = table_.next_by_age(id))
        forget_state(table_[id]);
    passthrough_ = false;
    pending_ = false;
    settle_all_ = true;
    return true;
}

void Comparator::set_setting(std::string_view name, int64_t value, CompareOutput& out)
{
    const auto setting = std::find_if(kCompareSettings.begin(), kCompareSettings.end(),
                                      [&](const CompareSetting& s) { return name == s.name; });
    if (setting == kCompareSettings.end()) {
        std::string names;
        for (const CompareSetting& s : kCompareSettings) names += (names.empty() ? "" : ", ") + std::string(s.name);
        throw std::invalid_argument("'" + std::string(name) + "' is not a setting that can change at run time (" +
                                    names + ")");
    }
    if (value < 1 || value > int64_t(setting->max))
        throw std::invalid_argument("'" + std::string(name) + "': " + std::to_string(value) + " is out of range [1, " +
                                    std::to_string(setting->max) + "]");
    config_.*setting->field = uint32_t(value);
    if (setting->field == &CompareConfig::expired_scan_cycle_ms) {
        // Due one new cycle after the last scan; before the first scan it
        // is due at the first tick anyway.
        if (next_scan_ns_ != 0) next_scan_ns_ = last_scan_ns_ + uint64_t(value) * 1'000'000;
        // A shorter cycle narrows the window in which scan() looks for
        // connections that went idle since the last scan: look at all once.
        settle_all_ = true;
    }
}

} // namespace colo
