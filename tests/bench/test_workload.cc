// The socket benchmark's workloads: every released frame must be recognised
// as the pair the driver wrote, or colo-bench reports loss and duplicates
// that no server caused.
#include "tools/bench/workload.hh"

#include "nodes/proto/frame_parse.hh"

#include <catch2/catch.hpp>

namespace colo::bench {

namespace {

// Identifies chunk `chunk`'s primaries in order, as the driver's reader does,
// updating `last_of_flow`; returns the pair indices.
std::vector<uint64_t> identify_chunk(const Workload& w, uint64_t chunk, std::vector<uint64_t>& last_of_flow)
{
    std::vector<uint8_t> primary, secondary;
    w.fill(chunk, primary, secondary);
    std::vector<uint64_t> pairs;
    for (std::size_t at = 0; at + 4 <= primary.size();) {
        const uint32_t len = load_be32(&primary[at]);
        FrameId id;
        REQUIRE(w.identify(&primary[at + 4], len, last_of_flow, id));
        last_of_flow[id.flow] = id.pair;
        pairs.push_back(id.pair);
        at += 4 + len;
    }
    return pairs;
}

} // namespace

TEST_CASE("A TCP stream's pairs are recognised across the 4 GiB sequence wrap", "[workload]")
{
    for (const uint32_t flows : {1u, 3u}) {
        CAPTURE(flows);
        const TcpResegmented w(flows, 20'000'000); // 28 GB per run: each flow's stream wraps
        std::vector<uint64_t> last_of_flow(flows, kNoPair);
        // Chunks of every flow from just before its stream passes 4 GiB to past it.
        const uint64_t first = (uint64_t(1) << 32) / TcpResegmented::kChunkBytes * flows - 2 * flows;
        for (uint64_t chunk = first; chunk < first + 5 * flows; ++chunk) {
            const uint64_t flow = chunk % flows;
            if (last_of_flow[flow] == kNoPair) // the flow's chunk before
                last_of_flow[flow] = (chunk - flows + 1) * w.chunk_pairs() - 1;
            const std::vector<uint64_t> pairs = identify_chunk(w, chunk, last_of_flow);
            REQUIRE(pairs.size() == w.chunk_pairs());
            for (uint32_t i = 0; i < pairs.size(); ++i) REQUIRE(pairs[i] == chunk * w.chunk_pairs() + i);
        }
    }
}

TEST_CASE("A flow's first TCP pair is recognised with no pair before it", "[workload]")
{
    const TcpResegmented w(256, 100'000);
    std::vector<uint64_t> last_of_flow(256, kNoPair);
    const std::vector<uint64_t> pairs = identify_chunk(w, 7, last_of_flow);
    REQUIRE(pairs.front() == 7 * w.chunk_pairs());
    REQUIRE(pairs.back() == 8 * w.chunk_pairs() - 1);
    REQUIRE(last_of_flow[7] == 8 * w.chunk_pairs() - 1);
}

TEST_CASE("UDP pairs carry their index and flow", "[workload]")
{
    const UdpPairs w(64, 256, 100'000, 32);
    std::vector<uint64_t> last_of_flow(256, kNoPair);
    const std::vector<uint64_t> pairs = identify_chunk(w, 5, last_of_flow);
    REQUIRE(pairs.size() == 32);
    for (uint32_t i = 0; i < 32; ++i) REQUIRE(pairs[i] == 5 * 32 + i);
    REQUIRE(last_of_flow[(5 * 32 + 31) % 256] == 5 * 32 + 31);
}

} // namespace colo::bench
