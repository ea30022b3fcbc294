// PacketTrace (nodes/packet_trace.hh): the pcapng file is checked byte by byte,
// then read by the tools an operator uses on it: tcpdump sees the packets and
// tshark (when installed) the per-packet comments. The filter is libpcap's.
#include <catch2/catch.hpp>

#include "nodes/packet_trace.hh"
#include "tests/proto/frames.hh"
#include "tests/temp_dir.hh"

#include <stdlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace colo;

namespace {

using Bytes = std::vector<uint8_t>;

// One pcapng block as read back: its type and what lies between the length
// fields.
struct Block {
    uint32_t type;
    Bytes body;
};

template <typename T>
T at(const Bytes& b, std::size_t offset)
{
    REQUIRE(offset + sizeof(T) <= b.size());
    T v;
    std::memcpy(&v, &b[offset], sizeof v);
    return v;
}

std::vector<Block> read_blocks(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    const Bytes file{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::vector<Block> blocks;
    for (std::size_t off = 0; off < file.size();) {
        const auto total = at<uint32_t>(file, off + 4);
        INFO("block at offset " << off);
        REQUIRE(total % 4 == 0);
        REQUIRE(total >= 12);
        REQUIRE(at<uint32_t>(file, off + total - 4) == total); // the length, repeated
        blocks.push_back({at<uint32_t>(file, off), Bytes(&file[off + 8], &file[off + total - 4])});
        off += total;
    }
    return blocks;
}

// The options from `offset` of a block body: code, value. Checks the padding
// and that the list ends with opt_endofopt, right at the end of the body.
std::vector<std::pair<uint16_t, std::string>> options(const Bytes& body, std::size_t offset)
{
    std::vector<std::pair<uint16_t, std::string>> found;
    for (;;) {
        const auto code = at<uint16_t>(body, offset), len = at<uint16_t>(body, offset + 2);
        if (code == 0) {
            CHECK(len == 0);
            CHECK(offset + 4 == body.size());
            return found;
        }
        REQUIRE(offset + 4 + len <= body.size());
        found.emplace_back(code, std::string(reinterpret_cast<const char*>(&body[offset + 4]), len));
        const std::size_t padded = (len + 3u) / 4 * 4;
        for (std::size_t i = len; i < padded; ++i) CHECK(body[offset + 4 + i] == 0);
        offset += 4 + padded;
    }
}

// The standard output of a shell command that must succeed; standard error is
// shown on failure (tshark warns on it when run as root).
std::string run(const std::string& command, const testing::TempDir& dir)
{
    const std::string err_file = (dir.path / "stderr").string();
    std::FILE* p = ::popen((command + " 2>" + err_file).c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    const int status = ::pclose(p);
    std::ifstream err(err_file);
    INFO(command << "\nstdout:\n" << out << "stderr:\n" << std::string(std::istreambuf_iterator<char>(err), {}));
    REQUIRE(status == 0);
    return out;
}

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> result;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
}

bool have_program(const char* name)
{
    return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

frames::Endpoints udp_endpoints()
{
    frames::Endpoints ep;
    ep.src = "10.0.0.3";
    ep.sport = 5353;
    ep.dport = 53;
    return ep;
}

const Bytes kTcp = frames::tcp(frames::Endpoints{}, 1000, 2000, tcpflag::PSH | tcpflag::ACK, "GET / HTTP/1.0\r\n\r\n");
const Bytes kUdp = frames::udp(udp_endpoints(), "odd"); // 45 bytes: the data needs padding

constexpr uint64_t kT0 = 1'700'000'000'123'456'789ull;

struct Written {
    const Bytes& frame;
    uint64_t ts_ns;
    std::string comment;
};

} // namespace

TEST_CASE("PacketTrace: a section, an Ethernet interface in nanoseconds, one commented block per packet",
          "[packet-trace]")
{
    testing::TempDir dir{"colo-trace"};
    const std::string path = (dir.path / "trace.pcapng").string();
    const std::vector<Written> written = {
        {kTcp, kT0, "redirector.primary_in verdict=pass hold=0.000120s"},
        {kUdp, kT0 + 1'000'000'001, "comparator.secondary_in verdict=drop hold=1.5s"},
        {kTcp, kT0 + 2'000'000'002, ""}, // no comment: no option at all
    };
    {
        PacketTrace trace(path, "");
        for (const auto& w : written) trace.write(w.frame.data(), uint32_t(w.frame.size()), w.ts_ns, w.comment);
        trace.flush();
    }
    const auto blocks = read_blocks(path);
    REQUIRE(blocks.size() == 2 + written.size());

    SECTION("the section header: host byte order, version 1.0, the application")
    {
        const Block& shb = blocks[0];
        CHECK(shb.type == 0x0A0D0D0A);
        CHECK(at<uint32_t>(shb.body, 0) == 0x1A2B3C4D);
        CHECK(at<uint16_t>(shb.body, 4) == 1);
        CHECK(at<uint16_t>(shb.body, 6) == 0);
        CHECK(at<int64_t>(shb.body, 8) == -1);
        CHECK(options(shb.body, 16) == std::vector<std::pair<uint16_t, std::string>>{{4, "colo-graph"}});
    }
    SECTION("the interface: Ethernet, snaplen 262144, if_tsresol 9")
    {
        const Block& idb = blocks[1];
        CHECK(idb.type == 1);
        CHECK(at<uint16_t>(idb.body, 0) == 1);
        CHECK(at<uint32_t>(idb.body, 4) == 262144);
        CHECK(options(idb.body, 8) == std::vector<std::pair<uint16_t, std::string>>{{9, "\x09"}});
    }
    SECTION("each packet: timestamp in nanoseconds, lengths, the frame padded, the comment")
    {
        for (std::size_t i = 0; i < written.size(); ++i) {
            INFO("packet " << i);
            const Block& epb = blocks[2 + i];
            const Written& w = written[i];
            CHECK(epb.type == 6);
            CHECK(at<uint32_t>(epb.body, 0) == 0); // interface
            CHECK((uint64_t(at<uint32_t>(epb.body, 4)) << 32 | at<uint32_t>(epb.body, 8)) == w.ts_ns);
            CHECK(at<uint32_t>(epb.body, 12) == w.frame.size());
            CHECK(at<uint32_t>(epb.body, 16) == w.frame.size());
            CHECK(Bytes(&epb.body[20], &epb.body[20 + w.frame.size()]) == w.frame);
            const std::size_t options_at = 20 + (w.frame.size() + 3) / 4 * 4;
            if (w.comment.empty()) {
                CHECK(epb.body.size() == options_at);
            } else {
                CHECK(options(epb.body, options_at) == std::vector<std::pair<uint16_t, std::string>>{{1, w.comment}});
            }
        }
    }
    SECTION("tcpdump reads every packet with its nanosecond timestamp")
    {
        const auto out = lines(run("tcpdump -nn -tt --time-stamp-precision=nano -r " + path, dir));
        REQUIRE(out.size() == written.size());
        CHECK(out[0].rfind("1700000000.123456789 IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [P.]", 0) == 0);
        CHECK(out[1].rfind("1700000001.123456790 IP 10.0.0.3.5353 > 10.0.0.2.53: ", 0) == 0);
        CHECK(out[2].rfind("1700000002.123456791 IP 10.0.0.1.1234 > 10.0.0.2.80: ", 0) == 0);
    }
    SECTION("tshark shows each packet's comment")
    {
        if (!have_program("tshark")) {
            WARN("tshark is not installed: the comments are not checked with it (tools/setup-debian.sh installs it)");
            return;
        }
        // Wireshark 4.0 (Debian 12) names the field frame.comment; pkt_comment is the older name.
        const auto out = lines(run("tshark -r " + path + " -T fields -e frame.comment", dir));
        REQUIRE(out.size() == written.size());
        for (std::size_t i = 0; i < written.size(); ++i) CHECK(out[i] == written[i].comment);
    }
}

TEST_CASE("PacketTrace: the filter is a tcpdump expression", "[packet-trace]")
{
    testing::TempDir dir{"colo-trace"};
    const std::string path = (dir.path / "trace.pcapng").string();

    SECTION("tcp port 80 matches the TCP frame to port 80, not the UDP one")
    {
        const PacketTrace trace(path, "tcp port 80");
        CHECK(trace.matches(kTcp.data(), uint32_t(kTcp.size())));
        CHECK_FALSE(trace.matches(kUdp.data(), uint32_t(kUdp.size())));
    }
    SECTION("udp and src host 10.0.0.3 matches the UDP frame only")
    {
        const PacketTrace trace(path, "udp and src host 10.0.0.3");
        CHECK_FALSE(trace.matches(kTcp.data(), uint32_t(kTcp.size())));
        CHECK(trace.matches(kUdp.data(), uint32_t(kUdp.size())));
    }
    SECTION("no filter matches every frame")
    {
        const PacketTrace trace(path, "");
        CHECK(trace.matches(kTcp.data(), uint32_t(kTcp.size())));
        CHECK(trace.matches(kUdp.data(), uint32_t(kUdp.size())));
    }
    SECTION("a bad filter throws naming the expression and libpcap's error, and creates no file")
    {
        CHECK_THROWS_WITH(PacketTrace(path, "tcp portt 80"),
                          Catch::StartsWith("filter 'tcp portt 80': ") && Catch::Contains("syntax error"));
        CHECK_FALSE(std::filesystem::exists(path));
    }
}

TEST_CASE("PacketTrace: a file that cannot be created throws naming it", "[packet-trace]")
{
    testing::TempDir dir{"colo-trace"};
    const std::string path = (dir.path / "no-such-dir" / "trace.pcapng").string();
    CHECK_THROWS_WITH(PacketTrace(path, ""), path + ": No such file or directory");
}
