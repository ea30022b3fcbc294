// Comparator: TCP byte-stream comparison (QEMU: net/colo-compare.c
// colo_compare_tcp(), colo_mark_tcp_pkt(); docs/comparator.md, "TCP" and the
// differences from QEMU).
#include <catch2/catch.hpp>

#include <string>

#include "tests/proto/test_comparator_harness.hh"

using namespace colo;
using namespace colo::testing;
using frames::Endpoints;

namespace {
constexpr uint8_t kPsh = tcpflag::ACK | tcpflag::PSH;
} // namespace

TEST_CASE("compare tcp: identical segments release the primary, byte-identical", "[compare]")
{
    CompareHarness h;
    Endpoints p_ep, s_ep;
    p_ep.vnet_len = 10;
    s_ep.ip_id = 777; // headers, options and window are ignored
    s_ep.ttl = 3;
    const auto p = frames::tcp(p_ep, 1000, 50, kPsh, "hello", {1, 1, 1, 0}, 1000);
    const auto s = frames::tcp(s_ep, 1000, 50, kPsh, "hello", {2, 4, 0x05, 0xb4}, 29200);

    const Packet handle = frames::packet(p, 10);
    h.cmp.primary(handle, h.now, h.out);
    CHECK(h.out.released.empty());
    CHECK(h.counters().queued_primary == 1);
    h.secondary(s);
    REQUIRE(h.out.released.size() == 1);
    CHECK(h.out.released[0].buf.get() == handle.buf.get()); // the same buffer, not a copy
    CHECK(h.out.released[0].vnet_len == 10);
    CHECK(h.take_released()[0] == p);
    CHECK(h.out.events.empty());
    CHECK(h.counters().released_matched == 1);
    CHECK(h.counters().secondary_matched == 1);
    CHECK(h.counters().bytes_matched == 5);
    CHECK(h.counters().queued_primary == 0);
    CHECK(h.counters().queued_secondary == 0);
}

TEST_CASE("compare tcp: different segmentation matches by stream position", "[compare]")
{
    const std::string data = pattern(1024);
    Endpoints ep;
    const auto seg = [&](uint32_t off, uint32_t len) {
        return frames::tcp(ep, 5000 + off, 1, kPsh, data.substr(off, len));
    };

    using Segments = std::vector<std::pair<uint32_t, uint32_t>>; // (offset, length)
    static const std::vector<std::pair<Segments, Segments>> splits{
        {{{0, 1024}}, {{0, 512}, {512, 512}}},
        {{{0, 512}, {512, 512}}, {{0, 1024}}},
        {{{0, 300}, {300, 300}, {600, 424}}, {{0, 700}, {700, 324}}},
        {{{0, 700}, {700, 324}}, {{0, 300}, {300, 300}, {600, 424}}},
    };
    const auto& [primary_segs, secondary_segs] = splits[GENERATE(range(0, 4))];
    const bool secondary_first = GENERATE(false, true);

    CompareHarness h;
    std::vector<std::vector<uint8_t>> expected;
    for (auto [o, l] : primary_segs) expected.push_back(seg(o, l));
    if (secondary_first)
        for (auto [o, l] : secondary_segs) h.secondary(seg(o, l));
    for (auto [o, l] : primary_segs) h.primary(seg(o, l));
    if (!secondary_first)
        for (auto [o, l] : secondary_segs) h.secondary(seg(o, l));

    CHECK(h.take_released() == expected);
    CHECK(h.out.events.empty());
    CHECK(h.counters().bytes_matched == 1024);
    // Nothing is left behind to time out later.
    CHECK(h.counters().queued_primary == 0);
    CHECK(h.counters().queued_secondary == 0);
}

TEST_CASE("compare tcp: the primary is released as soon as the secondary covers it", "[compare]")
{
    Endpoints ep;
    CompareHarness h;
    h.primary(frames::tcp(ep, 0, 1, kPsh, "0123456789"));
    h.secondary(frames::tcp(ep, 0, 1, kPsh, "01234"));
    CHECK(h.out.released.empty()); // 1x10 vs first of 2x5
    CHECK(h.counters().queued_secondary == 0);
    h.secondary(frames::tcp(ep, 5, 1, kPsh, "56789"));
    CHECK(h.take_released().size() == 1);
}

TEST_CASE("compare tcp: ACK gate holds data the secondary has not acknowledged", "[compare]")
{
    // QEMU's ACK gate (colo_mark_tcp_pkt()); QEMU 7.2.22 holds this pair the same way.
    Endpoints ep;
    CompareHarness h;
    const auto p = frames::tcp(ep, 4000, 900, kPsh, "abc");
    h.primary(p);
    h.secondary(frames::tcp(ep, 4000, 800, kPsh, "abcdef"));
    CHECK(h.out.released.empty());
    CHECK(h.out.events.empty()); // a hold, not a mismatch
    CHECK(h.counters().ack_gate_holds == 1);
    CHECK(h.counters().mismatches == 0);

    h.secondary(frames::tcp(ep, 4006, 1000, kAck, "")); // secondary pure ACK raises its ACK
    CHECK(h.take_released() == Frames{p});
    CHECK(h.cmp.checkpoint_pending() == false);
}

