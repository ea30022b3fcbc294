// Comparator building blocks: counters table, configuration, memory footprint,
// the connection table and the packet queue.
#include <catch2/catch.hpp>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "nodes/proto/compare_datagram.hh"
#include "tests/proto/test_comparator_harness.hh"

using namespace colo;

TEST_CASE("compare: counters table and configuration checks", "[compare]")
{
    std::set<std::string> names;
    CompareCounters c;
    for (const CounterInfo& info : compare_counter_info()) {
        CHECK(names.insert(info.name).second);
        CHECK(std::string(info.doc).size() > 10);
        c.*info.field += 1;
    }
    CHECK(c.released_matched == 1);
    CHECK(c.connections_active == 1);
    CHECK(names.count("primary_lost_queue_full") == 1);

    CompareConfig bad;
    bad.max_queue_size = 0;
    CHECK(bad.validate() == "'max_queue_size' requires a positive value");
    CHECK_THROWS_AS(Comparator(bad), std::invalid_argument);
    CHECK(CompareConfig{}.validate().empty());
}

TEST_CASE("compare: an idle tracked connection stays small", "[compare]")
{
    // Per-connection state excluding the 8-byte index slot.
    CHECK(sizeof(CompareConnection) <= 256);
}

TEST_CASE("compare: connection table survives heavy insert and erase", "[compare]")
{
    ConnectionTable table;
    const auto key = [](uint32_t i) {
        FlowKey k;
        k.ip_version = 4;
        k.proto = 6;
        k.src[0] = uint8_t(i >> 8);
        k.src[1] = uint8_t(i);
        k.sport = uint16_t(i * 7);
        return k;
    };
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < 5000; ++i) ids.push_back(table.insert(key(i)));
    for (uint32_t i = 0; i < 5000; i += 2) table.erase(ids[i]);
    CHECK(table.size() == 2500);
    for (uint32_t i = 0; i < 5000; ++i) {
        const uint32_t id = table.find(key(i));
        if (i % 2) CHECK(id == ids[i]);
        else CHECK(id == ConnectionTable::npos);
    }
    // First-seen order skips the erased ones; touching reorders activity only.
    CHECK(table[table.oldest()].key == key(1));
    table.touch(ids[1]);
    CHECK(table[table.least_active()].key == key(3));
    CHECK(table[table.oldest()].key == key(1));
    for (uint32_t i = 0; i < 5000; i += 2) ids[i] = table.insert(key(i)); // reuses freed slots
    CHECK(table.size() == 5000);
    for (uint32_t i = 0; i < 5000; ++i) CHECK(table.find(key(i)) == ids[i]);
}

TEST_CASE("compare: connections stay in place while the table grows", "[compare]")
{
    // The comparator keeps a reference to a connection across inserts.
    ConnectionTable table;
    FlowKey first;
    first.ip_version = 4;
    first.proto = 17;
    const uint32_t first_id = table.insert(first);
    CompareConnection* const first_conn = &table[first_id];
    std::vector<CompareConnection*> addresses;
    for (uint32_t i = 1; i < 3000; ++i) { // many chunks and index rehashes
        FlowKey k = first;
        k.sport = uint16_t(i);
        addresses.push_back(&table[table.insert(k)]);
    }
    CHECK(&table[first_id] == first_conn);
    CHECK(table.find(first) == first_id);
    for (uint32_t i = 1; i < 3000; ++i) {
        FlowKey k = first;
        k.sport = uint16_t(i);
        const uint32_t id = table.find(k);
        REQUIRE(id != ConnectionTable::npos);
        CHECK(&table[id] == addresses[i - 1]);
        CHECK(table[id].key == k);
    }
}

TEST_CASE("compare: packet queue order, erase and storage", "[compare]")
{
    const auto queued = [](uint32_t seq, uint8_t tag) {
        QueuedPacket q;
        q.seq = seq;
        q.tcp_flags = tag; // identifies the packet in this test
        return q;
    };
    const auto tags = [](PacketQueue& q) {
        std::string s;
        for (uint32_t i = 0; i < q.size(); ++i) s += char(q[i].tcp_flags);
        return s;
    };

    PacketQueue q;
    // Sequence order across the 2^32 wrap; equal sequence numbers keep arrival order.
    q.insert_by_seq(queued(5, 'c'));
    q.insert_by_seq(queued(0xfffffff0, 'a'));
    q.insert_by_seq(queued(5, 'd'));
    q.insert_by_seq(queued(1, 'b'));
    q.insert_by_seq(queued(9, 'e'));
    CHECK(tags(q) == "abcde");

    // Wrap the ring around its storage (capacity 8), erase, then grow while wrapped.
    CHECK(q.front().tcp_flags == 'a');
    q.pop_front();
    CHECK(q.front().tcp_flags == 'b');
    q.pop_front();
    for (uint8_t t = 'f'; t <= 'j'; ++t) q.push_back(queued(0, t));
    CHECK(tags(q) == "cdefghij");
    q.erase(3);
    q.erase(0);
    CHECK(tags(q) == "deghij");
    for (uint8_t t = 'k'; t <= 'm'; ++t) q.push_back(queued(0, t));
    CHECK(tags(q) == "deghijklm");

    q.release_storage(); // refused while packets are queued
    CHECK(q.size() == 9);
    while (!q.empty()) q.pop_front();
    q.release_storage();
    q.push_back(queued(0, 'z'));
    CHECK(tags(q) == "z");
}

