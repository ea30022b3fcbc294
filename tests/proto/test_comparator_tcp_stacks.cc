// Comparator: what real TCP stacks do to the two streams (retransmissions that
// straddle the verified point, gaps, duplicates, reordering, resends after an
// RTO, a late SYN/ACK) never costs a checkpoint, and a byte that differs
// inside any of them is still reported at its stream offset.
#include <catch2/catch.hpp>

#include <string>

#include "tests/proto/test_comparator_harness.hh"

using namespace colo;
using namespace colo::testing;
using frames::Endpoints;

namespace {

constexpr uint8_t kPsh = tcpflag::ACK | tcpflag::PSH;
constexpr uint32_t kMss = 1448;
constexpr uint32_t kIsn = 7000; // the PVM's; data starts at kIsn + 1
constexpr uint32_t kAckNo = 300;

// One direction of one connection: segments of `data` by stream offset.
struct Stream {
    Endpoints ep;
    std::string data = pattern(6 * kMss);
    std::vector<uint8_t> seg(uint32_t off, uint32_t len, uint32_t ack = kAckNo) const
    {
        return frames::tcp(ep, kIsn + 1 + off, ack, kPsh, data.substr(off, len));
    }
};

// The secondary's copy of the stream with one byte changed.
Stream flipped(const Stream& s, uint32_t at)
{
    Stream f = s;
    f.data[at] ^= 0xff;
    return f;
}

void require_clean(CompareHarness& h, std::size_t primaries)
{
    CHECK(h.out.events.empty());
    CHECK(h.out.released.size() == primaries);
    CHECK(h.counters().queued_primary == 0);
    CHECK(h.counters().queued_secondary == 0);
    CHECK(h.counters().mismatches == 0);
}

uint64_t mismatch_offset(CompareHarness& h)
{
    const auto events = h.take_events();
    REQUIRE(events.size() == 1);
    REQUIRE(events[0].divergence);
    CHECK(events[0].divergence->seq == kIsn + 1 + events[0].divergence->offset);
    return events[0].divergence->offset;
}

} // namespace

TEST_CASE("compare tcp stacks: a secondary retransmission straddling the verified point", "[compare]")
{
    const Stream pri;
    const bool flip = GENERATE(false, true);
    const Stream sec = flip ? flipped(pri, 2000) : pri;
    CompareHarness h;
    h.both(pri.seg(0, kMss)); // verified up to 1448
    h.primary(pri.seg(kMss, kMss));
    h.secondary(sec.seg(0, 2 * kMss)); // Linux collapses retransmitted segments
    if (flip) {
        CHECK(mismatch_offset(h) == 2000);
        return;
    }
    h.primary(pri.seg(2 * kMss, kMss));
    h.secondary(sec.seg(2 * kMss, kMss));
    require_clean(h, 3);
    CHECK(h.counters().bytes_matched == 3 * kMss);
}

TEST_CASE("compare tcp stacks: a primary retransmission straddling the verified point", "[compare]")
{
    const Stream pri;
    const bool flip = GENERATE(false, true);
    const Stream sec = flip ? flipped(pri, 1500) : pri;
    CompareHarness h;
    h.both(pri.seg(0, kMss));
    h.primary(pri.seg(0, 2 * kMss)); // the primary's collapsed resend, before its [1448,2896) reached us
    h.secondary(sec.seg(kMss, kMss));
    if (flip) {
        CHECK(mismatch_offset(h) == 1500);
        return;
    }
    h.primary(pri.seg(kMss, kMss)); // the original, now verified: released at once
    h.both(pri.seg(2 * kMss, kMss));
    require_clean(h, 4);
    CHECK(h.counters().released_retransmit == 1);
}

TEST_CASE("compare tcp stacks: a gap in either stream is waited for", "[compare]")
{
    const Stream pri;
    const bool secondary_gap = GENERATE(false, true);
    const bool flip = GENERATE(false, true);
    const Stream sec = flip ? flipped(pri, kMss + 7) : pri; // inside the late segment
    CompareHarness h;
    h.both(pri.seg(0, kMss));
    // [1448,2896) arrives after the two segments that follow it.
    const auto late_side = [&](uint32_t off) { return secondary_gap ? sec.seg(off, kMss) : pri.seg(off, kMss); };
    const auto on_time_side = [&](uint32_t off) { return secondary_gap ? pri.seg(off, kMss) : sec.seg(off, kMss); };
    for (uint32_t i = 1; i < 4; ++i) {
        if (secondary_gap) h.primary(on_time_side(i * kMss));
        else h.secondary(on_time_side(i * kMss));
    }
    for (uint32_t i = 2; i < 4; ++i) {
        if (secondary_gap) h.secondary(late_side(i * kMss));
        else h.primary(late_side(i * kMss));
    }
    CHECK(h.out.events.empty()); // missing data is not different data
    CHECK(h.out.released.size() == 1);
    if (secondary_gap) h.secondary(late_side(kMss));
    else h.primary(late_side(kMss));
    if (flip) {
        CHECK(mismatch_offset(h) == kMss + 7);
        return;
    }
    require_clean(h, 4);
    CHECK(h.take_released() ==
          Frames{pri.seg(0, kMss), pri.seg(kMss, kMss), pri.seg(2 * kMss, kMss), pri.seg(3 * kMss, kMss)});
}

