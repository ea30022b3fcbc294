#include "engine/packet.hh"
#include <catch2/catch.hpp>

#include <set>
#include <thread>
#include <vector>

TEST_CASE("packet copy-on-write", "[packet]")
{
    const uint8_t bytes[4] = {1, 2, 3, 4};
    auto a = colo::Packet::copy_of(bytes, 4);
    auto b = a;
    CHECK(a.data() == b.data());
    b.mutable_data()[0] = 9;
    CHECK(a.data()[0] == 1);
    CHECK(b.data()[0] == 9);
}

// Handles of the same buffers dropped on several threads at once: each buffer
// goes back to the pool once, after every holder is done reading it (the last
// drop takes no locked decrement, so this is what keeps that honest; the TSan
// stage runs it too).
TEST_CASE("shared packets dropped on several threads are recycled once each", "[packet]")
{
    constexpr int kThreads = 4, kPackets = 20000;
    const uint64_t before = colo::buffer_pool_stats().allocated;
    std::vector<colo::Packet> originals;
    for (int i = 0; i < kPackets; ++i) {
        const uint8_t bytes[8] = {uint8_t(i), uint8_t(i >> 8), 0xab, 0xcd, 0, 0, 0, 0};
        originals.push_back(colo::Packet::copy_of(bytes, sizeof bytes));
    }
    std::vector<std::vector<colo::Packet>> copies(kThreads, originals);
    originals.clear();
    REQUIRE(colo::buffer_pool_stats().allocated == before + kPackets);
    std::vector<int> mismatches(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            auto& mine = copies[t];
            for (int i = kPackets - 1; i >= 0; --i) {
                const uint8_t* d = mine[i].data();
                if (d[0] != uint8_t(i) || d[1] != uint8_t(i >> 8) || d[2] != 0xab) ++mismatches[t];
                mine.pop_back();
            }
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) CHECK(mismatches[t] == 0);
    CHECK(colo::buffer_pool_stats().allocated == before);
    // A buffer given back twice would now be handed out twice.
    std::vector<colo::Packet> fresh;
    std::set<const uint8_t*> distinct;
    for (int i = 0; i < kThreads * kPackets; ++i) {
        fresh.push_back(colo::Packet::with_capacity(8));
        distinct.insert(fresh.back().data());
    }
    CHECK(distinct.size() == fresh.size());
}

// Sharer and Releaser count many handles with one atomic operation each way:
// the buffer goes back to the pool when the last handle anywhere is gone, no
// sooner, however the handles were made and dropped.
TEST_CASE("handles shared and dropped in runs keep the count", "[packet]")
{
    const uint64_t before = colo::buffer_pool_stats().allocated;
    colo::BufRef chunk = colo::BufRef::allocate(1024), other = colo::BufRef::allocate(64);
    std::vector<colo::BufRef> handles;
    {
        colo::BufRef::Sharer sharer(chunk);
        for (int i = 0; i < 5; ++i) handles.push_back(sharer.next());
    }
    handles.push_back(other); // a run of another buffer in between
    handles.push_back(chunk); // and one counted the ordinary way
    CHECK_FALSE(chunk.unique());
    {
        colo::BufRef::Releaser released;
        for (int i = 0; i < 3; ++i) released.drop(std::move(handles[i]));
        released.drop(std::move(handles[5])); // other: ends the chunk's first run
        released.drop(colo::BufRef{});        // an empty handle changes nothing
        released.drop(std::move(handles[3]));
    }
    CHECK_FALSE(chunk.unique()); // handles[4] and handles[6] still hold it
    CHECK(other.unique());
    {
        colo::BufRef::Releaser released;
        released.drop(std::move(handles[4]));
        released.drop(std::move(handles[6]));
        released.flush();
        CHECK(chunk.unique());
    }
    CHECK(colo::buffer_pool_stats().allocated == before + 2);
    // The last handles, one run each, go back to the pool.
    {
        colo::BufRef::Releaser released;
        released.drop(std::move(chunk));
        released.drop(std::move(other));
    }
    CHECK(colo::buffer_pool_stats().allocated == before);
}
