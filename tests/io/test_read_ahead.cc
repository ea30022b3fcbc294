// ReadAhead: chunks arrive in order and complete, a reader error arrives after
// the chunks read before it, the read-ahead is bounded, and stopping a reader
// that waits for room does not hang.
#include <catch2/catch.hpp>

#include "nodes/io/read_ahead.hh"

#include <atomic>
#include <stdexcept>
#include <vector>

using namespace colo;

namespace {

ReadAhead::Chunk chunk_of(uint64_t first_seq, int n)
{
    ReadAhead::Chunk c;
    for (int i = 0; i < n; ++i) {
        const uint8_t byte = uint8_t(first_seq + uint64_t(i));
        Packet p = Packet::copy_of(&byte, 1);
        p.seq = first_seq + uint64_t(i);
        c.push_back(std::move(p));
    }
    return c;
}

} // namespace

TEST_CASE("ReadAhead hands over every chunk in the order it was read", "[read-ahead]")
{
    constexpr int kChunks = 500, kPerChunk = 7;
    int filled = 0;
    ReadAhead ahead(
        [&](ReadAhead::Chunk& c) {
            for (auto& p : chunk_of(uint64_t(filled) * kPerChunk, kPerChunk)) c.push_back(std::move(p));
            return ++filled < kChunks;
        },
        4);
    ReadAhead::Chunk chunk;
    uint64_t expected = 0;
    while (ahead.next(chunk)) {
        for (const Packet& p : chunk) {
            REQUIRE(p.seq == expected);
            REQUIRE(p.data()[0] == uint8_t(expected));
            ++expected;
        }
    }
    CHECK(expected == uint64_t(kChunks) * kPerChunk);
    CHECK_FALSE(ahead.next(chunk)); // stays at the end
}

TEST_CASE("ReadAhead reports a reader's error after the chunks read before it", "[read-ahead]")
{
    int filled = 0;
    ReadAhead ahead(
        [&](ReadAhead::Chunk& c) {
            if (filled == 3) {
                c = chunk_of(100, 2); // a partial chunk, then the error
                throw std::runtime_error("capture.pcap: gone");
            }
            c = chunk_of(uint64_t(filled++) * 10, 10);
            return true;
        },
        8);
    ReadAhead::Chunk chunk;
    std::vector<uint64_t> first_seqs;
    try {
        while (ahead.next(chunk)) first_seqs.push_back(chunk.front().seq);
        FAIL("no error");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "capture.pcap: gone");
    }
    CHECK(first_seqs == std::vector<uint64_t>{0, 10, 20, 100});
}

TEST_CASE("ReadAhead reads at most `depth` chunks ahead, and stops while waiting for room", "[read-ahead]")
{
    std::atomic<int> filled{0};
    {
        ReadAhead ahead(
            [&](ReadAhead::Chunk& c) {
                c = chunk_of(uint64_t(filled.load()), 1);
                ++filled;
                return true; // endless
            },
            4);
        ReadAhead::Chunk chunk;
        for (int taken = 1; taken <= 50; ++taken) {
            REQUIRE(ahead.next(chunk));
            CHECK(chunk[0].seq == uint64_t(taken - 1));
            CHECK(filled.load() <= taken + 4);
        }
    } // the reader is waiting for room here: destruction must not hang
    CHECK(filled.load() >= 50);
}