TEST_CASE("compare: an emptied queue gives its first ring back at once", "[compare]")
{
    // A connection that holds one packet at a time keeps no storage between
    // its packets, so a million such connections cost their table entries
    // only; a ring that grew for a busy connection stays until the idle scan.
    PacketQueue q;
    q.push_back(QueuedPacket{});
    CHECK(q.capacity() == 4);
    q.pop_front();
    CHECK(q.capacity() == 0);
    q.push_back(QueuedPacket{});
    q.push_back(QueuedPacket{});
    q.erase(1);
    CHECK(q.capacity() == 4); // one still queued
    q.erase(0);
    CHECK(q.capacity() == 0);
    for (int i = 0; i < 5; ++i) q.push_back(QueuedPacket{});
    CHECK(q.capacity() == 8);
    while (!q.empty()) q.pop_front();
    CHECK(q.capacity() == 8);
    q.release_storage();
    CHECK(q.capacity() == 0);
}

TEST_CASE("compare: a secondary arriving at an empty queue gives what queueing it gives", "[compare]")
{
    // compare_arriving_secondary() skips the secondary's queue when it meets
    // its primary; the released packets, the progress and the queues left
    // must be those of push_back() followed by compare_datagrams().
    const auto datagram = [](const std::string& bytes) {
        QueuedPacket q;
        q.packet = Packet::copy_of(reinterpret_cast<const uint8_t*>(bytes.data()), uint32_t(bytes.size()));
        q.region_len = uint32_t(bytes.size());
        return q;
    };
    const auto contents = [](const PacketQueue& q) {
        std::string s;
        for (uint32_t i = 0; i < q.size(); ++i) s += testing::text(q[i].region(), q[i].region_len) + "|";
        return s;
    };
    struct Case {
        std::vector<std::string> primaries, secondaries;
        std::string arriving;
    };
    const std::vector<Case> cases = {
        {{"aa", "bb"}, {}, "aa"},     // meets its primary: the fast path
        {{"aa", "bb"}, {}, "ax"},     // differs from the oldest primary: a mismatch
        {{"aa"}, {}, "aaa"},          // same prefix, other length
        {{}, {}, "aa"},               // no primary yet: queued
        {{"aa", "bb"}, {"xx"}, "aa"}, // a secondary already waits: the whole pass
        {{"aa", "bb"}, {"bb"}, "aa"}, // an older secondary pairs a later primary
    };
    for (const Case& c : cases) {
        CAPTURE(c.arriving, c.primaries.size(), c.secondaries.size());
        PacketQueue p1, s1, p2, s2;
        for (const auto& b : c.primaries) {
            p1.push_back(datagram(b));
            p2.push_back(datagram(b));
        }
        for (const auto& b : c.secondaries) {
            s1.push_back(datagram(b));
            s2.push_back(datagram(b));
        }
        std::vector<Packet> fast_released, queued_released;
        const CompareProgress fast = compare_arriving_secondary(p1, s1, datagram(c.arriving), fast_released);
        s2.push_back(datagram(c.arriving));
        const CompareProgress queued = compare_datagrams(p2, s2, queued_released);

        CHECK(fast.released == queued.released);
        CHECK(fast.secondaries_consumed == queued.secondaries_consumed);
        CHECK(fast.bytes_matched == queued.bytes_matched);
        REQUIRE(fast.mismatch.has_value() == queued.mismatch.has_value());
        if (fast.mismatch) {
            CHECK(fast.mismatch->offset == queued.mismatch->offset);
            CHECK(fast.mismatch->primary == queued.mismatch->primary);
            CHECK(fast.mismatch->secondary == queued.mismatch->secondary);
        }
        const auto bytes = [](const std::vector<Packet>& v) {
            std::string s;
            for (const Packet& p : v) s += testing::text(p.data(), p.len) + "|";
            return s;
        };
        CHECK(bytes(fast_released) == bytes(queued_released));
        CHECK(contents(p1) == contents(p2));
        CHECK(contents(s1) == contents(s2));
    }
}
