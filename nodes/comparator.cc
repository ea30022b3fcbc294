#include "nodes/comparator.hh"

#include "engine/registry.hh"
#include "nodes/control_message.hh"

#include <nlohmann/json.hpp>

#include <iterator>
#include <stdexcept>

namespace colo {

namespace {

namespace port {
constexpr InPortId primary{0, "primary"}, secondary{1, "secondary"}, control{2, "control"},
    secondary_status{3, "secondary_status"};
constexpr OutPortId out{0, "out"}, events{1, "events"};
} // namespace port
namespace prop {
constexpr IntProperty compare_timeout{"compare_timeout"}, expired_scan_cycle{"expired_scan_cycle"},
    max_queue_size{"max_queue_size"}, idle_timeout{"idle_timeout"}, max_connections{"max_connections"};
constexpr BoolProperty vnet_hdr_support{"vnet_hdr_support"}, ipv6{"ipv6"}, vlan{"vlan"};
constexpr EnumProperty resume_after{"resume_after"};
constexpr ListProperty bypass{"bypass"};
} // namespace prop
namespace counter {
constexpr CounterRange compare{0, kCompareCounterTable.size()};
constexpr CounterRange control{compare.end(), ControlPort::kCounterCount};
constexpr CounterRange requests_by_reason{control.end(), 3}; // CheckpointReason order
constexpr CounterId secondary_lost{requests_by_reason.end(), "secondary_lost"},
    degraded{requests_by_reason.end() + 1, "degraded"};
} // namespace counter
namespace histogram {
constexpr HistogramId hold_seconds{0, "hold_seconds"}, checkpoint_seconds{1, "checkpoint_seconds"};
}
namespace handler {
constexpr HandlerId checkpoint{0, "checkpoint"}, failover{1, "failover"}, resume{2, "resume"},
    bypass_add{3, "bypass_add"}, bypass_del{4, "bypass_del"}, bypass_list{5, "bypass_list"};
}
} // namespace

CompareConfig ComparatorNode::config_from(const Properties& p)
{
    CompareConfig c;
    c.compare_timeout_ms = uint32_t(p.get(prop::compare_timeout));
    c.expired_scan_cycle_ms = uint32_t(p.get(prop::expired_scan_cycle));
    c.max_queue_size = uint32_t(p.get(prop::max_queue_size));
    c.idle_timeout_ms = uint32_t(p.get(prop::idle_timeout));
    c.max_connections = uint32_t(p.get(prop::max_connections));
    c.ipv6 = p.get(prop::ipv6);
    c.vlan = p.get(prop::vlan);
    for (const auto& rule : p.get(prop::bypass)) {
        try {
            c.bypass.push_back(BypassRule::parse(rule));
        } catch (const std::exception& e) {
            throw std::runtime_error("bypass rule '" + rule + "': " + e.what());
        }
    }
    return c;
}

ComparatorNode::ComparatorNode(const Properties& p)
    : core_(config_from(p)),
      control_(*this, counter::control, p.get(prop::vnet_hdr_support),
               {Command::checkpoint, Command::failover, Command::resume}),
      resume_on_checkpoint_(p.get(prop::resume_after) == "checkpoint")
{}

void ComparatorNode::push(int in_port, const Batch& batch, Emit& out)
{
    result_.released.reserve(batch.size()); // emit() hands the vector on, capacity included
    if (in_port == port::primary || in_port == port::secondary) {
        for (const auto& p : batch.packets) control_.check_vnet(p);
        // The whole batch at once, so that the core can look ahead; each
        // packet's releases are timed at its arrival, as one by one. A batch
        // this node alone holds gives its packets up rather than sharing
        // them: two reference counts fewer a packet.
        const CompareSide side = in_port == port::primary ? CompareSide::primary : CompareSide::secondary;
        auto timed = [this](const Packet& p) { timed_release(p.ts_ns); };
        if (Batch* own = out.editable_input())
            core_.arrive_batch(side, std::span<Packet>(own->packets), result_, timed);
        else core_.arrive_batch(side, std::span<const Packet>(batch.packets), result_, timed);
    } else {
        for (const auto& p : batch.packets) {
            if (in_port == port::control) apply(control_.command(p), p.ts_ns, out);
            else if (const auto status = parse_peer_status(p)) secondary_status(*status, p.ts_ns, out);
            timed_release(p.ts_ns);
        }
    }
    emit(out);
}

// Returns what it did, as JSON, for an operator's request.
std::string ComparatorNode::apply(Command cmd, uint64_t now, Emit& out)
{
    if (cmd == Command::checkpoint) {
        const uint64_t before = core_.counters().released_flush,
                       dropped_before = core_.counters().secondary_dropped_flush;
        core_.checkpoint_done(result_);
        if (request_since_) record(histogram::checkpoint_seconds, now > *request_since_ ? now - *request_since_ : 0);
        request_since_.reset();
        const uint64_t released = core_.counters().released_flush - before,
                       dropped = core_.counters().secondary_dropped_flush - dropped_before;
        out.send(port::events, checkpoint_done_event(now, released, dropped));
        // The first checkpoint after the secondary came back re-synchronised it.
        if (mode_ == Mode::degraded && secondary_back_ && resume_on_checkpoint_) apply(Command::resume, now, out);
        return nlohmann::json{{"released", released}, {"secondary_dropped", dropped}}.dump();
    }
    if (cmd == Command::failover) {
        core_.failover(result_);
        request_since_.reset();
        set_mode(Mode::failed_over);
        out.send(port::events, failover_event(now));
        return R"({"comparing":false})";
    }
    if (cmd == Command::resume) {
        if (!core_.resume(result_)) return R"("already comparing")";
        set_mode(Mode::comparing);
        log("comparing again");
        out.send(port::events, resume_event(now));
        return R"({"comparing":true})";
    }
    return "null";
}

// Degraded mode: without its secondary the comparator would hold every
// primary for compare_timeout; it passes them through instead, until the
// secondary is back and re-synchronised (resume_after).
void ComparatorNode::secondary_status(const PeerStatus& status, uint64_t now, Emit& out)
{
    if (!status.up && mode_ == Mode::comparing) {
        const uint64_t queued = core_.counters().queued_primary;
        core_.failover(result_);
        request_since_.reset();
        set_mode(Mode::degraded);
        secondary_back_ = false;
        count(counter::secondary_lost);
        log("secondary lost (" + status.reason + "): released " + std::to_string(queued) +
            " queued primaries; passing primaries through until it is back and re-synchronised");
        out.send(port::events, secondary_lost_event(now, status.reason));
    } else if (status.up && mode_ == Mode::degraded && !secondary_back_) {
        secondary_back_ = true;
        log(resume_on_checkpoint_ ? "secondary back: comparing again after the next checkpoint"
                                  : "secondary back: comparing again on resume");
        out.send(port::events, secondary_back_event(now));
    }
}

void ComparatorNode::set_mode(Mode m)
{
    mode_ = m;
    set_counter(counter::degraded, m == Mode::degraded);
}

void ComparatorNode::tick(uint64_t now_ns, Emit& out)
{
    core_.tick(now_ns, result_);
    timed_release(now_ns);
    emit(out);
}

void ComparatorNode::drain(Emit& out)
{
    if (end_observer_) end_observer_(core_);
    core_.shutdown(result_);
    timed_release(now_ns());
    emit(out);
}

// Primaries released since the last call leave at `now`: their hold times.
void ComparatorNode::timed_release(uint64_t now)
{
    for (std::size_t i = timed_; i < result_.released.size(); ++i) {
        const uint64_t arrived = result_.released[i].ts_ns;
        record(histogram::hold_seconds, now > arrived ? now - arrived : 0);
    }
    timed_ = result_.released.size();
}

std::string ComparatorNode::handle(int handler, const std::string& arg, Emit& out)
{
    const uint64_t now = now_ns();
    std::string result;
    if (handler == handler::checkpoint.index) result = apply(Command::checkpoint, now, out);
    else if (handler == handler::failover.index) result = apply(Command::failover, now, out);
    else if (handler == handler::resume.index) result = apply(Command::resume, now, out);
    else {
        // bypass_add is idempotent (an equal rule is not added twice); every
        // bypass request answers with the list as it now is.
        if (handler == handler::bypass_add.index) core_.add_bypass(BypassRule::parse(arg), result_);
        else if (handler == handler::bypass_del.index && !core_.remove_bypass(std::string_view(arg), result_))
            throw std::invalid_argument("no bypass rule '" + arg + "'");
        result = nlohmann::json(core_.bypass_rules()).dump();
    }
    timed_release(now);
    emit(out);
    return result;
}

void ComparatorNode::set_property(const std::string& name, const Properties& p, Emit& out)
{
    core_.set_setting(name, p.get(IntProperty{name.c_str()}), result_);
    timed_release(now_ns());
    emit(out);
}

void ComparatorNode::emit(Emit& out)
{
    // Hand the released packets on as a whole vector, not one by one.
    auto& released = out.port(port::out).packets;
    if (released.empty()) released.swap(result_.released);
    else
        released.insert(released.end(), std::make_move_iterator(result_.released.begin()),
                        std::make_move_iterator(result_.released.end()));
    for (const auto& r : result_.events) {
        if (observer_) observer_(r);
        count(counter::requests_by_reason.at(std::size_t(r.reason)));
        if (!request_since_) request_since_ = r.time_ns;
        out.send(port::events, checkpoint_request_event(r));
    }
    result_.clear();
    timed_ = 0;
    publish();
}

void ComparatorNode::publish()
{
    set_counters(counter::compare, kCompareCounterTable, core_.counters());
}

namespace {
NodeSpec spec()
{
    NodeSpec s{
        .type = "comparator",
        .summary = "Release primary packets once the secondary sent the same bytes (QEMU colo-compare)",
        .description =
            "Queues packets per connection and compares them as QEMU 7.2's colo-compare does, with the "
            "fixes listed in docs/comparator.md: TCP as a byte stream by sequence position (segmentation "
            "may differ; headers, options, window, IP id and TTL are ignored; the ACK rule holds), UDP and "
            "ICMP from the L4 header on, other IP protocols whole; payload extents from the IP total length; "
            "non-TCP matched oldest first. IPv6 and 802.1Q frames are compared too (properties ipv6, vlan). "
            "ARP and other non-IP frames pass uncompared from `primary` and are dropped from `secondary`. "
            "Mismatch, timeout and queue overflow emit a checkpoint_request event (one until the next "
            "checkpoint); {\"command\":\"checkpoint\"} on `control` releases every queued primary and drops "
            "every queued secondary. On shutdown queued primaries are released, never lost.",
        .ports =
            {
                declare(port::primary, "the primary guest's output", Link::required),
                declare(port::secondary, "the secondary guest's output (sequence numbers already rewritten)",
                        Link::required),
                declare(port::control, "{\"command\":\"checkpoint\"} (flush), {\"command\":\"failover\"} "
                                       "(pass-through) or {\"command\":\"resume\"} (compare again)"),
                declare(port::secondary_status,
                        "the secondary's link: peer_down (a socket's or heartbeat's status) enters degraded mode, "
                        "peer_up ends it after the next checkpoint (resume_after)"),
                declare(port::out, "released primary packets, byte-identical", "released"),
                declare(port::events, "checkpoint_request, checkpoint_done, failover, resume, secondary_lost and "
                                      "secondary_back events (JSON, docs/events.md)"),
            },
        .properties =
            {
                declare(prop::compare_timeout, {.default_value = "3000",
                                                .min = 1,
                                                .max = UINT32_MAX,
                                                .doc = "ms a packet may wait for its twin before a checkpoint request",
                                                .changeable = true}),
                declare(prop::expired_scan_cycle, {.default_value = "1000",
                                                   .min = 1,
                                                   .max = UINT32_MAX,
                                                   .doc = "ms between scans for old packets",
                                                   .changeable = true}),
                declare(prop::max_queue_size, {.default_value = "1024",
                                               .min = 1,
                                               .max = UINT32_MAX,
                                               .doc = "packets queued per connection and side (this comparator only)",
                                               .changeable = true}),
                declare(prop::vnet_hdr_support, {.default_value = "false",
                                                 .doc = "packets may carry virtio-net headers; when off, a packet that "
                                                        "has one is counted as a configuration mismatch"}),
                declare(prop::idle_timeout, {.default_value = "60000",
                                             .min = 1,
                                             .max = UINT32_MAX,
                                             .doc = "ms after which an idle connection with empty queues expires",
                                             .changeable = true}),
                declare(prop::max_connections,
                        {.default_value = "65536",
                         .min = 1,
                         .max = 16777216,
                         .doc = "tracked connections; the least recently active is evicted beyond",
                         .changeable = true}),
                declare(prop::ipv6, {.default_value = "true", .doc = "compare IPv6 (QEMU passes it through)"}),
                declare(prop::vlan,
                        {.default_value = "true", .doc = "compare 802.1Q-tagged frames (QEMU passes them through)"}),
                declare(prop::resume_after,
                        {.default_value = "checkpoint",
                         .choices = {"checkpoint", "command"},
                         .doc = "after degraded mode, compare again at the first checkpoint once the secondary is back "
                                "(the checkpoint re-synchronised it), or only on a resume command"}),
                declare(prop::bypass, {.doc = "rules 'PROTO [host ADDR[/LEN]] [port N]' whose traffic is released "
                                              "uncompared, e.g. 'tcp port 3389'"}),
            },
        .histograms =
            {
                declare(histogram::hold_seconds, "a primary's arrival to its release on `out`, every released packet"),
                declare(histogram::checkpoint_seconds,
                        "the first checkpoint request to the checkpoint that answered it"),
            },
        .handlers =
            {
                declare(handler::checkpoint, "", "a checkpoint was taken: flush, as {\"command\":\"checkpoint\"}"),
                declare(handler::failover, "", "pass everything through from now on, as {\"command\":\"failover\"}"),
                declare(handler::resume, "", "compare again after failover, from a clean state"),
                declare(handler::bypass_add, "RULE",
                        "release a flow uncompared from now on (its queued primaries at once): "
                        "'PROTO [host ADDR[/LEN]] [port N]'"),
                declare(handler::bypass_del, "RULE", "compare the rule's flows again, from their next packets"),
                declare(handler::bypass_list, "", "the bypass rules, in order"),
            },
        .factory = construct<ComparatorNode>,
    };
    declare_counters(s.counters, counter::compare, kCompareCounterTable);
    ControlPort::declare_counters(s.counters, counter::control);
    for (std::size_t i = 0; i < counter::requests_by_reason.size; ++i) {
        const std::string reason = to_string(CheckpointReason(i));
        s.counters.push_back({"requests_" + reason, "checkpoint requests emitted for " + reason,
                              counter::requests_by_reason.first + i, false,
                              "checkpoint_requests{reason=\"" + reason + "\"}"});
    }
    s.counters.push_back(declare(counter::secondary_lost, "times the secondary was lost (degraded mode entered)"));
    CounterSpec degraded = declare(counter::degraded, "1 while in degraded mode (secondary lost), else 0");
    degraded.gauge = true;
    s.counters.push_back(degraded);
    return s;
}
} // namespace

COLO_REGISTER_NODE(spec());

} // namespace colo
