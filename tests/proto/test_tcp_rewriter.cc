#include <catch2/catch.hpp>

#include "nodes/proto/checksum.hh"
#include "nodes/proto/tcp_options.hh"
#include "nodes/proto/tcp_rewriter.hh"
#include "tests/proto/frames.hh"

#include <algorithm>
#include <string>
#include <vector>

using namespace colo;
using namespace colo::tcpflag;

namespace {

constexpr Direction kTo = Direction::to_guest, kFrom = Direction::from_guest;

// How a frame is laid out around the TCP segment.
struct Layout {
    const char* name = "IPv4";
    bool ipv6 = false;
    uint8_t ip_option_words = 0; // IPv4 options, 4 bytes each
    uint32_t vnet_len = 0;
    uint8_t vnet_flags = 0;
    uint16_t vlan = 0; // 802.1Q tag when non-zero
};

struct Seg {
    Direction dir = kTo;
    uint8_t flags = ACK;
    uint32_t seq = 0, ack = 0;
    std::vector<uint8_t> options = {}; // TCP options, EOL-padded to 4 bytes
    uint32_t payload = 0;
    uint16_t peer_port = 40000;
    Layout layout = {};
};

constexpr uint16_t kGuestPort = 80;

// Turns 4 × words bytes after the IPv4 header into IP options (NOPs). The TCP
// checksum stays valid: the pseudo-header does not include IP options.
void add_ip_options(std::vector<uint8_t>& frame, uint32_t vnet_len, uint8_t words)
{
    const uint32_t ip = parse_frame(frame.data(), frame.size(), vnet_len).l3_off;
    frame.insert(frame.begin() + ip + 20, 4u * words, 1);
    uint8_t* h = frame.data() + ip;
    h[0] = uint8_t(0x45 + words);
    store_be16(h + 2, uint16_t(load_be16(h + 2) + 4 * words));
    store_be16(h + 10, 0);
    store_be16(h + 10, internet_checksum(h, 20 + 4u * words));
}

// A segment between the guest (10.0.0.2:80 / 2001:db8::2) and a peer
// (192.168.1.7 / 2001:db8::7) in the given layout, with correct checksums.
Packet make(const Seg& s)
{
    const Layout& l = s.layout;
    frames::Endpoints ep;
    ep.ip_version = l.ipv6 ? 6 : 4;
    ep.src = l.ipv6 ? "2001:db8::7" : "192.168.1.7";
    ep.dst = l.ipv6 ? "2001:db8::2" : "10.0.0.2";
    ep.sport = s.peer_port;
    ep.dport = kGuestPort;
    if (l.vlan) ep.vlan = l.vlan;
    ep.vnet_len = l.vnet_len;
    if (s.dir == kFrom) ep = ep.reversed();

    const std::string payload(s.payload, 'x');
    std::vector<uint8_t> frame = frames::tcp(ep, s.seq, s.ack, s.flags, payload, s.options, 64240);
    if (l.ip_option_words) add_ip_options(frame, l.vnet_len, l.ip_option_words);
    const ParsedFrame f = parse_frame(frame.data(), frame.size(), l.vnet_len);
    REQUIRE(f.is_tcp());
    REQUIRE(f.l4_off - f.l3_off == (l.ipv6 ? 40u : 20u + 4u * l.ip_option_words));
    REQUIRE(l4_checksum_ok(frame.data(), f));
    if (l.vnet_flags) {
        frame[0] = l.vnet_flags;
        store_be16(&frame[f.l4_off + 16], 0x5a5a); // stands for a partial pseudo-header sum
    }
    return frames::packet(frame, l.vnet_len);
}

std::vector<uint8_t> timestamp(uint32_t tsval, uint32_t tsecr)
{
    std::vector<uint8_t> o = {
        tcpopt::NOP, tcpopt::NOP, tcpopt::TIMESTAMP, tcpopt::kTimestampLen, 0, 0, 0, 0, 0, 0, 0, 0};
    store_be32(&o[4], tsval);
    store_be32(&o[8], tsecr);
    return o;
}

std::vector<uint8_t> sack(std::vector<std::pair<uint32_t, uint32_t>> blocks)
{
    std::vector<uint8_t> o = {tcpopt::NOP, tcpopt::NOP, tcpopt::SACK, uint8_t(2 + 8 * blocks.size())};
    for (auto [left, right] : blocks) {
        o.resize(o.size() + 8);
        store_be32(&o[o.size() - 8], left);
        store_be32(&o[o.size() - 4], right);
    }
    return o;
}

std::vector<uint8_t> operator+(std::vector<uint8_t> a, const std::vector<uint8_t>& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// What a receiver would read from a packet.
struct Seen {
    uint32_t seq = 0, ack = 0;
    std::optional<uint32_t> tsval, tsecr;
    std::vector<uint32_t> sack_edges;
    bool checksum_ok = false;
};

Seen seen(const Packet& p)
{
    const ParsedFrame f = parse_frame(p.data(), p.len, p.vnet_len);
    REQUIRE(f.is_tcp());
    Seen s;
    s.seq = f.seq;
    s.ack = f.ack;
    const TcpOptionScan o = scan_tcp_options(p.data(), f);
    if (o.tsval_off) {
        s.tsval = load_be32(p.data() + *o.tsval_off);
        s.tsecr = load_be32(p.data() + *o.tsval_off + 4);
    }
    for (uint32_t i = 0; o.sack_off && i < 2u * o.sack_blocks; ++i)
        s.sack_edges.push_back(load_be32(p.data() + *o.sack_off + 4 * i));
    s.checksum_ok = l4_checksum_ok(p.data(), f);
    return s;
}

// One connection driven through a rewriter, with the numbers of docs/rewriter.md,
// "Worked example":
// client ISN 7000, SVM ISN 90000, PVM ISN 50000 (offset 40000).
struct Harness {
    TcpRewriter rw;
    Layout layout;
    uint64_t now = 1'000'000'000;

    explicit Harness(Layout l = {}, TcpRewriterConfig c = {}) : rw(c), layout(l) {}

    // Runs a segment through the rewriter; returns the packet as forwarded.
    Packet send(Seg s, RewriteResult* result = nullptr)
    {
        s.layout = layout;
        Packet p = make(s);
        const RewriteResult r = rw.process(p, s.dir, now);
        if (result) *result = r;
        return p;
    }
    Seen send_seen(Seg s, RewriteResult* result = nullptr) { return seen(send(std::move(s), result)); }

    std::optional<TcpConnectionInfo> conn(uint16_t peer_port = 40000)
    {
        Packet p = make({.dir = kFrom, .flags = ACK, .peer_port = peer_port, .layout = layout});
        return rw.connection(TcpRewriter::key_of(parse_frame(p.data(), p.len, p.vnet_len), kFrom));
    }
    TcpState state(uint16_t peer_port = 40000) { return conn(peer_port).value().state; }

    void passive_open(uint16_t peer_port = 40000, uint32_t client_isn = 7000, uint32_t svm_isn = 90000,
                      uint32_t pvm_isn = 50000)
    {
        send({.dir = kTo, .flags = SYN, .seq = client_isn, .peer_port = peer_port});
        send({.dir = kFrom, .flags = SYN | ACK, .seq = svm_isn, .ack = client_isn + 1, .peer_port = peer_port});
        send({.dir = kTo, .flags = ACK, .seq = client_isn + 1, .ack = pvm_isn + 1, .peer_port = peer_port});
    }
};

} // namespace

TEST_CASE("rewriter: QEMU-verified passive open (docs/rewriter.md Worked example)", "[rewriter]")
{
    const Layout layout =
        GENERATE(Layout{"IPv4"}, Layout{"IPv4 + 8 bytes of IP options", false, 2},
                 Layout{"IPv4 + 40 bytes of IP options", false, 10}, Layout{"vnet header 10", false, 0, 10},
                 Layout{"vnet header 12", false, 0, 12}, Layout{"IPv6", true}, Layout{"IPv6 + vnet 12", true, 0, 12},
                 Layout{"802.1Q VLAN 7", false, 0, 0, 0, 7});
    INFO(layout.name);
    Harness h(layout);
    RewriteResult r;

    Seen s = h.send_seen({.dir = kTo, .flags = SYN, .seq = 7000}, &r);
    CHECK(r == RewriteResult::tracked);
    CHECK(h.state() == TcpState::syn_received);

    s = h.send_seen({.dir = kFrom, .flags = SYN | ACK, .seq = 90000, .ack = 7001}, &r);
    CHECK(r == RewriteResult::tracked); // SYN segments are never modified
    CHECK(s.seq == 90000);
    CHECK(h.state() == TcpState::syn_received);

    s = h.send_seen({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001}, &r);
    CHECK(r == RewriteResult::rewritten);
    CHECK(s.ack == 90001);
    CHECK(s.seq == 7001);
    CHECK(s.checksum_ok);
    CHECK(h.state() == TcpState::established);
    CHECK(h.conn()->seq_offset == 40000);

    s = h.send_seen({.dir = kFrom, .flags = ACK | PSH, .seq = 90001, .ack = 7001, .payload = 4}, &r);
    CHECK(r == RewriteResult::rewritten);
    CHECK(s.seq == 50001);
    CHECK(s.ack == 7001);
    CHECK(s.checksum_ok);

    s = h.send_seen({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50005});
    CHECK(s.ack == 90005);
    CHECK(s.checksum_ok);

    const auto& c = h.rw.counters();
    CHECK(c.rewritten == 3);
    CHECK(c.ack_rewrites == 2);
    CHECK(c.seq_rewrites == 1);
    CHECK(c.offsets_learned == 1);
}

TEST_CASE("rewriter: the peer's handshake ACK may arrive before the guest's SYN/ACK", "[rewriter]")
{
    Harness h;
    h.send({.dir = kTo, .flags = SYN, .seq = 7000});
    RewriteResult r;
    Seen s = h.send_seen({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001}, &r);
    CHECK(r == RewriteResult::tracked); // nothing known about the SVM yet
    CHECK(s.ack == 50001);
    CHECK(h.state() == TcpState::syn_received);

    h.send({.dir = kFrom, .flags = SYN | ACK, .seq = 90000, .ack = 7001});
    CHECK(h.state() == TcpState::established);
    CHECK(h.conn()->seq_offset == 40000);
    CHECK(h.send_seen({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001}).ack == 90001);
}

TEST_CASE("rewriter: a retransmitted SYN keeps the handshake, a new SYN restarts it", "[rewriter]")
{
    Harness h;
    h.send({.dir = kTo, .flags = SYN, .seq = 7000});
    h.send({.dir = kFrom, .flags = SYN | ACK, .seq = 90000, .ack = 7001});
    h.send({.dir = kTo, .flags = SYN, .seq = 7000}); // retransmission
    CHECK(h.send_seen({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001}).ack == 90001);

    h.send({.dir = kTo, .flags = SYN, .seq = 123456}); // port reuse
    CHECK(h.state() == TcpState::syn_received);
    CHECK_FALSE(h.conn()->seq_synced);
    h.send({.dir = kFrom, .flags = SYN | ACK, .seq = 1000, .ack = 123457});
    CHECK(h.send_seen({.dir = kTo, .flags = ACK, .seq = 123457, .ack = 601}).ack == 1001);
    CHECK(h.rw.connection_count() == 1);
}

TEST_CASE("rewriter: passive close completes with a non-zero offset", "[rewriter]")
{
    Harness h;
    h.passive_open();
    h.send({.dir = kTo, .flags = FIN | ACK, .seq = 7001, .ack = 50001});
    CHECK(h.state() == TcpState::close_wait);

    // The guest's FIN carries 10 bytes of data: its FIN is sequence 90011.
    Seen s = h.send_seen({.dir = kFrom, .flags = FIN | ACK | PSH, .seq = 90001, .ack = 7002, .payload = 10});
    CHECK(s.seq == 50001);
    CHECK(h.state() == TcpState::last_ack);

    // An ACK for the data only does not close.
    h.send({.dir = kTo, .flags = ACK, .seq = 7002, .ack = 50011});
    CHECK(h.state() == TcpState::last_ack);

    // The ACK of the FIN is still translated, then the connection is gone.
    RewriteResult r;
    s = h.send_seen({.dir = kTo, .flags = ACK, .seq = 7002, .ack = 50012}, &r);
    CHECK(r == RewriteResult::rewritten);
    CHECK(s.ack == 90012);
    CHECK(h.rw.connection_count() == 0);
    CHECK(h.rw.counters().connections_closed == 1);

    // Unlike QEMU 7.2, later segments on the 4-tuple are no longer rewritten.
    s = h.send_seen({.dir = kTo, .flags = ACK, .seq = 7002, .ack = 50012}, &r);
    CHECK(r == RewriteResult::passed);
    CHECK(s.ack == 50012);
}

TEST_CASE("rewriter: active close by the guest with FIN|ACK", "[rewriter]")
{
    Harness h;
    h.passive_open();
    Seen s = h.send_seen({.dir = kFrom, .flags = FIN | ACK, .seq = 90001, .ack = 7001});
    CHECK(s.seq == 50001);
    CHECK(h.state() == TcpState::fin_wait_1);

    SECTION("peer ACKs, then sends its FIN")
    {
        h.send({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50002});
        CHECK(h.state() == TcpState::fin_wait_2);
        h.send({.dir = kTo, .flags = FIN | ACK, .seq = 7001, .ack = 50002});
        CHECK(h.state() == TcpState::time_wait);
    }
    SECTION("peer answers with FIN|ACK at once")
    {
        h.send({.dir = kTo, .flags = FIN | ACK, .seq = 7001, .ack = 50002});
        CHECK(h.state() == TcpState::time_wait);
    }
    SECTION("simultaneous close")
    {
        h.send({.dir = kTo, .flags = FIN | ACK, .seq = 7001, .ack = 50001});
        CHECK(h.state() == TcpState::closing);
        h.send({.dir = kTo, .flags = ACK, .seq = 7002, .ack = 50002});
        CHECK(h.state() == TcpState::time_wait);
    }
    // The guest's last ACK is translated, then the connection is removed.
    s = h.send_seen({.dir = kFrom, .flags = ACK, .seq = 90002, .ack = 7002});
    CHECK(s.seq == 50002);
    CHECK(h.rw.connection_count() == 0);
    CHECK(h.rw.counters().connections_closed == 1);
}

TEST_CASE("rewriter: RST from either side removes the connection", "[rewriter]")
{
    Harness h;
    h.passive_open();
    const Direction dir = GENERATE(kTo, kFrom);
    RewriteResult r;
    if (dir == kFrom) {
        Seen s = h.send_seen({.dir = kFrom, .flags = RST | ACK, .seq = 90001, .ack = 7001}, &r);
        CHECK(s.seq == 50001);
    } else {
        Seen s = h.send_seen({.dir = kTo, .flags = RST | ACK, .seq = 7001, .ack = 50001}, &r);
        CHECK(s.ack == 90001);
    }
    CHECK(r == RewriteResult::rewritten);
    CHECK(h.rw.connection_count() == 0);
    CHECK(h.rw.counters().connections_reset == 1);
    CHECK(h.rw.connections_by_state()[std::size_t(TcpState::established)] == 0);
}

TEST_CASE("rewriter: guest-opened connection learns its offset from the server's SYN/ACK", "[rewriter]")
{
    Harness h;
    RewriteResult r;
    // The SVM connects with ISN 90000; the PVM did so with 50000, and the
    // server (which only talks to the PVM) answers with ISN 300.
    h.send({.dir = kFrom, .flags = SYN, .seq = 90000});
    CHECK(h.state() == TcpState::syn_sent);

    Seen s = h.send_seen({.dir = kTo, .flags = SYN | ACK, .seq = 300, .ack = 50001}, &r);
    CHECK(r == RewriteResult::rewritten); // its own ACK must already be in SVM space
    CHECK(s.ack == 90001);
    CHECK(s.seq == 300);
    CHECK(s.checksum_ok);
    CHECK(h.state() == TcpState::established);

    CHECK(h.send_seen({.dir = kFrom, .flags = ACK, .seq = 90001, .ack = 301}).seq == 50001);
    CHECK(h.send_seen({.dir = kFrom, .flags = ACK | PSH, .seq = 90001, .ack = 301, .payload = 20}).seq == 50001);
    CHECK(h.send_seen({.dir = kTo, .flags = ACK, .seq = 301, .ack = 50021}).ack == 90021);
}

TEST_CASE("rewriter: SACK blocks toward the guest move into SVM space", "[rewriter]")
{
    Harness h;
    h.passive_open();
    RewriteResult r;
    Seen s = h.send_seen({.dir = kTo,
                          .flags = ACK,
                          .seq = 7001,
                          .ack = 50001,
                          .options = sack({{50101, 50201}, {50301, 50401}, {0xfffffff0, 0x10}})},
                         &r);
    CHECK(r == RewriteResult::rewritten);
    CHECK(s.ack == 90001);
    CHECK(s.sack_edges == std::vector<uint32_t>{90101, 90201, 90301, 90401, 0xfffffff0u + 40000, 0x10 + 40000});
    CHECK(s.checksum_ok);
    CHECK(h.rw.counters().sack_edge_rewrites == 6);

    // Together with a timestamp option, as Linux sends them.
    s = h.send_seen(
        {.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001, .options = timestamp(5, 6) + sack({{50101, 50201}})});
    CHECK(s.sack_edges == std::vector<uint32_t>{90101, 90201});
    CHECK(s.tsecr == 6u); // no timestamps in the handshake: no clock offset
    CHECK(s.checksum_ok);

    // From the guest, SACK blocks describe the client's data: left alone.
    s = h.send_seen({.dir = kFrom, .flags = ACK, .seq = 90001, .ack = 7001, .options = sack({{7101, 7201}})});
    CHECK(s.seq == 50001);
    CHECK(s.sack_edges == std::vector<uint32_t>{7101, 7201});
    CHECK(s.checksum_ok);
}

TEST_CASE("rewriter: timestamps with different clocks", "[rewriter]")
{
    // Odd alignment of the option (no NOP padding) exercises the byte-swapped checksum update.
    const bool odd = GENERATE(false, true);
    auto ts = [&](uint32_t tsval, uint32_t tsecr) {
        auto o = timestamp(tsval, tsecr);
        if (odd) o.erase(o.begin()); // one NOP only: TSval at an odd offset
        return o;
    };
    Harness h;
    SECTION("passive open")
    {
        // Client clock ~100, PVM clock ~5000, SVM clock ~1000000.
        h.send({.dir = kTo, .flags = SYN, .seq = 7000, .options = ts(100, 0)});
        h.send({.dir = kFrom, .flags = SYN | ACK, .seq = 90000, .ack = 7001, .options = ts(1000000, 100)});
        Seen s = h.send_seen({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001, .options = ts(101, 5000)});
        CHECK(s.tsecr == 1000000u);
        CHECK(s.tsval == 101u); // the client's own clock is shared by both guests
        CHECK(s.checksum_ok);
        CHECK(h.conn()->ts_offset == 1000000 - 5000);

        s = h.send_seen(
            {.dir = kFrom, .flags = ACK | PSH, .seq = 90001, .ack = 7001, .options = ts(1000010, 101), .payload = 3});
        CHECK(s.tsval == 5010u);
        CHECK(s.tsecr == 101u);
        CHECK(s.seq == 50001);
        CHECK(s.checksum_ok);
        CHECK(h.rw.counters().tsecr_rewrites == 1);
        CHECK(h.rw.counters().tsval_rewrites == 1);
    }
    SECTION("guest-opened, SVM clock behind the PVM's (wraps)")
    {
        h.send({.dir = kFrom, .flags = SYN, .seq = 90000, .options = ts(777, 0)});
        Seen s = h.send_seen({.dir = kTo, .flags = SYN | ACK, .seq = 300, .ack = 50001, .options = ts(9, 4000000000u)});
        CHECK(s.tsecr == 777u);
        CHECK(s.ack == 90001);
        CHECK(s.checksum_ok);
        s = h.send_seen({.dir = kFrom, .flags = ACK, .seq = 90001, .ack = 301, .options = ts(780, 9)});
        CHECK(s.tsval == 4000000003u);
        CHECK(s.checksum_ok);
    }
}

TEST_CASE("rewriter: a malformed option list is left alone", "[rewriter]")
{
    Harness h;
    h.send({.dir = kTo, .flags = SYN, .seq = 7000, .options = timestamp(100, 0)});
    h.send({.dir = kFrom, .flags = SYN | ACK, .seq = 90000, .ack = 7001, .options = timestamp(1000000, 100)});
    h.send({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001, .options = timestamp(101, 5000)});
    auto bad = timestamp(102, 5000);
    bad.insert(bad.end(), {tcpopt::MSS, 9, 0, 0}); // length overruns the header
    Packet p = h.send({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50002, .options = bad});
    const Seen s = seen(p);
    CHECK(s.ack == 90002); // header fields are still translated
    const ParsedFrame f = parse_frame(p.data(), p.len, p.vnet_len);
    CHECK(load_be32(p.data() + f.l4_off + 20 + 8) == 5000u); // TSecr as sent
    CHECK(s.checksum_ok);
    CHECK(h.rw.counters().malformed_options == 1);
}

TEST_CASE("rewriter: checkpoint resets offsets mid-stream and keeps states", "[rewriter]")
{
    Harness h;
    h.passive_open();
    h.send({.dir = kTo, .flags = SYN, .seq = 1, .peer_port = 40001}); // half open
    h.send({.dir = kFrom, .flags = SYN | ACK, .seq = 777, .ack = 2, .peer_port = 40001});
    REQUIRE(h.send_seen({.dir = kFrom, .flags = ACK, .seq = 90001, .ack = 7001}).seq == 50001);

    h.rw.checkpoint();
    CHECK(h.state() == TcpState::established);
    CHECK(h.conn()->seq_offset == 0);
    CHECK(h.rw.counters().checkpoints == 1);

    // The SVM now runs the PVM's state: numbers pass unchanged.
    RewriteResult r;
    Seen s = h.send_seen({.dir = kFrom, .flags = ACK | PSH, .seq = 50001, .ack = 7001, .payload = 5}, &r);
    CHECK(r == RewriteResult::tracked);
    CHECK(s.seq == 50001);
    s = h.send_seen({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50006}, &r);
    CHECK(r == RewriteResult::tracked);
    CHECK(s.ack == 50006);

    // The half-open one completes without learning from its stale SYN/ACK.
    s = h.send_seen({.dir = kTo, .flags = ACK, .seq = 2, .ack = 5001, .peer_port = 40001}, &r);
    CHECK(r == RewriteResult::tracked);
    CHECK(h.state(40001) == TcpState::established);
}

TEST_CASE("rewriter: failover follows QEMU's rule", "[rewriter]")
{
    Harness h;
    h.passive_open();
    SECTION("offsets still needed: keep tracking new connections")
    {
        h.rw.failover();
        CHECK_FALSE(h.rw.failover_mode());
        h.send({.dir = kTo, .flags = SYN, .seq = 1, .peer_port = 40001});
        CHECK(h.rw.connection_count() == 2);
        CHECK(h.send_seen({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001}).ack == 90001);
    }
    SECTION("all offsets zero: new connections pass untracked")
    {
        h.rw.checkpoint();
        h.rw.failover();
        CHECK(h.rw.failover_mode());
        RewriteResult r;
        h.send({.dir = kTo, .flags = SYN, .seq = 1, .peer_port = 40001}, &r);
        CHECK(r == RewriteResult::passed);
        CHECK(h.rw.connection_count() == 1);
        h.send({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001}, &r);
        CHECK(r == RewriteResult::tracked); // known connections are still followed
    }
    CHECK(h.rw.counters().failovers == 1);
}

TEST_CASE("rewriter: idle connections expire, live ones stay", "[rewriter]")
{
    Harness h({}, TcpRewriterConfig{.idle_timeout_ms = 1000});
    h.passive_open(40000);
    h.now += 600'000'000;
    h.passive_open(40001);
    CHECK(h.rw.expire(h.now) == 0);

    h.now += 500'000'000; // first is 1.1 s idle, second 0.5 s
    CHECK(h.rw.expire(h.now) == 1);
    CHECK_FALSE(h.conn(40000));
    CHECK(h.conn(40001));

    h.send({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001, .peer_port = 40001}); // keeps it alive
    h.now += 999'000'000;
    CHECK(h.rw.expire(h.now) == 0);
    h.now += 1'000'000;
    CHECK(h.rw.expire(h.now) == 1);
    CHECK(h.rw.connection_count() == 0);
    CHECK(h.rw.counters().connections_expired == 2);
    CHECK(h.rw.connections_by_state()[std::size_t(TcpState::established)] == 0);
}

TEST_CASE("rewriter: idle_timeout_ms 0 never expires", "[rewriter]")
{
    Harness h({}, TcpRewriterConfig{.idle_timeout_ms = 0});
    h.passive_open();
    CHECK(h.rw.expire(h.now + 1'000'000'000'000'000ull) == 0);
    CHECK(h.rw.connection_count() == 1);
}

TEST_CASE("rewriter: the connection limit evicts the least recently used", "[rewriter]")
{
    Harness h({}, TcpRewriterConfig{.max_connections = 3});
    h.passive_open(1);
    h.passive_open(2);
    h.passive_open(3);
    h.send({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001, .peer_port = 1}); // 2 is now the oldest
    h.passive_open(4);
    CHECK(h.rw.connection_count() == 3);
    CHECK(h.rw.counters().connections_evicted == 1);
    CHECK(h.conn(1));
    CHECK_FALSE(h.conn(2));
    CHECK(h.conn(3));
    CHECK(h.conn(4));
}

TEST_CASE("rewriter: copy-on-write leaves a shared original untouched", "[rewriter]")
{
    Harness h;
    h.passive_open();
    Packet original = make({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001});
    const std::vector<uint8_t> before(original.data(), original.data() + original.len);

    Packet forwarded = original; // e.g. also held by a mirror
    REQUIRE(h.rw.process(forwarded, kTo, h.now) == RewriteResult::rewritten);
    CHECK(std::equal(before.begin(), before.end(), original.data()));
    CHECK(seen(original).ack == 50001);
    CHECK(seen(forwarded).ack == 90001);
    CHECK(h.rw.counters().copied_for_write == 1);

    // A sole owner is patched in place.
    const uint8_t* buffer = forwarded.data();
    REQUIRE(h.rw.process(forwarded, kTo, h.now) == RewriteResult::rewritten);
    CHECK(forwarded.data() == buffer);
    CHECK(h.rw.counters().copied_for_write == 1);
}

TEST_CASE("rewriter: a vnet header asking for checksum completion keeps its partial sum", "[rewriter]")
{
    Harness h({"vnet NEEDS_CSUM", false, 0, 12, 0x01});
    h.passive_open();
    Packet p = h.send({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50005});
    const ParsedFrame f = parse_frame(p.data(), p.len, p.vnet_len);
    CHECK(f.ack == 90005);
    CHECK(load_be16(p.data() + f.l4_off + 16) == 0x5a5a);
    CHECK(h.rw.counters().checksum_left_partial == 2);
}

TEST_CASE("rewriter: a 64 KiB TSO segment is translated and its partial checksum completes right", "[rewriter]")
{
    // The checksum field of a TSO segment holds the pseudo-header sum, which
    // a translation of SEQ/ACK leaves as it is (they are not in the pseudo-
    // header); the device then sums the translated segment. An incremental
    // update of the field, or a full checksum, would be wrong after that.
    for (const bool ipv6 : {false, true}) {
        const Layout l{.name = ipv6 ? "IPv6" : "IPv4", .ipv6 = ipv6, .vnet_len = 12};
        INFO(l.name);
        Harness h(l);
        h.passive_open();
        for (const Direction dir : {kFrom, kTo}) {
            INFO((dir == kFrom ? "from the guest" : "to the guest"));
            const Packet plain = make({.dir = dir,
                                       .flags = ACK | PSH,
                                       .seq = dir == kFrom ? 90001u : 7001u,
                                       .ack = dir == kFrom ? 7001u : 50001u,
                                       .payload = 60000,
                                       .layout = l});
            std::vector<uint8_t> tso(plain.data(), plain.data() + plain.len);
            frames::as_tso(tso, l.vnet_len, 1448);
            std::vector<uint8_t> completed = tso; // the helper itself gives the original checksum
            frames::complete_partial_checksum(completed.data(), completed.size(), l.vnet_len);
            REQUIRE(std::equal(completed.begin() + l.vnet_len, completed.end(), plain.frame()));

            Packet p = frames::packet(tso, l.vnet_len);
            REQUIRE(h.rw.process(p, dir, h.now) == RewriteResult::rewritten);
            std::vector<uint8_t> out(p.data(), p.data() + p.len);
            CHECK(std::equal(out.begin(), out.begin() + l.vnet_len, tso.begin())); // GSO header as it was
            const ParsedFrame f = parse_frame(out.data(), out.size(), l.vnet_len);
            if (dir == kFrom) CHECK(f.seq == 50001);
            else CHECK(f.ack == 90001);
            frames::complete_partial_checksum(out.data(), out.size(), l.vnet_len);
            CHECK(l4_checksum_ok(out.data(), f));
        }
        CHECK(h.rw.counters().checksum_left_partial == 2);
    }
}

TEST_CASE("rewriter: non-TCP, fragments and untracked segments pass untouched", "[rewriter]")
{
    Harness h;
    h.passive_open();
    auto unchanged = [&](Packet p, Direction d) {
        const std::vector<uint8_t> before(p.data(), p.data() + p.len);
        CHECK(h.rw.process(p, d, h.now) == RewriteResult::passed);
        CHECK(std::equal(before.begin(), before.end(), p.data()));
    };
    Packet tcp = make({.dir = kTo, .flags = ACK, .seq = 7001, .ack = 50001});
    const uint32_t ip = 14;

    Packet udp = Packet::copy_of(tcp.data(), tcp.len);
    udp.mutable_data()[ip + 9] = 17;
    unchanged(udp, kTo);

    Packet fragment = Packet::copy_of(tcp.data(), tcp.len);
    fragment.mutable_data()[ip + 6] |= 0x20; // more fragments
    unchanged(fragment, kTo);

    Packet arp = Packet::copy_of(tcp.data(), tcp.len);
    store_be16(arp.mutable_data() + 12, 0x0806);
    unchanged(arp, kTo);

    Packet runt = Packet::copy_of(tcp.data(), 20);
    unchanged(runt, kFrom);

    CHECK(h.rw.counters().passed_not_tcp == 4);

    // Mid-stream segments of a connection whose SYN was never seen.
    unchanged(make({.dir = kTo, .flags = ACK, .seq = 1, .ack = 2, .peer_port = 555}), kTo);
    unchanged(make({.dir = kFrom, .flags = SYN | ACK, .seq = 1, .ack = 2, .peer_port = 556}), kFrom);
    CHECK(h.rw.counters().passed_untracked == 2);
    CHECK(h.rw.connection_count() == 1);
}

TEST_CASE("rewriter: 1000 concurrent connections with their own offsets", "[rewriter]")
{
    Harness h;
    for (uint16_t i = 0; i < 1000; ++i)
        h.passive_open(uint16_t(10000 + i), 1000u * i, 7u * i + 3u, 0xffff0000u + 13u * i);
    CHECK(h.rw.connection_count() == 1000);
    CHECK(h.rw.connections_by_state()[std::size_t(TcpState::established)] == 1000);
    for (uint16_t i = 0; i < 1000; ++i) {
        const uint16_t port = uint16_t(10000 + i);
        const uint32_t svm = 7u * i + 3u, pvm = 0xffff0000u + 13u * i;
        Seen s = h.send_seen({.dir = kFrom, .flags = ACK, .seq = svm + 1, .ack = 1000u * i + 1, .peer_port = port});
        REQUIRE(s.seq == pvm + 1);
        REQUIRE(s.checksum_ok);
        s = h.send_seen({.dir = kTo, .flags = ACK, .seq = 1000u * i + 1, .ack = pvm + 1, .peer_port = port});
        REQUIRE(s.ack == svm + 1);
    }
    for (uint16_t i = 0; i < 1000; ++i)
        h.send({.dir = kTo, .flags = RST, .seq = 1000u * i + 1, .peer_port = uint16_t(10000 + i)});
    CHECK(h.rw.connection_count() == 0);
    CHECK(h.rw.counters().connections_reset == 1000);
}

TEST_CASE("tcp options: the walk finds SACK and timestamps and rejects broken lists", "[rewriter]")
{
    auto scan = [](std::vector<uint8_t> o) { return scan_tcp_options(o.data(), 0, uint32_t(o.size())); };
    const auto both = scan(timestamp(1, 2) + sack({{3, 4}, {5, 6}}));
    CHECK_FALSE(both.malformed);
    CHECK(both.tsval_off == 4u);
    CHECK(both.sack_off == 16u);
    CHECK(both.sack_blocks == 2);

    // Nothing after End-of-Option-List counts, even a broken length.
    const auto after_eol = scan(std::vector<uint8_t>{tcpopt::EOL, tcpopt::MSS, 0} + timestamp(1, 2));
    CHECK_FALSE(after_eol.malformed);
    CHECK_FALSE(after_eol.tsval_off);

    const std::vector<std::vector<uint8_t>> broken = {
        {tcpopt::NOP, tcpopt::MSS},                             // kind without a length byte
        {tcpopt::MSS, 1, 0, 0},                                 // length below 2
        {tcpopt::MSS, 6, 0, 0},                                 // overruns the options
        {tcpopt::TIMESTAMP, 8, 0, 0, 0, 0, 0, 0},               // timestamp of the wrong size
        {tcpopt::SACK, 2, tcpopt::NOP, tcpopt::NOP},            // SACK without blocks
        {tcpopt::SACK, 7, 0, 0, 0, 0, 0, 0},                    // partial block
        timestamp(1, 2) + timestamp(3, 4),                      // duplicate timestamp
        timestamp(1, 2) + std::vector<uint8_t>{tcpopt::MSS, 0}, // zero length after a good option
    };
    for (const auto& o : broken) {
        const auto r = scan(o);
        CHECK(r.malformed);
        CHECK_FALSE(r.tsval_off); // a broken list yields nothing to edit
        CHECK_FALSE(r.sack_off);
    }
}

TEST_CASE("rewriter: state names", "[rewriter]")
{
    std::vector<std::string> names;
    for (std::size_t i = 0; i < kTcpStateCount; ++i) names.push_back(to_string(TcpState(i)));
    CHECK(names.front() == "closed");
    CHECK(names.back() == "last_ack");
    std::sort(names.begin(), names.end());
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
    CHECK(std::find(names.begin(), names.end(), "?") == names.end());
}

TEST_CASE("rewriter: counter table names every counter once", "[rewriter]")
{
    const auto table = TcpRewriter::counter_table();
    CHECK(table.size() * sizeof(uint64_t) == sizeof(TcpRewriterCounters));
    for (std::size_t i = 0; i < table.size(); ++i) {
        CHECK(std::string(table[i].doc).size() > 0);
        for (std::size_t j = i + 1; j < table.size(); ++j) {
            CHECK(std::string(table[i].name) != table[j].name);
            CHECK(table[i].field != table[j].field);
        }
    }
    Harness h;
    h.passive_open();
    const TcpRewriterCounters& c = h.rw.counters();
    uint64_t packets = 0;
    for (const auto& info : table)
        if (std::string(info.name) == "packets") packets = c.*info.field;
    CHECK(packets == 3);
}
