// Comparator: TCP properties over randomly segmented and interleaved streams.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>

#include "tests/proto/test_comparator_harness.hh"

using namespace colo;
using namespace colo::testing;
using frames::Endpoints;

namespace {
constexpr uint8_t kPsh = tcpflag::ACK | tcpflag::PSH;

// The TCP payload the released packets carry, in order; fails unless each
// starts where the one before ended (from `seq`).
std::string released_stream(CompareHarness& h, uint32_t seq, uint32_t vnet_len)
{
    std::string stream;
    for (const auto& frame : h.take_released()) {
        const ParsedFrame f = parse_frame(frame.data(), frame.size(), vnet_len);
        REQUIRE(f.is_tcp());
        REQUIRE(f.seq == uint32_t(seq + stream.size()));
        stream += text(frame.data() + f.payload_off, f.payload_len);
    }
    return stream;
}
} // namespace

TEST_CASE("compare tcp: any segmentation and interleaving of one stream matches", "[compare]")
{
    std::mt19937 rng(12345);
    const auto uniform = [&](uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); };
    Endpoints ep;
    for (int round = 0; round < 300; ++round) {
        const std::string data = pattern(uniform(1, 4000), uniform(0, 25));
        const uint32_t isn = uniform(0, 1) ? 0xffffffff - uniform(0, 3000) : uniform(0, 100000); // some wrap
        const auto segment = [&]() {
            std::vector<std::vector<uint8_t>> segs;
            for (uint32_t off = 0; off < data.size();) {
                const uint32_t len = std::min<uint32_t>(uniform(1, 700), uint32_t(data.size()) - off);
                segs.push_back(frames::tcp(ep, isn + off, 77, kPsh, data.substr(off, len)));
                off += len;
            }
            return segs;
        };
        const Frames primaries = segment(), secondaries = segment();

        CompareHarness h;
        std::size_t pi = 0, si = 0;
        while (pi < primaries.size() || si < secondaries.size()) {
            const bool take_primary = si == secondaries.size() || (pi < primaries.size() && uniform(0, 1));
            if (take_primary) h.primary(primaries[pi++]);
            else h.secondary(secondaries[si++]);
        }
        INFO("round " << round << ", " << data.size() << " bytes from seq " << isn);
        REQUIRE(h.take_released() == primaries);
        REQUIRE(h.out.events.empty());
        REQUIRE(h.counters().bytes_matched == data.size());
        REQUIRE(h.counters().queued_secondary == 0);
    }
}

TEST_CASE("compare tcp: one flipped byte is reported at its stream offset", "[compare]")
{
    std::mt19937 rng(777);
    const auto uniform = [&](uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); };
    Endpoints ep;
    for (int round = 0; round < 200; ++round) {
        const std::string data = pattern(uniform(2, 3000));
        std::string flipped = data;
        const uint32_t at = uniform(0, uint32_t(data.size()) - 1);
        flipped[at] = '#';
        const uint32_t isn = uniform(0, 0xffffffff);
        const auto segment = [&](const std::string& d) {
            Frames segs;
            for (uint32_t off = 0; off < d.size();) {
                const uint32_t len = std::min<uint32_t>(uniform(1, 700), uint32_t(d.size()) - off);
                segs.push_back(frames::tcp(ep, isn + off, 77, kPsh, d.substr(off, len)));
                off += len;
            }
            return segs;
        };
        CompareHarness h;
        for (const auto& f : segment(data)) h.primary(f);
        for (const auto& f : segment(flipped)) h.secondary(f);
        INFO("round " << round << ", flipped byte " << at << " of " << data.size());
        const auto events = h.take_events();
        REQUIRE(events.size() == 1);
        REQUIRE(events[0].divergence);
        CHECK(events[0].divergence->offset == at);
        CHECK(events[0].divergence->seq == isn + at);
        CHECK(h.counters().bytes_matched <= at);
        const Divergence& d = *events[0].divergence;
        CHECK(d.primary[d.lead] == uint8_t(data[at]));
        CHECK(d.secondary[d.lead] == '#');
    }
}

