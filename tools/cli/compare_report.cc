#include "tools/cli/compare_report.hh"

#include "nodes/proto/event_json.hh"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <utility>

namespace colo {

namespace {

constexpr std::size_t kRow = 16;
constexpr const char* kHexDigits = "0123456789abcdef";

std::string printf_string(const char* fmt, auto... args)
{
    char buf[512];
    std::snprintf(buf, sizeof buf, fmt, args...);
    return buf;
}

std::string seconds(uint64_t ns)
{
    return printf_string("%" PRIu64 ".%06" PRIu64, ns / 1'000'000'000, ns % 1'000'000'000 / 1000);
}

uint64_t since(uint64_t t_ns, uint64_t start_ns)
{
    return t_ns > start_ns ? t_ns - start_ns : 0;
}

std::string utc(uint64_t ns)
{
    const std::time_t t = std::time_t(ns / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return printf_string("%s.%06" PRIu64 " UTC", buf, ns % 1'000'000'000 / 1000);
}

const char* l4_header_name(uint8_t proto)
{
    switch (proto) {
    case 1: return "ICMP";
    case 17: return "UDP";
    case 58: return "ICMPv6";
    default: return nullptr;
    }
}

// ok: every primary was released by a match; unmatched: some primary (or a
// secondary with no primary at all) never found its twin.
const char* outcome(const ConnectionReport& c)
{
    if (c.first_divergence) return "diverged";
    if (c.matched_packets < c.primary_packets || (c.primary_packets == 0 && c.secondary_packets > 0))
        return "unmatched";
    return "ok";
}

// One side's row: offset, up to 16 hex bytes (blank past the side's end),
// and the printable characters.
std::string dump_row(const char* side, uint64_t offset, const uint8_t* bytes, std::size_t have)
{
    std::string line = printf_string("%-10s %10" PRIu64 ":", side, offset);
    std::string text;
    for (std::size_t i = 0; i < kRow; ++i) {
        if (i < have) {
            line += ' ';
            line += kHexDigits[bytes[i] >> 4];
            line += kHexDigits[bytes[i] & 15];
            text += bytes[i] >= 0x20 && bytes[i] < 0x7f ? char(bytes[i]) : '.';
        } else {
            line += "   ";
        }
    }
    return line + "  " + text;
}

std::string divergence_json(const Divergence& d, const FlowKey& key)
{
    JsonObject j;
    j.add("position", divergence_position(d, key)).add("offset", d.offset);
    if (d.tcp) j.add("seq", uint64_t(d.seq));
    return j.add("context_offset", d.offset - d.lead)
        .add("primary", hex_string(d.primary.data(), d.primary_len))
        .add("secondary", hex_string(d.secondary.data(), d.secondary_len))
        .str();
}

std::string settings_text(const ComparisonResult& r)
{
    const CompareConfig& c = r.config;
    std::string s =
        printf_string("compare_timeout %u ms, expired_scan_cycle %u ms, max_queue_size %u, "
                      "checkpoint delay %" PRIu64 " ms",
                      c.compare_timeout_ms, c.expired_scan_cycle_ms, c.max_queue_size, r.checkpoint_delay_ms);
    if (!c.ipv6) s += ", IPv6 not compared";
    if (!c.vlan) s += ", VLAN frames not compared";
    for (const auto& rule : c.bypass) s += ", bypass '" + rule.text() + "'";
    return s;
}

void append_connections(std::string& out, const ComparisonResult& r)
{
    out += printf_string("Connections: %zu, in first-seen order", r.connections.size());
    if (r.counters.connections_created > r.connections.size())
        out += printf_string(" (%" PRIu64 " older expired ones not kept)",
                             r.counters.connections_created - r.connections.size());
    out += "\n";
    if (r.connections.empty()) return;
    out += "    pri pkts   pri bytes   sec pkts   sec bytes  matched pkts  matched bytes  result     flow\n";
    for (const auto& c : r.connections)
        out += printf_string("  %10" PRIu64 "  %10" PRIu64 " %10" PRIu64 "  %10" PRIu64 "    %10" PRIu64
                             "     %10" PRIu64 "  %-9s  %s\n",
                             c.primary_packets, c.primary_bytes, c.secondary_packets, c.secondary_bytes,
                             c.matched_packets, c.matched_bytes, outcome(c), c.key.to_string().c_str());
}

// Every primary still queued when the input ended, and why; runs of
// consecutive primaries held for the same reason share a line.
void append_held(std::string& out, const ComparisonResult& r)
{
    std::size_t n = 0;
    for (const auto& c : r.connections) n += c.held.size();
    out += printf_string("Held at the end of the input (released by the final flush): %zu\n", n);
    for (const auto& c : r.connections) {
        if (c.held.empty()) continue;
        out += printf_string("  %s: %zu\n", c.key.to_string().c_str(), c.held.size());
        const bool tcp = c.key.proto == 6;
        for (std::size_t i = 0; i < c.held.size();) {
            std::size_t j = i + 1;
            while (j < c.held.size() && c.held[j].reason == c.held[i].reason) ++j;
            const HeldPrimary& first = c.held[i];
            const HeldPrimary& last = c.held[j - 1];
            std::string what = printf_string("%zu packet%s", j - i, j - i == 1 ? "" : "s");
            if (tcp) what += printf_string(", seq %u..%u", first.seq, uint32_t(last.seq + last.length));
            out += printf_string("    %-34s since %s: %s\n", what.c_str(),
                                 seconds(since(first.queued_ns, r.start_ns)).c_str(), describe(first.reason));
            i = j;
        }
    }
}

void append_divergences(std::string& out, const ComparisonResult& r)
{
    std::size_t n = 0;
    for (const auto& c : r.connections) n += c.first_divergence.has_value();
    out += printf_string("First divergence per connection: %zu\n", n);
    for (const auto& c : r.connections) {
        if (!c.first_divergence) continue;
        out += "  " + c.key.to_string() + ": " + divergence_position(*c.first_divergence, c.key) + "\n";
        for (const auto& line : divergence_dump(*c.first_divergence)) out += "    " + line + "\n";
    }
}

void append_requests(std::string& out, const ComparisonResult& r)
{
    out += printf_string("Checkpoint requests: %zu", r.requests.size());
    if (r.counters.requests_repeated)
        out += printf_string(", %" PRIu64 " of them repeated after compare_timeout without a checkpoint",
                             r.counters.requests_repeated);
    if (r.counters.requests_suppressed)
        out += printf_string(" (and %" PRIu64 " while one was pending, not sent)", r.counters.requests_suppressed);
    out += "\n";
    if (r.requests.empty()) return;
    out += "          time  reason      side       flow\n";
    for (const auto& q : r.requests) {
        out += printf_string("  %12s  %-10s  %-9s  %s", seconds(since(q.time_ns, r.start_ns)).c_str(),
                             to_string(q.reason), to_string(q.side), q.flow.to_string().c_str());
        if (q.divergence) out += ", " + divergence_position(*q.divergence, q.flow);
        out += "\n";
    }
}

// "50: 25 released by a match, 25 by a flush": the parts that are not zero.
std::string breakdown(uint64_t total, std::initializer_list<std::pair<uint64_t, const char*>> parts)
{
    std::string s = std::to_string(total);
    const char* sep = ": ";
    for (const auto& [n, what] : parts) {
        if (!n) continue;
        s += sep + std::to_string(n) + " " + what;
        sep = ", ";
    }
    return s;
}

void append_totals(std::string& out, const ComparisonResult& r)
{
    const CompareCounters& c = r.counters;
    out += "Totals:\n";
    out += "  primary packets     " +
           breakdown(c.primary_packets_in,
                     {{c.released_matched, "released by a match"},
                      {c.released_retransmit, "of them retransmissions of verified data"},
                      {c.released_flush, "released by a flush (checkpoint or end of input)"},
                      {c.released_unsupported, "released uncompared (not IP, or IPv6/VLAN comparison off)"},
                      {c.released_bypass, "released by a bypass rule"},
                      {c.evict_flushed, "released to evict their connection"},
                      {c.released_passthrough, "passed through after failover"},
                      {c.primary_lost_queue_full, "LOST to a full queue"}}) +
           "\n";
    out += "  secondary packets   " +
           breakdown(c.secondary_packets_in,
                     {{c.secondary_matched, "used by a match"},
                      {c.secondary_dropped_flush, "dropped by a flush"},
                      {c.secondary_dropped_unsupported, "dropped uncompared (not IP, or IPv6/VLAN comparison off)"},
                      {c.secondary_dropped_bypass, "dropped by a bypass rule"},
                      {c.secondary_dropped_evicted, "dropped to evict their connection"},
                      {c.secondary_dropped_passthrough, "dropped after failover"},
                      {c.secondary_dropped_queue_full, "dropped at a full queue"}}) +
           "\n";
    out += printf_string("  bytes matched       %" PRIu64 "\n", c.bytes_matched);
    out += printf_string("  mismatches          %" PRIu64 " (compare passes), timeouts %" PRIu64
                         ", ACK-gate holds %" PRIu64 "\n",
                         c.mismatches, c.timeouts, c.ack_gate_holds);
    out += printf_string("  checkpoints         %" PRIu64 " requested, %" PRIu64 " done\n", c.checkpoint_requests,
                         c.checkpoints_done);
    out += printf_string("  connections         %" PRIu64 " (%" PRIu64 " expired, %" PRIu64 " evicted)\n",
                         c.connections_created, c.connections_expired, c.connections_evicted);
}

} // namespace

std::string divergence_position(const Divergence& d, const FlowKey& key)
{
    if (d.tcp) return printf_string("stream offset %" PRIu64 " (seq %u)", d.offset, d.seq);
    if (const char* header = l4_header_name(key.proto))
        return printf_string("byte %" PRIu64 " from the %s header", d.offset, header);
    return printf_string("byte %" PRIu64 " of the frame", d.offset);
}

std::vector<std::string> divergence_dump(const Divergence& d)
{
    std::vector<std::string> lines;
    const uint64_t start = d.offset - d.lead;
    const std::size_t longest = std::max(d.primary_len, d.secondary_len);
    for (std::size_t row = 0; row < longest; row += kRow) {
        const auto have = [&](std::size_t len) { return len > row ? std::min(kRow, len - row) : std::size_t(0); };
        lines.push_back(dump_row("primary", start + row, d.primary.data() + row, have(d.primary_len)));
        lines.push_back(dump_row("secondary", start + row, d.secondary.data() + row, have(d.secondary_len)));
        if (d.lead >= row && d.lead < row + kRow) {
            // Columns: 22 for side and offset, 3 per hex byte, 2 spaces, then the text.
            const std::size_t i = d.lead - row;
            std::string marker(22 + 3 * i + 1, ' ');
            marker += "^^";
            marker.resize(22 + 3 * kRow + 2 + i, ' ');
            lines.push_back(marker + "^");
        }
    }
    return lines;
}

std::string text_report(const ComparisonResult& r)
{
    std::string out;
    out += "Primary:   " + r.primary_file + "\n";
    out += "Secondary: " + r.secondary_file + "\n";
    out += "Settings:  " + settings_text(r) + "\n";
    out += "Times are seconds since the first packet, " + utc(r.start_ns) + ".\n\n";
    append_connections(out, r);
    out += "\n";
    append_held(out, r);
    out += "\n";
    append_divergences(out, r);
    out += "\n";
    append_requests(out, r);
    out += "\n";
    append_totals(out, r);
    return out;
}

std::string json_report(const ComparisonResult& r)
{
    const CompareConfig& c = r.config;
    std::string bypass = "[";
    for (const auto& rule : c.bypass) {
        if (bypass.size() > 1) bypass += ',';
        bypass += '"';
        bypass += json_escape(rule.text());
        bypass += '"';
    }
    bypass += ']';
    const std::string settings = JsonObject()
                                     .add("compare_timeout", uint64_t(c.compare_timeout_ms))
                                     .add("expired_scan_cycle", uint64_t(c.expired_scan_cycle_ms))
                                     .add("max_queue_size", uint64_t(c.max_queue_size))
                                     .add("idle_timeout", uint64_t(c.idle_timeout_ms))
                                     .add("max_connections", uint64_t(c.max_connections))
                                     .add("ipv6", c.ipv6)
                                     .add("vlan", c.vlan)
                                     .add_raw("bypass", bypass)
                                     .add("checkpoint_delay", r.checkpoint_delay_ms)
                                     .str();

    std::string out = "{\n";
    out += "\"primary\": \"" + json_escape(r.primary_file) + "\",\n";
    out += "\"secondary\": \"" + json_escape(r.secondary_file) + "\",\n";
    out += "\"settings\": " + settings + ",\n";
    out += "\"start\": " + seconds(r.start_ns) + ",\n";
    out += "\"connections\": [";
    for (std::size_t i = 0; i < r.connections.size(); ++i) {
        const ConnectionReport& k = r.connections[i];
        JsonObject j;
        j.add("flow", k.key.to_string())
            .add("active", k.active)
            .add("primary_packets", k.primary_packets)
            .add("primary_bytes", k.primary_bytes)
            .add("secondary_packets", k.secondary_packets)
            .add("secondary_bytes", k.secondary_bytes)
            .add("matched_packets", k.matched_packets)
            .add("matched_bytes", k.matched_bytes)
            .add("result", outcome(k));
        if (k.first_divergence) j.add_raw("first_divergence", divergence_json(*k.first_divergence, k.key));
        std::string held = "[";
        for (const HeldPrimary& h : k.held) {
            JsonObject e;
            if (k.key.proto == 6) e.add("seq", uint64_t(h.seq));
            e.add("length", uint64_t(h.length))
                .add_time("elapsed", since(h.queued_ns, r.start_ns))
                .add("reason", to_string(h.reason));
            if (held.size() > 1) held += ',';
            held += e.str();
        }
        j.add_raw("held", held + "]");
        out += (i ? ",\n" : "\n") + j.str();
    }
    out += "\n],\n\"checkpoint_requests\": [";
    for (std::size_t i = 0; i < r.requests.size(); ++i) {
        const CheckpointRequest& q = r.requests[i];
        JsonObject j;
        j.add_time("time", q.time_ns)
            .add_time("elapsed", since(q.time_ns, r.start_ns))
            .add("reason", to_string(q.reason))
            .add("side", to_string(q.side))
            .add("flow", q.flow.to_string());
        if (q.divergence) j.add_raw("divergence", divergence_json(*q.divergence, q.flow));
        out += (i ? ",\n" : "\n") + j.str();
    }
    JsonObject totals;
    for (const auto& info : compare_counter_info())
        if (!info.gauge) totals.add(info.name, r.counters.*(info.field));
    out += "\n],\n\"totals\": " + totals.str() + "\n}\n";
    return out;
}

} // namespace colo
