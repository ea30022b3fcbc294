#include "tests/nodes/feed_capture.hh"

#include "engine/node.hh"
#include "engine/registry.hh"

namespace colo::testnodes {

std::map<std::string, std::vector<Packet>> feeds, captures;

namespace {

constexpr InPortId capture_in{0, "in"};
constexpr OutPortId feed_out{0, "out"};
constexpr StringProperty list_name{"name"};

struct Feed : Node {
    explicit Feed(const Properties& p) : name(p.get(list_name)) {}
    SourceKind source_kind() const override { return SourceKind::offline; }
    bool peek_time(uint64_t& ts) override
    {
        if (next >= feeds[name].size()) return false;
        ts = feeds[name][next].ts_ns;
        return true;
    }
    bool pull(std::size_t max, uint64_t until, int& port, Batch& out) override
    {
        port = feed_out.index;
        auto& v = feeds[name];
        while (next < v.size() && out.size() < max && (out.empty() || v[next].ts_ns <= until))
            out.packets.push_back(std::move(v[next++])); // moved: the feed keeps no reference
        return !out.empty();
    }
    std::string name;
    std::size_t next = 0;
};

struct Capture : Node {
    explicit Capture(const Properties& p) : name(p.get(list_name)) {}
    void push(int, const Batch& b, Emit&) override
    {
        captures[name].insert(captures[name].end(), b.packets.begin(), b.packets.end());
    }
    std::string name;
};

const bool registered = [] {
    const PropertySpec name = declare(list_name, {.required = true, .doc = "list name"});
    Registry::instance().add(
        {.type = "test-feed", .ports = {declare(feed_out, "")}, .properties = {name}, .factory = construct<Feed>});
    Registry::instance().add({.type = "test-capture",
                              .ports = {declare(capture_in, "")},
                              .properties = {name},
                              .factory = construct<Capture>});
    return true;
}();

} // namespace

} // namespace colo::testnodes
