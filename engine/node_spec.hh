// Node metadata as data, in the manner of GStreamer pad templates and param
// specs: one table per node type drives `inspect`, graph-file validation, DOT
// labels and the generated docs/nodes.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace colo {

class Node;
class Properties;

enum class PortDir { in, out };

struct PortSpec {
    std::string name;
    PortDir dir;
    std::string doc;
    bool required = false;   // validation fails when left unconnected
};

enum class PropType { string, integer, boolean, enumeration, list };

struct PropertySpec {
    std::string name;
    PropType type = PropType::string;
    std::string default_value;           // textual; empty with !required means "unset"
    bool required = false;
    int64_t min = INT64_MIN, max = INT64_MAX;  // integers only
    std::vector<std::string> choices;    // enumerations only
    std::string doc;
};

struct CounterSpec {
    std::string name;
    std::string doc;
};

using NodeFactory = std::function<std::unique_ptr<Node>(const Properties&)>;

struct NodeSpec {
    std::string type;          // e.g. "pcap-source"
    std::string summary;       // one line
    std::string description;   // a paragraph or two
    std::vector<PortSpec> ports;
    std::vector<PropertySpec> properties;
    std::vector<CounterSpec> counters;
    NodeFactory factory;

    const PortSpec* port(const std::string& name, PortDir dir) const;
    const PropertySpec* property(const std::string& name) const;
    int port_index(const std::string& name, PortDir dir) const;   // -1 when absent
    std::vector<const PortSpec*> ports_of(PortDir dir) const;
};

const char* to_string(PropType t);
const char* to_string(PortDir d);

} // namespace colo