TEST_CASE("compare tcp stacks: bytes both sides hold across a gap are compared at once", "[compare]")
{
    const Stream pri;
    const Stream sec = flipped(pri, 2 * kMss + 100);
    CompareHarness h;
    h.both(pri.seg(0, kMss));
    h.primary(pri.seg(kMss, 2 * kMss));   // [1448,4344)
    h.secondary(sec.seg(2 * kMss, kMss)); // [2896,4344): [1448,2896) still missing
    CHECK(mismatch_offset(h) == 2 * kMss + 100);
}

TEST_CASE("compare tcp stacks: bytes both sides skipped are not waited for", "[compare]")
{
    const Stream pri;
    CompareHarness h;
    h.both(pri.seg(0, kMss));
    h.primary(pri.seg(2 * kMss, kMss)); // neither side sent [1448,2896) (so far)
    h.secondary(pri.seg(2 * kMss, kMss));
    CHECK(h.out.released.size() == 2);
    CHECK(h.out.events.empty());
    h.primary(pri.seg(kMss, kMss)); // late: counted as verified, released at once
    CHECK(h.out.released.size() == 3);
    h.secondary(flipped(pri, 3 * kMss + 3).seg(3 * kMss, kMss));
    h.primary(pri.seg(3 * kMss, kMss));
    CHECK(mismatch_offset(h) == 3 * kMss + 3); // stream offsets still count the skipped bytes
}

TEST_CASE("compare tcp stacks: duplicates and swapped segments on one side", "[compare]")
{
    const Stream pri;
    const bool on_secondary = GENERATE(false, true);
    const bool flip = GENERATE(false, true);
    const Stream sec = flip ? flipped(pri, 3 * kMss + 1) : pri; // inside the swapped pair
    CompareHarness h;
    // The disordered side: #0, #1, #1 again (a spurious retransmission), #3
    // before #2, #4. The other side is in order, and goes first.
    const std::vector<uint32_t> order{0, 1, 1, 3, 2, 4};
    for (uint32_t i = 0; i < 5; ++i) {
        if (on_secondary) h.primary(pri.seg(i * kMss, kMss));
        else h.secondary(sec.seg(i * kMss, kMss));
    }
    for (uint32_t i : order) {
        if (on_secondary) h.secondary(sec.seg(i * kMss, kMss));
        else h.primary(pri.seg(i * kMss, kMss));
    }
    if (flip) {
        CHECK(mismatch_offset(h) == 3 * kMss + 1);
        return;
    }
    require_clean(h, on_secondary ? 5 : 6);
    CHECK(h.counters().bytes_matched == 5 * kMss);
}

TEST_CASE("compare tcp stacks: a resend after an RTO, segmented differently on each side", "[compare]")
{
    const Stream pri;
    const bool flip = GENERATE(false, true);
    const Stream sec = flip ? flipped(pri, 3 * kMss + 9) : pri;
    CompareHarness h;
    // Both sent #0..#3; only #0 and #1 have been compared when the RTO fires.
    for (uint32_t i = 0; i < 4; ++i) h.primary(pri.seg(i * kMss, kMss));
    h.secondary(sec.seg(0, kMss));
    h.secondary(sec.seg(kMss, kMss));
    // Both resend from #1: the primary in one 3-MSS segment, the secondary
    // as 2 MSS + 1 MSS.
    h.primary(pri.seg(kMss, 3 * kMss));
    h.secondary(sec.seg(kMss, 2 * kMss));
    h.secondary(sec.seg(3 * kMss, kMss));
    if (flip) {
        CHECK(mismatch_offset(h) == 3 * kMss + 9);
        return;
    }
    require_clean(h, 5);
    CHECK(h.counters().bytes_matched == 4 * kMss);
}

