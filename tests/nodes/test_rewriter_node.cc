// The rewriter node inside a running graph: control messages from a
// control-script source, counters through Runtime::stats(), and a mirror's
// copy that shares buffers with the packets the rewriter edits.
#include <catch2/catch.hpp>

#include "engine/graph_file.hh"
#include "engine/registry.hh"
#include "engine/runtime.hh"
#include "nodes/proto/checksum.hh"
#include "nodes/proto/tcp_options.hh"
#include "tests/engine/parse_ok.hh"
#include "tests/nodes/feed_capture.hh"
#include "tests/proto/frames.hh"

#include <map>
#include <string>
#include <vector>

using namespace colo;
using namespace colo::tcpflag;
using namespace colo::testnodes;

namespace {

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull; // 1700000000.000000
constexpr uint64_t kMicro = 1000;

std::vector<uint8_t> timestamps(uint32_t tsval, uint32_t tsecr)
{
    std::vector<uint8_t> o = {
        tcpopt::NOP, tcpopt::NOP, tcpopt::TIMESTAMP, tcpopt::kTimestampLen, 0, 0, 0, 0, 0, 0, 0, 0};
    store_be32(&o[4], tsval);
    store_be32(&o[8], tsecr);
    return o;
}

// Client 10.0.0.1:40000 <-> guest 10.0.0.2:80, ISNs client 7000, PVM 50000,
// SVM 90000; clocks PVM 1000000, SVM 5000000 (docs/rewriter.md, "Worked example").
struct Segment {
    bool to_guest;
    uint8_t flags;
    uint32_t seq, ack, tsval, tsecr;
    uint32_t payload = 0;
};

Packet make(const Segment& s, uint64_t ts_ns)
{
    frames::Endpoints ep;
    ep.sport = 40000;
    if (!s.to_guest) ep = ep.reversed();
    return frames::packet(
        frames::tcp(ep, s.seq, s.ack, s.flags, std::string(s.payload, 'x'), timestamps(s.tsval, s.tsecr)), 0, ts_ns);
}

// A passive open and one data exchange, 1 µs apart from kT0 + 1 µs, then
// (from kT0 + 6 µs) one more exchange written as the guests would send it
// after a checkpoint at kT0 + 5 µs: the SVM now uses the PVM's numbers.
void feed_connection()
{
    const std::vector<Segment> script = {
        {true, SYN, 7000, 0, 100, 0},
        {false, SYN | ACK, 90000, 7001, 5000000, 100},
        {true, ACK, 7001, 50001, 101, 1000000},
        {false, ACK | PSH, 90001, 7001, 5000001, 101, 100},
        // the checkpoint falls here
        {true, ACK, 7001, 50101, 102, 1000001},
        {false, ACK | PSH, 50101, 7001, 1000006, 102, 100},
    };
    uint64_t t = kT0;
    for (const auto& s : script) {
        t += kMicro;
        if (t == kT0 + 5 * kMicro) t += kMicro;
        feeds[s.to_guest ? "to_guest" : "from_guest"].push_back(make(s, t));
    }
}

std::string rewriter_graph(const std::string& script_items)
{
    return "nodes:\n"
           "  to_guest: { type: test-feed, name: to_guest }\n"
           "  from_guest: { type: test-feed, name: from_guest }\n"
           "  script: { type: control-script, at: [" +
           script_items +
           "] }\n"
           "  rewriter: { type: rewriter }\n"
           "  out_to: { type: test-capture, name: to_guest }\n"
           "  out_from: { type: test-capture, name: from_guest }\n"
           "links:\n"
           "  - to_guest -> rewriter.to_guest\n"
           "  - from_guest -> rewriter.from_guest\n"
           "  - script -> rewriter.control\n"
           "  - rewriter.to_guest -> out_to\n"
           "  - rewriter.from_guest -> out_from\n";
}

uint64_t counter(const Runtime& rt, const std::string& node, const std::string& name)
{
    for (const auto& n : rt.stats())
        if (n.name == node)
            for (const auto& [k, v] : n.counters)
                if (k == name) return v;
    FAIL("no counter " << node << "." << name);
    return 0;
}

struct Fields {
    uint32_t seq, ack, tsval, tsecr;
    bool checksum_ok;
};

Fields fields(const Packet& p)
{
    const ParsedFrame f = parse_frame(p.data(), p.len, p.vnet_len);
    REQUIRE(f.is_tcp());
    const TcpOptionScan o = scan_tcp_options(p.data(), f);
    REQUIRE(o.tsval_off);
    return {f.seq, f.ack, load_be32(p.data() + *o.tsval_off), load_be32(p.data() + *o.tsval_off + 4),
            l4_checksum_ok(p.data(), f)};
}

} // namespace

