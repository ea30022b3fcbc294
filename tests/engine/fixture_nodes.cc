// Node types for the engine's tests, so that engine_tests links the engine
// alone: test-generator, test-mirror and test-null-sink stand in for the
// generator, mirror and null-sink node types (nodes/generator.cc, mirror.cc,
// null_sink.cc) with the ports, properties, counters and timing the tests
// rely on; test-operated is a node an operator reaches while the graph runs
// (Runtime::call(), set(); handlers, a changeable property, a histogram).
// Declared as node types are (engine/node_spec.hh).
#include "engine/node.hh"
#include "engine/registry.hh"

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

namespace colo {
namespace {

namespace generator {
constexpr OutPortId out{0, "out"};
constexpr IntProperty count{"count"};
constexpr CounterId packets{0, "packets"};
} // namespace generator

// An offline source of `count` 64-byte frames numbered 0, 1, 2, ... (Packet::seq)
// with timestamps 1 µs apart, as the generator's.
class Generator : public Node {
public:
    explicit Generator(const Properties& p) : count_(uint64_t(p.get(generator::count))) {}
    SourceKind source_kind() const override { return SourceKind::offline; }

    bool peek_time(uint64_t& ts_ns) override
    {
        if (next_ >= count_) return false;
        ts_ns = time_of(next_);
        return true;
    }

    bool pull(std::size_t max, uint64_t until_ns, int& out_port, Batch& out) override
    {
        out_port = generator::out.index;
        while (out.size() < max && next_ < count_) {
            if (!out.empty() && time_of(next_) > until_ns) break;
            Packet p = Packet::with_capacity(kSize);
            std::memset(p.buf.get()->data(), 0, kSize);
            p.len = kSize;
            p.ts_ns = time_of(next_);
            p.seq = next_++;
            out.packets.push_back(std::move(p));
        }
        count(generator::packets, out.size());
        return !out.empty();
    }

private:
    static constexpr uint32_t kSize = 64;
    static uint64_t time_of(uint64_t n) { return 1'700'000'000'000'000'000ull + n * 1000; }

    uint64_t count_, next_ = 0;
};

namespace mirror {
constexpr InPortId in{0, "in"};
constexpr OutPortId out{0, "out"}, copy{1, "mirror"};
} // namespace mirror

// Every packet leaves on `out` and, sharing its buffer, on `mirror`.
struct Mirror : Node {
    void push(int, const Batch&, Emit& e) override
    {
        e.forward(mirror::out);
        e.forward(mirror::copy);
    }
};

namespace null_sink {
constexpr InPortId in{0, "in"};
constexpr CounterId packets{0, "packets"}, bytes{1, "bytes"};
} // namespace null_sink

// Counts packets (counter 0) and bytes, and drops them.
struct NullSink : Node {
    void push(int, const Batch& b, Emit&) override
    {
        count(null_sink::packets, b.size());
        count(null_sink::bytes, b.bytes());
    }
};

namespace operated {
constexpr InPortId in{0, "in"};
constexpr OutPortId out{0, "out"};
constexpr IntProperty tick_ms{"tick_ms"}, spin_us{"spin_us"};
constexpr CounterId packets{0, "packets"}, ticks{1, "ticks"}, overlaps{2, "overlaps"}, tick_ms_now{3, "tick_ms"};
constexpr HistogramId latency{0, "latency"};
constexpr HandlerId emit{0, "emit"}, record{1, "record"};
} // namespace operated

// Counts the packets it is pushed (recording a value spread over every
// histogram bucket for each) and drops them, and counts its ticks, every
// tick_ms; overlaps counts the calls that began while another of its calls
// ran, which the runtime's serial guarantee keeps at 0 (spin_us widens each
// push to make one likely if it did not). Handlers: emit sends one packet
// (Packet::seq 1, 2, ...) on `out` and returns {"emitted":N}; record records
// its argument, in ns, in the histogram.
class Operated : public Node {
public:
    explicit Operated(const Properties& p) : tick_ms_(p.get(operated::tick_ms)), spin_us_(p.get(operated::spin_us)) {}
    void on_start(Injector&) override { set_counter(operated::tick_ms_now, uint64_t(tick_ms_)); }