TEST_CASE("compare tcp: TSO segments on one side match MSS-sized segments on the other", "[compare]")
{
    // With offloads on, one guest's stack may hand over 64 KiB segments with
    // partial checksums while the other's sends MSS-sized ones (or the same
    // stack chose differently): the bytes of the stream are what counts.
    Endpoints ep;
    ep.vnet_len = 12;
    const std::string data = pattern(3 * 60000 + 777, 3);
    constexpr uint32_t isn = 0xffff0000; // the stream wraps the sequence space
    const auto cut = [&](uint32_t size, bool tso) {
        Frames segs;
        for (uint32_t off = 0; off < data.size(); off += size) {
            segs.push_back(frames::tcp(ep, isn + off, 77, kPsh, data.substr(off, size)));
            if (tso) frames::as_tso(segs.back(), ep.vnet_len, 1448);
        }
        return segs;
    };
    for (const bool tso_on_primary : {true, false}) {
        INFO("TSO on the " << (tso_on_primary ? "primary" : "secondary"));
        const Frames large = cut(60000, true), small = cut(1448, false);
        const Frames& primaries = tso_on_primary ? large : small;
        const Frames& secondaries = tso_on_primary ? small : large;
        CompareHarness h;
        std::size_t si = 0;
        for (const auto& p : primaries) {
            h.primary(p, ep.vnet_len);
            // The secondary trails by about one large segment.
            while (si < secondaries.size() && si * small.size() < (&p - &primaries[0] + 1) * secondaries.size())
                h.secondary(secondaries[si++], ep.vnet_len);
        }
        while (si < secondaries.size()) h.secondary(secondaries[si++], ep.vnet_len);
        // A TSO frame's verified front may go out ahead of its rest.
        if (tso_on_primary) REQUIRE(released_stream(h, isn, ep.vnet_len) == data);
        else REQUIRE(h.take_released() == primaries);
        REQUIRE(h.counters().released_matched == primaries.size());
        REQUIRE(h.out.events.empty());
        REQUIRE(h.counters().bytes_matched == data.size());
        REQUIRE(h.counters().queued_secondary == 0);
    }
}

TEST_CASE("compare tcp: the verified front of a TSO frame goes out while the secondary catches up", "[compare]")
{
    // The primary's stack handed over 20 MSS in one TSO frame; the secondary's
    // congestion window lets it send only 12 before the client ACKs them. The
    // client can ACK only what it got: holding the whole frame deadlocks
    // until compare_timeout. The verified 12 MSS go out at once instead.
    Endpoints ep;
    ep.vnet_len = 12;
    constexpr uint32_t mss = 1448, isn = 1000;
    const std::string data = pattern(20 * mss, 5);
    std::vector<uint8_t> tso = frames::tcp(ep, isn, 77, kPsh, data);
    frames::as_tso(tso, ep.vnet_len, mss);

    CompareHarness h;
    h.primary(tso, ep.vnet_len);
    for (uint32_t i = 0; i < 12; ++i)
        h.secondary(frames::tcp(ep, isn + i * mss, 77, kAck, data.substr(i * mss, mss)), ep.vnet_len);
    CHECK(released_stream(h, isn, ep.vnet_len) == data.substr(0, 12 * mss));
    CHECK(h.counters().released_tso_fronts == 12);
    CHECK(h.counters().queued_primary == 1);

    // The client's ACK lets the secondary send the rest: the rest goes out.
    for (uint32_t i = 12; i < 20; ++i)
        h.secondary(frames::tcp(ep, isn + i * mss, 77, kAck, data.substr(i * mss, mss)), ep.vnet_len);
    CHECK(released_stream(h, isn + 12 * mss, ep.vnet_len) == data.substr(12 * mss));
    CHECK(h.counters().released_tso_fronts == 19);
    CHECK(h.counters().released_matched == 1);
    CHECK(h.counters().bytes_matched == data.size());
    CHECK(h.counters().queued_primary == 0);
    CHECK(h.counters().queued_secondary == 0);
    CHECK(h.out.events.empty());
}
