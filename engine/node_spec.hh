// Node metadata as data, in the manner of GStreamer pad templates and param
// specs: one table per node type drives `inspect`, graph-file validation, DOT
// labels and the generated docs/nodes.md.
//
// Ports, properties and counters are declared once, in the node's .cc, as
// typed handles that the node's code uses by name; the spec is built from the
// same handles, and the registry checks at registration that every port's and
// counter's handle index is its position in the spec (Registry::check):
//
//     namespace port { constexpr InPortId in{0, "in"}; constexpr OutPortId out{0, "out"}; }
//     namespace prop { constexpr IntProperty delay_ms{"delay_ms"}; }
//     namespace counter { constexpr CounterId packets{0, "packets"}; }
//
//     .ports = {declare(port::in, "packets to pass", Link::required), declare(port::out, "passed packets")},
//     .properties = {declare(prop::delay_ms, {.default_value = "20", .min = 0, .doc = "delay"})},
//     .counters = {declare(counter::packets, "packets passed")},
//
//     out.send(port::out, p);  count(counter::packets);  props.get(prop::delay_ms);
//
// A handle is an index known at compile time: nothing is looked up by name
// on the data path.
#pragma once

#include "engine/properties.hh"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace colo {

class Node;

enum class PortDir { in, out };

// Handles. Input and output ports are numbered separately, each from 0 in
// spec order; counters are numbered from 0 in spec order.
struct InPortId {
    int index;
    const char* name;
    friend constexpr bool operator==(InPortId a, int i) { return a.index == i; }
};
struct OutPortId {
    int index;
    const char* name;
};
struct CounterId {
    std::size_t index;
    const char* name;
};
struct HistogramId {
    std::size_t index;
    const char* name;
};
// A request an operator sends a running node (`colo-graph ctl`), in the
// manner of Click's write handlers: run in the node's serial context.
struct HandlerId {
    int index;
    const char* name;
};
// A run of counters declared from a table (see declare_counters()).
struct CounterRange {
    std::size_t first;
    std::size_t size;
    constexpr std::size_t end() const { return first + size; }
    constexpr CounterId at(std::size_t i) const { return {first + i, ""}; }
};

enum class Link { optional, required };

struct PortSpec {
    std::string name{};
    PortDir dir{};
    std::string doc{};
    bool required = false; // validation fails when left unconnected
    int index = -1;        // the handle's index, which the registry checks
    // Output ports: what leaving by this port means ("released", "dropped"),
    // written on every packet a trace copies from it, with the packet's time
    // since arrival. Empty: the port forwards, nothing to say.
    std::string verdict{};
};

struct PropertySpec {
    std::string name{};
    PropType type = PropType::string;
    std::string default_value{}; // textual; empty with !required means "unset"
    bool required = false;
    int64_t min = INT64_MIN, max = INT64_MAX; // integers only; left out = unbounded
    std::vector<std::string> choices{};       // enumerations only
    std::string doc{};
    // May be set while the graph runs (`colo-graph ctl set`), like
    // GStreamer's GST_PARAM_MUTABLE_PLAYING; the node applies it in
    // Node::set_property().
    bool changeable = false;
};

// What a property handle leaves to the spec, by designated initialisers:
//     declare(prop::loop, {.default_value = "1", .min = 0, .doc = "passes; 0 = forever"})
struct PropertyOptions {
    std::string default_value{};
    bool required = false;
    int64_t min = INT64_MIN, max = INT64_MAX;
    std::vector<std::string> choices{};
    std::string doc{};
    bool changeable = false;
};

struct CounterSpec {
    std::string name{};
    std::string doc{};
    std::size_t index = SIZE_MAX; // the handle's index, which the registry checks
    bool gauge = false;           // a level (queue length), not a running total
    // The metric it is exported as, when not its name: a family and labels,
    // `checkpoint_requests{reason="mismatch"}` (docs/operations.md, Metrics).
    std::string metric{};
};

struct HistogramSpec {
    std::string name{};
    std::string doc{};
    std::size_t index = SIZE_MAX;
};

struct HandlerSpec {
    std::string name{};
    std::string arg{}; // what the argument is, for help; empty: takes none
    std::string doc{};
    int index = -1;
};

inline PortSpec declare(InPortId p, std::string doc, Link link = Link::optional)
{
    return {p.name, PortDir::in, std::move(doc), link == Link::required, p.index};
}
inline PortSpec declare(OutPortId p, std::string doc, std::string verdict = {})
{
    return {p.name, PortDir::out, std::move(doc), false, p.index, std::move(verdict)};
}
inline CounterSpec declare(CounterId c, std::string doc)
{
    return {c.name, std::move(doc), c.index};
}
inline HistogramSpec declare(HistogramId h, std::string doc)
{
    return {h.name, std::move(doc), h.index};
}
inline HandlerSpec declare(HandlerId h, std::string arg, std::string doc)
{
    return {h.name, std::move(arg), std::move(doc), h.index};
}
template <PropType T>
PropertySpec declare(Property<T> p, PropertyOptions o)
{
    return {p.name,           T,           std::move(o.default_value), o.required, o.min, o.max, std::move(o.choices),
            std::move(o.doc), o.changeable};
}
// Counters from a table of {name, doc} entries (e.g. a CounterField table
// over a plain counters struct), placed at `at`, which must span the table.
template <class Table>
void declare_counters(std::vector<CounterSpec>& specs, CounterRange at, const Table& table)
{
    std::size_t i = at.first;
    for (const auto& entry : table) specs.push_back({entry.name, entry.doc, i++, entry.gauge});
    if (i != at.end())
        specs.push_back({"?", "counter range does not match its table", SIZE_MAX}); // Registry::check fails
}

using NodeFactory = std::function<std::unique_ptr<Node>(const Properties&)>;

struct NodeSpec {
    std::string type{};        // e.g. "pcap-source"
    std::string summary{};     // one line
    std::string description{}; // a paragraph or two
    std::vector<PortSpec> ports{};
    std::vector<PropertySpec> properties{};
    std::vector<CounterSpec> counters{};
    std::vector<HistogramSpec> histograms{};
    std::vector<HandlerSpec> handlers{};
    NodeFactory factory{};

    const PortSpec* port(const std::string& name, PortDir dir) const;
    const PropertySpec* property(const std::string& name) const;
    const HandlerSpec* handler(const std::string& name) const;
    int port_index(const std::string& name, PortDir dir) const; // -1 when absent
    std::vector<const PortSpec*> ports_of(PortDir dir) const;
};

// Checks a scalar value against its property's type, range and choices: an
// empty result means valid, otherwise it says why not ("expected an integer,
// got 'x'"). A boolean's text is normalised to "true" or "false". Graph files
// and the registry's check of every default apply the same rules.
std::string check_scalar(const PropertySpec& p, std::string& text);

const char* to_string(PropType t);
const char* to_string(PortDir d);

} // namespace colo