TEST_CASE("compare tcp stacks: the secondary's SYN/ACK arrives after the primary's data", "[compare]")
{
    const Stream pri;
    const bool flip = GENERATE(false, true);
    const Stream sec = flip ? flipped(pri, 40) : pri;
    const uint32_t client_isn = 100, replied = client_isn + 1 + 60; // the client's request: 60 bytes
    CompareHarness h;
    // The primary: SYN/ACK, then the first part of the reply, acknowledging
    // the client's request.
    h.primary(frames::tcp(pri.ep, kIsn, client_isn + 1, tcpflag::SYN | tcpflag::ACK, ""));
    h.primary(pri.seg(0, 700, replied));
    // The secondary's SYN/ACK (its own ISN: the rewriter does not translate
    // it) comes only now, then the reply in one segment.
    h.secondary(frames::tcp(sec.ep, 99999, client_isn + 1, tcpflag::SYN | tcpflag::ACK, ""));
    CHECK(h.out.released.size() == 1); // the primary's SYN/ACK
    h.secondary(sec.seg(0, kMss, replied));
    if (flip) {
        CHECK(mismatch_offset(h) == 40);
        return;
    }
    // Both sides have acknowledged the request: the ACK gate is open without
    // waiting for the primary's next packet.
    CHECK(h.out.released.size() == 2);
    CHECK(h.counters().ack_gate_holds == 0);
    h.primary(pri.seg(700, kMss - 700, replied));
    require_clean(h, 3);
}

TEST_CASE("compare tcp stacks: after a checkpoint the comparison goes on past the flushed data", "[compare]")
{
    const Stream pri;
    const Stream sec = flipped(pri, kMss + 1);
    CompareHarness h;
    h.both(pri.seg(0, kMss));
    h.primary(pri.seg(kMss, kMss));
    h.primary(pri.seg(2 * kMss, kMss));
    h.secondary(sec.seg(kMss, kMss));
    CHECK(mismatch_offset(h) == kMss + 1);
    h.cmp.checkpoint_done(h.out);
    CHECK(h.take_released().size() == 3);
    // The secondary's late copy of flushed data is freed, not compared.
    h.secondary(sec.seg(2 * kMss, kMss));
    h.both(pri.seg(3 * kMss, kMss));
    CHECK(h.take_released() == Frames{pri.seg(3 * kMss, kMss)});
    CHECK(h.out.events.empty());
    CHECK(h.counters().queued_secondary == 0);
    // A later divergence is reported at its true stream offset.
    h.primary(pri.seg(4 * kMss, kMss));
    h.secondary(flipped(pri, 4 * kMss + 5).seg(4 * kMss, kMss));
    CHECK(mismatch_offset(h) == 4 * kMss + 5);
}

TEST_CASE("compare tcp stacks: the report says why each primary is held", "[compare]")
{
    const Stream pri;
    Endpoints other = pri.ep;
    CompareHarness h;
    const auto reasons = [&](uint16_t sport) {
        std::vector<HoldReason> r;
        for (const auto& c : h.cmp.report())
            if (c.key.sport == sport || c.key.dport == sport)
                for (const auto& held : c.held) r.push_back(held.reason);
        return r;
    };
    using R = HoldReason;

    SECTION("waiting for the secondary, then a gap on the secondary side")
    {
        h.both(pri.seg(0, kMss));
        h.primary(pri.seg(kMss, kMss));
        h.primary(pri.seg(2 * kMss, kMss));
        CHECK(reasons(pri.ep.sport) == std::vector<R>{R::secondary_bytes, R::secondary_bytes});
        h.secondary(pri.seg(2 * kMss, kMss));
        CHECK(reasons(pri.ep.sport) == std::vector<R>{R::secondary_gap, R::secondary_gap});
    }
    SECTION("a gap on the primary side")
    {
        h.both(pri.seg(0, kMss));
        h.primary(pri.seg(2 * kMss, kMss));
        h.secondary(pri.seg(kMss, kMss));
        h.secondary(pri.seg(2 * kMss, kMss));
        CHECK(reasons(pri.ep.sport) == std::vector<R>{R::primary_gap});
    }
    SECTION("the ACK gate, and a pure ACK")
    {
        h.both(pri.seg(0, kMss));
        h.primary(pri.seg(kMss, kMss, kAckNo + 50)); // acknowledges client data the secondary has not
        h.secondary(pri.seg(kMss, 2 * kMss));
        CHECK(reasons(pri.ep.sport) == std::vector<R>{R::ack_gate});
        other.sport = 4444;
        h.primary(frames::tcp(other, 1, 1, kAck, ""));
        CHECK(reasons(4444) == std::vector<R>{R::secondary_packet});
    }
    SECTION("behind a divergence, until the checkpoint")
    {
        h.primary(pri.seg(0, kMss));
        h.primary(pri.seg(kMss, kMss));
        h.secondary(flipped(pri, 10).seg(0, kMss));
        CHECK(reasons(pri.ep.sport) == std::vector<R>{R::diverged, R::diverged});
        h.cmp.checkpoint_done(h.out);
        h.primary(pri.seg(2 * kMss, kMss));
        CHECK(reasons(pri.ep.sport) == std::vector<R>{R::secondary_bytes});
    }
}

