// PcapReader: classic pcap parsed in place gives what libpcap gives (frames,
// stamps, snapped), in every byte order and stamp precision, across chunk
// boundaries; pcapng goes through libpcap; bad files end with a named error.
#include "nodes/io/pcap_reader.hh"

#include "tests/temp_dir.hh"

#include <catch2/catch.hpp>
#include <pcap/pcap.h>

#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

using namespace colo;

namespace {

struct Record {
    uint32_t seconds, fraction, wire_len;
    std::vector<uint8_t> bytes;
};

uint32_t swap_if(uint32_t v, bool swapped)
{
    return swapped ? __builtin_bswap32(v) : v;
}

void put32(std::string& out, uint32_t v, bool swapped)
{
    v = swap_if(v, swapped);
    out.append(reinterpret_cast<const char*>(&v), 4);
}

std::string classic_file(const std::vector<Record>& records, bool swapped, bool nanoseconds, uint32_t link = 1)
{
    std::string out;
    put32(out, nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4, swapped);
    const uint16_t version[2] = {uint16_t(swapped ? 0x0200 : 2), uint16_t(swapped ? 0x0400 : 4)};
    out.append(reinterpret_cast<const char*>(version), 4);
    put32(out, 0, swapped);
    put32(out, 0, swapped);
    put32(out, 262144, swapped);
    put32(out, link, swapped);
    for (const Record& r : records) {
        put32(out, r.seconds, swapped);
        put32(out, r.fraction, swapped);
        put32(out, uint32_t(r.bytes.size()), swapped);
        put32(out, r.wire_len, swapped);
        out.append(r.bytes.begin(), r.bytes.end());
    }
    return out;
}

// Frames of sizes that walk across the reader's 256 KiB chunks at every
// alignment, some larger than a frame may be.
std::vector<Record> records(std::size_t count)
{
    std::vector<Record> out;
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t size = i % 97 == 5 ? 70000 + i : 14 + (i * 7919) % 1500;
        Record r{uint32_t(1'700'000'000 + i), uint32_t(i * 1000 % 999'999), uint32_t(size + (i % 3 == 0)), {}};
        for (std::size_t b = 0; b < size; ++b) r.bytes.push_back(uint8_t(i * 31 + b));
        out.push_back(std::move(r));
    }
    return out;
}

std::string write(const colo::testing::TempDir& dir, const char* name, const std::string& bytes)
{
    const std::string path = (dir.path / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

struct Frame {
    uint64_t ts_ns;
    bool snapped;
    std::vector<uint8_t> bytes; // vnet header included
    bool operator==(const Frame&) const = default;
};

// `keep_last`: the last packet is held while the next is read, so the chunk
// it lies in cannot be reused; otherwise it is dropped first, and can be.
std::vector<Frame> read_all(PcapReader& reader, PcapReader::Next& last, bool keep_last = true)
{
    std::vector<Frame> out;
    Packet p;
    bool snapped = false;
    for (;;) {
        if (!keep_last) p = Packet{};
        if ((last = reader.next(p, snapped)) != PcapReader::Next::frame) return out;
        out.push_back({p.ts_ns, snapped, std::vector<uint8_t>(p.data(), p.data() + p.len)});
    }
}

// libpcap's reading of the file, with what pcap-source made of it before;
// `error`: what libpcap said of a record it could not read.
std::vector<Frame> libpcap_frames(const std::string& path, uint32_t vnet_len, std::string* error = nullptr)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    REQUIRE(p);
    std::vector<Frame> out;
    pcap_pkthdr* h;
    const u_char* data;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        Frame f{uint64_t(h->ts.tv_sec) * 1'000'000'000ull + uint64_t(h->ts.tv_usec), h->caplen < h->len,
                std::vector<uint8_t>(vnet_len, 0)};
        f.bytes.insert(f.bytes.end(), data, data + std::min<uint32_t>(h->caplen, kMaxFrameLen - vnet_len));
        out.push_back(std::move(f));
    }
    if (error) *error = rc == -1 ? pcap_geterr(p) : "";
    pcap_close(p);
    return out;
}

} // namespace