    void push(int, const Batch& b, Emit&) override
    {
        const Entry entry(*this);
        for (const auto& p : b.packets) record(operated::latency, (p.seq * 2'654'435'761u) % 12'000'000'000u);
        count(operated::packets, b.size());
        const auto t0 = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - t0 < std::chrono::microseconds(spin_us_)) {}
    }

    uint64_t tick_interval_ns() const override { return uint64_t(tick_ms_) * 1'000'000; }
    void tick(uint64_t, Emit&) override
    {
        const Entry entry(*this);
        count(operated::ticks);
    }

    std::string handle(int handler, const std::string& arg, Emit& out) override
    {
        const Entry entry(*this);
        if (handler == operated::record.index) {
            std::size_t end = 0;
            uint64_t ns = 0;
            try {
                ns = std::stoull(arg, &end);
            } catch (const std::exception&) {
                end = 0;
            }
            if (end == 0 || end != arg.size())
                throw std::invalid_argument("not a number of nanoseconds: '" + arg + "'");
            record(operated::latency, ns);
            return "null";
        }
        Packet p = Packet::with_capacity(64);
        std::memset(p.buf.get()->data(), 0, 64);
        p.len = 64;
        p.seq = ++emitted_;
        out.send(operated::out, std::move(p));
        return "{\"emitted\":" + std::to_string(emitted_) + "}";
    }

    void set_property(const std::string& name, const Properties& p, Emit&) override
    {
        const Entry entry(*this);
        if (name != operated::tick_ms.name) throw std::invalid_argument(name + " cannot be changed");
        tick_ms_ = p.get(operated::tick_ms);
        set_counter(operated::tick_ms_now, uint64_t(tick_ms_));
    }

private:
    struct Entry {
        Operated& n;
        explicit Entry(Operated& node) : n(node)
        {
            if (n.inside_.fetch_add(1) != 0) n.count(operated::overlaps);
        }
        ~Entry() { n.inside_.fetch_sub(1); }
    };

    int64_t tick_ms_, spin_us_;
    uint64_t emitted_ = 0;
    std::atomic<int> inside_{0};
};

const bool registered = [] {
    Registry::instance().add({.type = "test-generator",
                              .ports = {declare(generator::out, "")},
                              .properties = {declare(generator::count, {.default_value = "1000", .min = 0})},
                              .counters = {declare(generator::packets, "")},
                              .factory = construct<Generator>});
    Registry::instance().add(
        {.type = "test-mirror",
         .ports = {declare(mirror::in, "", Link::required), declare(mirror::out, ""), declare(mirror::copy, "")},
         .factory = construct<Mirror>});
    Registry::instance().add({.type = "test-null-sink",
                              .ports = {declare(null_sink::in, "", Link::required)},
                              .counters = {declare(null_sink::packets, ""), declare(null_sink::bytes, "")},
                              .factory = construct<NullSink>});
    Registry::instance().add(
        {.type = "test-operated",
         .ports = {declare(operated::in, ""), declare(operated::out, "")},
         .properties = {declare(operated::tick_ms,
                                {.default_value = "500", .min = 1, .max = 10'000, .changeable = true}),
                        declare(operated::spin_us, {.default_value = "0", .min = 0, .max = 1000})},
         .counters = {declare(operated::packets, ""), declare(operated::ticks, ""), declare(operated::overlaps, ""),
                      declare(operated::tick_ms_now, "")},
         .histograms = {declare(operated::latency, "")},
         .handlers = {declare(operated::emit, "", ""), declare(operated::record, "nanoseconds", "")},
         .factory = construct<Operated>});
    return true;
}();

} // namespace
} // namespace colo