TEST_CASE("compare tcp: a larger primary ACK does not block an identical range", "[compare]")
{
    Endpoints ep;
    CompareHarness h;
    h.primary(frames::tcp(ep, 4000, 900, kPsh, "abc"));
    h.secondary(frames::tcp(ep, 4000, 800, kPsh, "abc"));
    CHECK(h.take_released().size() == 1);
}

TEST_CASE("compare tcp: ACK tracking is wrap-aware", "[compare]")
{
    Endpoints ep;
    CompareHarness h;
    const auto p = frames::tcp(ep, 100, 0x00000010, kPsh, "abc");
    h.primary(p);
    h.secondary(frames::tcp(ep, 100, 0xfffffff0, kPsh, "abcdef")); // acknowledged less, before the wrap
    CHECK(h.out.released.empty());
    h.secondary(frames::tcp(ep, 106, 0x00000008, kAck, "")); // still less
    CHECK(h.out.released.empty());
    h.secondary(frames::tcp(ep, 106, 0x00000020, kAck, "")); // now more, after the wrap
    CHECK(h.take_released() == Frames{p});
}

TEST_CASE("compare tcp: a pure ACK waits for any secondary packet of its connection", "[compare]")
{
    Endpoints ep;
    CompareHarness h;
    const auto ack = frames::tcp(ep, 700, 1234, kAck, "");
    h.primary(ack);
    Endpoints other = ep;
    other.sport = 999;
    h.secondary(frames::tcp(other, 700, 1234, kAck, "")); // another connection does not count
    CHECK(h.out.released.empty());

    SECTION("released by the secondary's pure ACK")
    {
        h.secondary(frames::tcp(ep, 700, 1234, kAck, ""));
        CHECK(h.take_released() == Frames{ack});
        CHECK(h.counters().queued_secondary == 1); // only the other connection's
    }
    SECTION("released by secondary data, which stays queued for its twin")
    {
        h.secondary(frames::tcp(ep, 700, 1234, kPsh, "data"));
        CHECK(h.take_released() == Frames{ack});
        const auto data = frames::tcp(ep, 700, 1234, kPsh, "data");
        h.primary(data);
        CHECK(h.take_released() == Frames{data});
    }
}

TEST_CASE("compare tcp: Ethernet padding is not payload", "[compare]")
{
    Endpoints padded, plain;
    padded.pad_to = 60;
    CompareHarness h;
    const auto p = frames::tcp(padded, 10, 20, kPsh, "ab");
    REQUIRE(p.size() == 60);
    h.primary(p);
    h.secondary(frames::tcp(plain, 10, 20, kPsh, "ab"));
    CHECK(h.take_released() == Frames{p});
    CHECK(h.counters().mismatches == 0);
    CHECK(h.counters().bytes_matched == 2);

    // A padded pure ACK against data would be data in QEMU; here it is a pure ACK.
    const auto pure = frames::tcp(padded, 12, 20, kAck, "");
    h.primary(pure);
    h.secondary(frames::tcp(plain, 12, 20, kAck, ""));
    CHECK(h.take_released() == Frames{pure});
    CHECK(h.counters().mismatches == 0);
}

TEST_CASE("compare tcp: out-of-order primary segments are released in sequence order", "[compare]")
{
    Endpoints ep;
    CompareHarness h;
    const auto second = frames::tcp(ep, 1005, 1, kPsh, "world");
    const auto first = frames::tcp(ep, 1000, 1, kPsh, "hello");
    h.primary(second);
    h.primary(first);
    h.secondary(frames::tcp(ep, 1000, 1, kPsh, "helloworld"));
    CHECK(h.take_released() == Frames{first, second});
}

TEST_CASE("compare tcp: retransmission of verified data is released", "[compare]")
{
    Endpoints ep;
    CompareHarness h;
    const auto data = frames::tcp(ep, 1000, 1, kPsh, "hello");
    h.both(data);
    CHECK(h.take_released().size() == 1);

    // Its bytes were compared already: released at once, with no secondary
    // packet queued (QEMU waits for one, and a connection that goes quiet
    // then times out).
    h.primary(data); // retransmitted
    CHECK(h.take_released() == Frames{data});
    CHECK(h.counters().released_retransmit == 1);
    CHECK(h.counters().queued_primary == 0);

    // A secondary retransmission of verified data is freed, not compared.
    h.secondary(data);
    h.primary(frames::tcp(ep, 1005, 1, kPsh, "next"));
    h.secondary(frames::tcp(ep, 1005, 1, kPsh, "next"));
    CHECK(h.take_released().size() == 1);
    CHECK(h.counters().queued_secondary == 0);
    CHECK(h.counters().mismatches == 0);
}