TEST_CASE("compare tcp stacks: a surplus pure ACK of the secondary never times out", "[compare]")
{
    // The secondary's stack resends its FIN (a tail-loss probe); the primary's
    // does not. Paired one for one, the secondary's last ACK is left over.
    const Stream pri;
    CompareHarness h;
    const uint32_t end = kIsn + 1 + kMss;
    const auto fin = frames::tcp(pri.ep, end, kAckNo, tcpflag::FIN | tcpflag::ACK, "");
    const auto last_ack = frames::tcp(pri.ep, end + 1, kAckNo + 1, kAck, "");
    h.both(pri.seg(0, kMss));
    h.primary(fin);
    h.secondary(fin);
    h.secondary(fin);
    h.primary(last_ack);
    h.secondary(last_ack);
    CHECK(h.take_released().size() == 3);
    CHECK(h.counters().queued_secondary == 1);

    const uint64_t timeout = uint64_t(h.cmp.config().compare_timeout_ms) * kMs;
    h.tick_at(h.now + timeout + kMs);
    CHECK(h.out.events.empty()); // nothing to compare is no reason for a checkpoint
    CHECK(h.counters().timeouts == 0);
    // The closing connection still expires, and the leftover is accounted for.
    h.tick_at(h.now + uint64_t(h.cmp.config().expired_scan_cycle_ms) * kMs);
    CHECK(h.counters().connections_expired == 1);
    CHECK(h.counters().secondary_dropped_expired == 1);
    CHECK(h.counters().queued_secondary == 0);
}

TEST_CASE("compare tcp stacks: secondary data that never finds a primary still times out", "[compare]")
{
    const Stream pri;
    CompareHarness h;
    h.secondary(pri.seg(0, kMss));
    h.tick_at(h.now + uint64_t(h.cmp.config().compare_timeout_ms) * kMs + kMs);
    const auto events = h.take_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == CheckpointReason::timeout);
    CHECK(events[0].side == CompareSide::secondary);
}

TEST_CASE("compare tcp stacks: a primary's control packet the secondary has already sent is not held", "[compare]")
{
    const Stream pri;
    CompareHarness h;
    const uint32_t end = kIsn + 1 + kMss;
    const auto fin = frames::tcp(pri.ep, end, kAckNo, tcpflag::FIN | tcpflag::ACK, "");
    h.both(pri.seg(0, kMss));

    SECTION("the primary's stack resends its FIN (a tail-loss probe), the secondary's does not")
    {
        h.secondary(fin);
        h.primary(fin);
        h.primary(fin);
        CHECK(h.take_released().size() == 3);
    }
    SECTION("the primary acknowledges the client's FIN, then sends its own, and the secondary sends both in one")
    {
        const auto ack = frames::tcp(pri.ep, end, kAckNo + 1, kAck, "");
        const auto fin_ack = frames::tcp(pri.ep, end, kAckNo + 1, tcpflag::FIN | tcpflag::ACK, "");
        h.secondary(fin_ack);
        h.primary(ack);
        h.primary(fin_ack);
        CHECK(h.take_released().size() == 3);
    }
    CHECK(h.counters().queued_primary == 0);
    h.tick_at(h.now + uint64_t(h.cmp.config().compare_timeout_ms) * kMs + kMs);
    CHECK(h.out.events.empty());
}

TEST_CASE("compare tcp stacks: a primary's control packet beyond what the secondary said waits", "[compare]")
{
    const Stream pri;
    CompareHarness h;
    const uint32_t end = kIsn + 1 + kMss;
    h.both(pri.seg(0, kMss));
    h.secondary(frames::tcp(pri.ep, end, kAckNo, kAck, "")); // consumed by the primary's twin below
    h.primary(frames::tcp(pri.ep, end, kAckNo, kAck, ""));
    CHECK(h.take_released().size() == 2);

    SECTION("a FIN the secondary has not sent")
    {
        const auto fin = frames::tcp(pri.ep, end, kAckNo, tcpflag::FIN | tcpflag::ACK, "");
        h.primary(fin);
        CHECK(h.out.released.empty());
        h.secondary(fin);
        CHECK(h.take_released() == Frames{fin});
    }
    SECTION("an ACK of client data the secondary has not acknowledged")
    {
        const auto ack = frames::tcp(pri.ep, end, kAckNo + 100, kAck, "");
        h.primary(ack);
        CHECK(h.out.released.empty());
        h.secondary(ack);
        CHECK(h.take_released() == Frames{ack});
    }
}
