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
        REQUIRE(h.take_released() == primaries);
        REQUIRE(h.out.events.empty());
        REQUIRE(h.counters().bytes_matched == data.size());
        REQUIRE(h.counters().queued_secondary == 0);
    }
}