TEST_CASE("PcapReader: classic files read in place give what libpcap gives, in either byte order and precision")
{
    colo::testing::TempDir dir;
    const auto recs = records(700); // about 1.4 MB: several chunks
    for (const bool swapped : {false, true})
        for (const bool nanoseconds : {false, true})
            for (const uint32_t vnet_len : {0u, 12u, 20u})
                for (const bool keep_last : {true, false}) {
                    INFO("swapped " << swapped << ", nanoseconds " << nanoseconds << ", vnet_len " << vnet_len
                                    << ", keep_last " << keep_last);
                    const std::string bytes = classic_file(recs, swapped, nanoseconds);
                    const std::string path = write(dir, "f.pcap", bytes);
                    PcapReader reader(path, vnet_len);
                    CHECK(reader.link_type() == 1);
                    PcapReader::Next last;
                    const auto got = read_all(reader, last, keep_last);
                    CHECK(last == PcapReader::Next::end);
                    CHECK(reader.position() == bytes.size());
                    const auto want = libpcap_frames(path, vnet_len);
                    REQUIRE(want.size() == recs.size());
                    REQUIRE(got.size() == want.size());
                    for (std::size_t i = 0; i < got.size(); ++i) {
                        INFO("frame " << i);
                        REQUIRE(got[i] == want[i]);
                    }
                    // The stamps as written: libpcap scales microseconds too.
                    CHECK(got[3].ts_ns ==
                          uint64_t(recs[3].seconds) * 1'000'000'000ull + recs[3].fraction * (nanoseconds ? 1u : 1000u));
                    CHECK(got[0].snapped);
                    CHECK_FALSE(got[1].snapped);
                }
}

TEST_CASE("PcapReader: packets share a chunk, and writing one copies it first")
{
    colo::testing::TempDir dir;
    const auto recs = records(4);
    PcapReader reader(write(dir, "f.pcap", classic_file(recs, false, false)), 0);
    Packet a, b;
    bool snapped;
    REQUIRE(reader.next(a, snapped) == PcapReader::Next::frame);
    REQUIRE(reader.next(b, snapped) == PcapReader::Next::frame);
    CHECK(a.buf.get() == b.buf.get()); // one chunk, no copy
    a.mutable_data()[0] ^= 0xff;
    CHECK(a.buf.get() != b.buf.get());
    CHECK(b.data()[0] == recs[1].bytes[0]);
    CHECK(a.data()[0] == uint8_t(recs[0].bytes[0] ^ 0xff));
}

TEST_CASE(
    "PcapReader: packets held long pin at most 16 chunks, then are copied, and once let go chunks are shared again")
{
    colo::testing::TempDir dir;
    const auto recs = records(6000); // about 10 MB: 40 chunks
    const std::string path = write(dir, "f.pcap", classic_file(recs, false, false));
    const auto want = libpcap_frames(path, 0);
    PcapReader reader(path, 0);
    const auto in_chunk = [](const Packet& p) { return p.buf.get()->capacity() >= (256u << 10); };
    std::vector<Packet> held; // every 50th, as a comparator holds what waits for the other side
    std::set<const void*> pinned;
    std::size_t copied = 0, i = 0;
    Packet p;
    bool snapped;
    for (; i < 4000; ++i) {
        REQUIRE(reader.next(p, snapped) == PcapReader::Next::frame);
        REQUIRE(std::equal(p.data(), p.data() + p.len, want[i].bytes.begin(), want[i].bytes.end()));
        if (in_chunk(p)) pinned.insert(p.buf.get());
        else ++copied;
        if (i % 50 == 0) held.push_back(p);
    }
    CHECK(pinned.size() == 16);
    CHECK(copied > 1000); // the rest of the 4,000, read while all 16 were held
    held.clear();
    p = Packet{};
    // The rest of the private chunk's bytes are copied out; from the next
    // chunk on, packets share again.
    std::size_t first_shared = 0;
    for (; i < recs.size(); ++i) {
        REQUIRE(reader.next(p, snapped) == PcapReader::Next::frame);
        REQUIRE(std::equal(p.data(), p.data() + p.len, want[i].bytes.begin(), want[i].bytes.end()));
        if (in_chunk(p) && !first_shared) first_shared = i;
        if (first_shared) REQUIRE(in_chunk(p));
    }
    CHECK(first_shared > 4000);
    CHECK(first_shared < 4200); // within one chunk's bytes
    CHECK(reader.next(p, snapped) == PcapReader::Next::end);
}

TEST_CASE("PcapReader: a file cut inside a record ends after the whole ones, naming the file")
{
    colo::testing::TempDir dir;
    const auto recs = records(10);
    const std::string bytes = classic_file(recs, false, false);
    const std::size_t last_record = bytes.size() - recs.back().bytes.size() - 16;
    for (const std::size_t size : {last_record + 7, bytes.size() - 5}) {
        const std::string path = write(dir, "cut.pcap", bytes.substr(0, size));
        PcapReader reader(path, 0);
        PcapReader::Next last;
        CHECK(read_all(reader, last).size() == 9);
        CHECK(last == PcapReader::Next::truncated);
        std::string libpcap_error;
        CHECK(libpcap_frames(path, 0, &libpcap_error).size() == 9);
        CHECK_THAT(libpcap_error, Catch::StartsWith("truncated dump file; tried to read "));
        CHECK(reader.error() == path + ": " + libpcap_error);
        CHECK(reader.position() == size); // all of it read: a progress bar ends at 100 %
        Packet p;
        bool snapped;
        CHECK(reader.next(p, snapped) == PcapReader::Next::truncated); // and stays ended
    }
}

TEST_CASE("PcapReader: records longer than the snaplen are cut, and beyond any capture end the file, as in libpcap")
{
    colo::testing::TempDir dir;
    auto recs = records(3);
    std::string bytes = classic_file(recs, false, false);
    const uint32_t snaplen = 100;
    std::memcpy(&bytes[16], &snaplen, 4); // a header that understates the records
    for (const uint32_t second_caplen : {uint32_t(recs[1].bytes.size()), 262145u}) {
        INFO("second record's caplen " << second_caplen);
        std::memcpy(&bytes[24 + 16 + recs[0].bytes.size() + 8], &second_caplen, 4);
        const std::string path = write(dir, "f.pcap", bytes);
        PcapReader reader(path, 0);
        PcapReader::Next last;
        const auto got = read_all(reader, last);
        std::string libpcap_error;
        CHECK(got == libpcap_frames(path, 0, &libpcap_error));
        if (second_caplen > 262144) {
            CHECK(got.size() == 1);
            CHECK(last == PcapReader::Next::truncated);
            CHECK(reader.error() == path + ": invalid packet capture length 262145, bigger than snaplen of 100");
            CHECK(reader.error() == path + ": " + libpcap_error);
        } else {
            REQUIRE(got.size() == 3);
            CHECK(last == PcapReader::Next::end);
            CHECK(got[1].bytes.size() == 100); // of 433
            CHECK(got[1].snapped);
        }
    }
}

TEST_CASE("PcapReader: pcapng goes through libpcap, and a file that is not a capture is refused")
{
    colo::testing::TempDir dir;
    // Section header, one Ethernet interface, one enhanced packet of 5 bytes.
    const uint8_t pcapng[] = {
        0x0a, 0x0d, 0x0d, 0x0a, 28,   0,    0,    0,    0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, // section header
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28,   0,    0,    0,                //
        1,    0,    0,    0,    20,   0,    0,    0,    1,    0,    0,    0,    0, 0, 4, 0,
        20,   0,    0,    0, // interface: Ethernet
        6,    0,    0,    0,    40,   0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0,
        0x40, 0x42, 0x0f, 0, // packet at 1,000,000 us
        5,    0,    0,    0,    5,    0,    0,    0,    1,    2,    3,    4,    5, 0, 0, 0,
        40,   0,    0,    0, //
    };
    const std::string path = write(dir, "f.pcapng", std::string(reinterpret_cast<const char*>(pcapng), sizeof pcapng));
    PcapReader reader(path, 2);
    PcapReader::Next last;
    const auto got = read_all(reader, last);
    CHECK(last == PcapReader::Next::end);
    REQUIRE(got.size() == 1);
    CHECK(got[0].bytes == std::vector<uint8_t>{0, 0, 1, 2, 3, 4, 5});
    CHECK(got[0].ts_ns == 1'000'000'000ull);
    CHECK(reader.position() == sizeof pcapng);

    const std::string junk = write(dir, "junk.pcap", std::string(64, 'x'));
    CHECK_THROWS_WITH(PcapReader(junk, 0), Catch::StartsWith(junk + ": "));
}