TEST_CASE("rewriter node: a checkpoint on control resets the sequence and timestamp offsets", "[rewriter][node]")
{
    const ClearListsAfterTest clear_lists;
    feed_connection();
    Runtime rt(testing::parse_ok(rewriter_graph("\"1700000000.000005 checkpoint\"")), RunOptions{});
    rt.run();

    const auto& to = captures["to_guest"];
    const auto& from = captures["from_guest"];
    REQUIRE(to.size() == 3);
    REQUIRE(from.size() == 3);
    // Before the checkpoint: ACK and TSecr into the SVM's space, SEQ and TSval out of it.
    CHECK(fields(to[1]).ack == 90001);
    CHECK(fields(to[1]).tsecr == 5000000);
    CHECK(fields(from[1]).seq == 50001);
    CHECK(fields(from[1]).tsval == 1000001);
    // After it: both offsets are 0, so nothing moves.
    CHECK(fields(to[2]).ack == 50101);
    CHECK(fields(to[2]).tsecr == 1000001);
    CHECK(fields(from[2]).seq == 50101);
    CHECK(fields(from[2]).tsval == 1000006);
    for (const auto* v : {&to, &from})
        for (const auto& p : *v) CHECK(fields(p).checksum_ok);

    CHECK(counter(rt, "rewriter", "checkpoints") == 1);
    CHECK(counter(rt, "rewriter", "rewritten") == 2);
    CHECK(counter(rt, "rewriter", "unknown_commands") == 0);
    CHECK(counter(rt, "script", "commands") == 1);
}

TEST_CASE("rewriter node: without the checkpoint the old offsets stay", "[rewriter][node]")
{
    const ClearListsAfterTest clear_lists;
    feed_connection();
    Runtime rt(testing::parse_ok(rewriter_graph("")), RunOptions{});
    rt.run();
    REQUIRE(captures["to_guest"].size() == 3);
    CHECK(fields(captures["to_guest"][2]).ack == 90101);
    CHECK(fields(captures["from_guest"][2]).seq == uint32_t(50101 - 40000));
    CHECK(counter(rt, "rewriter", "checkpoints") == 0);
}

TEST_CASE("rewriter node: an unknown control message is counted and logged once, and changes nothing",
          "[rewriter][node]")
{
    const ClearListsAfterTest clear_lists;
    feed_connection();
    RunOptions options;
    std::vector<std::string> log;
    options.log = [&](const std::string& m) { log.push_back(m); };
    Runtime rt(testing::parse_ok(rewriter_graph("\"1700000000.000005 reboot\", \"1700000000.000005 reboot\"")),
               options);
    rt.run();

    CHECK(counter(rt, "rewriter", "unknown_commands") == 2);
    CHECK(counter(rt, "rewriter", "checkpoints") == 0);
    CHECK(counter(rt, "rewriter", "failovers") == 0);
    REQUIRE(captures["to_guest"].size() == 3);
    CHECK(fields(captures["to_guest"][2]).ack == 90101); // offsets kept
    REQUIRE(log.size() == 1);
    CHECK_THAT(log[0],
               Catch::Contains("rewriter") && Catch::Contains("unknown control message") && Catch::Contains("reboot"));
}

TEST_CASE("rewriter node: the packet a mirror shares is copied before it is edited", "[rewriter][node]")
{
    const ClearListsAfterTest clear_lists;
    feed_connection();
    std::vector<std::vector<uint8_t>> originals;
    for (const auto& p : feeds["to_guest"]) originals.emplace_back(p.data(), p.data() + p.len);

    Runtime rt(testing::parse_ok("nodes:\n"
                                 "  to_guest: { type: test-feed, name: to_guest }\n"
                                 "  from_guest: { type: test-feed, name: from_guest }\n"
                                 "  mirror: { type: mirror }\n"
                                 "  rewriter: { type: rewriter }\n"
                                 "  out_to: { type: test-capture, name: to_guest }\n"
                                 "  out_from: { type: test-capture, name: from_guest }\n"
                                 "  copy: { type: test-capture, name: copy }\n"
                                 "links:\n"
                                 "  - to_guest -> mirror\n"
                                 "  - mirror.out -> rewriter.to_guest\n"
                                 "  - mirror.mirror -> copy\n"
                                 "  - from_guest -> rewriter.from_guest\n"
                                 "  - rewriter.to_guest -> out_to\n"
                                 "  - rewriter.from_guest -> out_from\n"),
               RunOptions{});
    rt.run();

    const auto& edited = captures["to_guest"];
    const auto& copy = captures["copy"];
    REQUIRE(edited.size() == originals.size());
    REQUIRE(copy.size() == originals.size());
    for (std::size_t i = 0; i < originals.size(); ++i) {
        INFO("to_guest packet " << i);
        CHECK(std::vector<uint8_t>(copy[i].data(), copy[i].data() + copy[i].len) == originals[i]);
        CHECK(fields(edited[i]).checksum_ok);
    }
    // The SYN is left alone and may share its buffer; the ACKs were edited in a copy.
    CHECK(fields(copy[1]).ack == 50001);
    CHECK(fields(edited[1]).ack == 90001);
    CHECK(edited[1].data() != copy[1].data());
    CHECK(fields(copy[2]).ack == 50101);
    CHECK(fields(edited[2]).ack == 90101);
    CHECK(counter(rt, "rewriter", "copied_for_write") >= 2);
}

TEST_CASE("rewriter node: packets it alone holds are edited in place, without a copy", "[rewriter][node]")
{
    const ClearListsAfterTest clear_lists;
    feed_connection();
    Runtime rt(testing::parse_ok(rewriter_graph("")), RunOptions{});
    rt.run();

    const auto& from = captures["from_guest"];
    REQUIRE(from.size() == 3);
    CHECK(fields(from[1]).seq == 50001); // edited: SVM 90001 -> PVM 50001
    CHECK(fields(from[1]).checksum_ok);
    CHECK(counter(rt, "rewriter", "copied_for_write") == 0);
}