TEST_CASE("compare tcp: payload mismatch raises one request with offset and context", "[compare]")
{
    Endpoints ep;
    CompareHarness h;
    h.primary(frames::tcp(ep, 1000, 1, kPsh, "abcd"));
    h.secondary(frames::tcp(ep, 1000, 1, kPsh, "abcd"));
    CHECK(h.take_released().size() == 1);

    const std::string pdata = "0123456789 the primary says hello, and continues for a while";
    const std::string sdata = "0123456789 the primary says HELLO, and continues for a while";
    h.primary(frames::tcp(ep, 1004, 1, kPsh, pdata));
    h.now += 5 * kMs;
    h.secondary(frames::tcp(ep, 1004, 1, kPsh, sdata));
    CHECK(h.out.released.empty());
    auto events = h.take_events();
    REQUIRE(events.size() == 1);
    const CheckpointRequest& e = events[0];
    CHECK(e.reason == CheckpointReason::mismatch);
    CHECK(std::string(to_string(e.reason)) == "mismatch");
    CHECK(e.flow.to_string() == "tcp 10.0.0.1:1234 > 10.0.0.2:80");
    CHECK(e.time_ns == h.now);
    REQUIRE(e.divergence);
    const Divergence& d = *e.divergence;
    const std::size_t at = pdata.find("hello");
    CHECK(d.tcp);
    CHECK(d.offset == 4 + at); // stream offset from the connection's first compared byte
    CHECK(d.seq == 1004 + at);
    CHECK(d.lead == 8);
    CHECK(text(d.primary.data(), d.primary_len) == pdata.substr(at - 8, 32));
    CHECK(text(d.secondary.data(), d.secondary_len) == sdata.substr(at - 8, 32));

    // Both stay queued; later arrivals re-compare, and the request is de-duplicated.
    CHECK(h.counters().queued_primary == 1);
    CHECK(h.counters().queued_secondary == 1);
    h.primary(frames::tcp(ep, 1004 + uint32_t(pdata.size()), 1, kPsh, "more"));
    CHECK(h.take_events().empty());
    CHECK(h.counters().mismatches == 2);
    CHECK(h.counters().requests_suppressed == 1);
    CHECK(h.counters().checkpoint_requests == 1);

    h.cmp.checkpoint_done(h.out);
    CHECK(h.take_released().size() == 2); // both primaries flushed
    CHECK(h.counters().secondary_dropped_flush == 1);

    // The next divergence is reported again.
    h.primary(frames::tcp(ep, 2000, 1, kPsh, "x"));
    h.secondary(frames::tcp(ep, 2000, 1, kPsh, "y"));
    CHECK(h.take_events().size() == 1);
}

TEST_CASE("compare tcp: a shorter secondary that is misaligned is a mismatch, not an overread", "[compare]")
{
    Endpoints ep;
    CompareHarness h;
    h.primary(frames::tcp(ep, 100, 1, kPsh, "abcdef"));
    h.secondary(frames::tcp(ep, 103, 1, kPsh, "abc")); // covers up to 106, but from 103
    auto events = h.take_events();
    REQUIRE(events.size() == 1);
    REQUIRE(events[0].divergence);
    CHECK(events[0].divergence->offset == 3); // "abc" matched "abc"; then the secondary ran out
    CHECK(h.out.released.empty());
}

TEST_CASE("compare tcp: sequence numbers wrapping around 2^32", "[compare]")
{
    Endpoints ep;
    CompareHarness h;
    const auto before = frames::tcp(ep, 0xfffffff8, 1, kPsh, "01234567");
    const auto after = frames::tcp(ep, 0, 1, kPsh, "89abcdef");
    h.primary(after); // out of order across the wrap
    h.primary(before);
    h.cmp.checkpoint_done(h.out);
    CHECK(h.take_released() == Frames{before, after}); // flush order is sequence order

    CompareHarness w;
    w.primary(after);
    w.primary(before);
    w.secondary(frames::tcp(ep, 0xfffffff8, 1, kPsh, "0123456789abcdef"));
    CHECK(w.take_released() == Frames{before, after});
    CHECK(w.counters().bytes_matched == 16);

    // A mismatch after the wrap reports its stream offset and absolute seq.
    w.primary(frames::tcp(ep, 8, 1, kPsh, "ghij"));
    w.secondary(frames::tcp(ep, 8, 1, kPsh, "ghiJ"));
    auto events = w.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].divergence->offset == 19);
    CHECK(events[0].divergence->seq == 11);
}
