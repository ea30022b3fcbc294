// Statistics: what every node and port did, and the VPP `show runtime`-style
// table of --stats.
#include "engine/runtime.hh"
#include "engine/topology.hh"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace colo {

std::vector<NodeStats> engine::RunningGraph::stats() const
{
    std::vector<NodeStats> all;
    const double ns_per_tick = clock_rate.ns_per_tick();
    for (auto& r : runners) {
        NodeStats s;
        s.name = r->decl->name;
        s.type = r->decl->type;
        s.calls = r->calls.get();
        s.busy_ns = uint64_t(double(r->busy_ticks.get()) * ns_per_tick);
        for (const auto* p : r->decl->spec->ports_of(PortDir::in)) s.in.push_back(PortStats{p->name});
        for (const auto& in : r->inbound) {
            auto& ps = s.in[in->port];
            ps.packets += in->packets.get();
            ps.bytes += in->bytes.get();
            const uint64_t delivered = in->batches.get();
            ps.batches += delivered;
            // Read apart, the two may cross: a batch delivered since its send was read.
            const uint64_t sent = in->from->batches.get();
            s.queued += sent > delivered ? sent - delivered : 0;
        }
        for (const auto& op : r->out)
            s.out.push_back(
                PortStats{op->name, op->packets.get(), op->bytes.get(), op->batches.get(), op->unlinked.get()});
        const auto& specs = r->decl->spec->counters;
        for (std::size_t i = 0; i < specs.size(); ++i) s.counters.emplace_back(specs[i].name, r->node->counter(i));
        const auto& histograms = r->decl->spec->histograms;
        for (std::size_t i = 0; i < histograms.size(); ++i)
            s.histograms.emplace_back(histograms[i].name, r->node->histogram(i).snapshot());
        all.push_back(std::move(s));
    }
    return all;
}

std::string format_stats(const std::vector<NodeStats>& stats)
{
    std::ostringstream os;
    char line[256];
    std::snprintf(line, sizeof line, "%-18s %-16s %10s %12s %12s %10s %10s\n", "Node", "Type", "Calls", "Packets in",
                  "Packets out", "Pkts/Call", "ns/Packet");
    os << line;
    for (const auto& s : stats) {
        uint64_t in = 0, out = 0;
        for (const auto& p : s.in) in += p.packets;
        for (const auto& p : s.out) out += p.packets;
        const uint64_t work = std::max(in, out);
        std::snprintf(line, sizeof line, "%-18s %-16s %10llu %12llu %12llu %10.1f %10.1f\n", s.name.c_str(),
                      s.type.c_str(), (unsigned long long)s.calls, (unsigned long long)in, (unsigned long long)out,
                      s.calls ? double(work) / double(s.calls) : 0.0, work ? double(s.busy_ns) / double(work) : 0.0);
        os << line;
        for (const auto& p : s.out)
            if (p.unlinked_drops) os << "    " << p.name << ".unlinked_drops " << p.unlinked_drops << '\n';
        for (const auto& [name, v] : s.counters)
            if (v) os << "    " << name << " " << v << '\n';
    }
    return os.str();
}

} // namespace colo
