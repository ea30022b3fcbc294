// Node types for the engine's tests, so that engine_tests links the engine
// alone: test-generator, test-mirror and test-null-sink stand in for the
// generator, mirror and null-sink node types (nodes/generator.cc, mirror.cc,
// null_sink.cc) with the ports, properties, counters and timing the tests
// rely on. Declared as node types are (engine/node_spec.hh).
#include "engine/node.hh"
#include "engine/registry.hh"

#include <cstring>

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
    return true;
}();

} // namespace
} // namespace colo
