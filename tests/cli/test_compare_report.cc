// The divergence report of `colo-graph compare`: positions, the xxd-style
// dump with its marker, the text report's verdicts and the JSON document.
#include <catch2/catch.hpp>

#include "tools/cli/compare_report.hh"

#include <algorithm>
#include <array>

using namespace colo;

namespace {

FlowKey key(uint8_t proto, uint16_t sport = 80, uint16_t dport = 40000)
{
    FlowKey k;
    k.ip_version = 4;
    k.proto = proto;
    k.src = {10, 0, 0, 2};
    k.dst = {10, 0, 0, 1};
    k.sport = sport;
    k.dport = dport;
    return k;
}

// 64 bytes 'A', 'B', ... on both sides; the secondary differs at index `at`.
Divergence tcp_divergence(std::size_t at, std::size_t secondary_len = 64)
{
    std::array<uint8_t, 64> p{}, s{};
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = s[i] = uint8_t('A' + i);
    s[at] = 0xff;
    Divergence d = divergence_context(p.data(), p.size(), at, s.data(), secondary_len, at);
    d.tcp = true;
    d.offset = 1000 + at;
    d.seq = 51000 + uint32_t(at);
    return d;
}

ComparisonResult sample_result()
{
    ComparisonResult r;
    r.primary_file = "p.pcap";
    r.secondary_file = "s.pcap";
    r.checkpoint_delay_ms = 20;
    r.start_ns = 1'700'000'000'000'000'000ull;

    ConnectionReport ok;
    ok.key = key(6);
    ok.primary_packets = ok.matched_packets = 4;
    ok.primary_bytes = 4000;
    ok.secondary_packets = 3;
    ok.secondary_bytes = 3900;
    ok.matched_bytes = 3800;

    ConnectionReport diverged = ok;
    diverged.key = key(6, 80, 40001);
    diverged.matched_packets = 2;
    diverged.first_divergence = tcp_divergence(20);

    ConnectionReport orphan;
    orphan.key = key(17, 5000, 6000);
    orphan.first_seen = 2;
    orphan.primary_packets = 3;
    orphan.primary_bytes = 180;

    r.connections = {ok, diverged, orphan};
    r.requests.push_back({CheckpointReason::mismatch, CompareSide::primary, diverged.key, r.start_ns + 1'234'000,
                          diverged.first_divergence});
    r.requests.push_back(
        {CheckpointReason::timeout, CompareSide::primary, orphan.key, r.start_ns + 4'000'000'000ull, {}});
    r.counters.primary_packets_in = 11;
    r.counters.released_matched = 6;
    r.counters.released_flush = 5;
    r.counters.checkpoint_requests = 2;
    r.counters.requests_suppressed = 7;
    r.counters.connections_created = 3;
    return r;
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("divergence positions name the compared region", "[report]")
{
    CHECK(divergence_position(tcp_divergence(20), key(6)) == "stream offset 1020 (seq 51020)");
    Divergence d;
    d.offset = 6;
    CHECK(divergence_position(d, key(17)) == "byte 6 from the UDP header");
    CHECK(divergence_position(d, key(1)) == "byte 6 from the ICMP header");
    CHECK(divergence_position(d, key(58)) == "byte 6 from the ICMPv6 header");
    CHECK(divergence_position(d, key(47)) == "byte 6 of the frame");
}

TEST_CASE("the dump shows both sides from the context start and marks the first difference", "[report]")
{
    const auto lines = divergence_dump(tcp_divergence(20));
    // 32 context bytes from offset 1012 (8 before the difference): two rows per side, the
    // marker after the first pair.
    REQUIRE(lines.size() == 5);
    CHECK(lines[0] == "primary          1012: 4d 4e 4f 50 51 52 53 54 55 56 57 58 59 5a 5b 5c  MNOPQRSTUVWXYZ[\\");
    CHECK(lines[1] == "secondary        1012: 4d 4e 4f 50 51 52 53 54 ff 56 57 58 59 5a 5b 5c  MNOPQRST.VWXYZ[\\");
    CHECK(lines[3] == "primary          1028: 5d 5e 5f 60 61 62 63 64 65 66 67 68 69 6a 6b 6c  ]^_`abcdefghijkl");
    const std::string& marker = lines[2];
    CHECK(marker.find("^^") == lines[1].find("ff"));
    CHECK(marker.rfind('^') == lines[1].find('.', 72));
    CHECK(std::count(marker.begin(), marker.end(), '^') == 3);
}

TEST_CASE("a shorter side leaves its columns blank and keeps the text column aligned", "[report]")
{
    // The secondary ends 4 bytes after the difference at index 3 (no lead is possible).
    const auto lines = divergence_dump(tcp_divergence(3, 8));
    REQUIRE(lines.size() == 5);
    CHECK(lines[0].substr(0, 22) == "primary          1000:");
    CHECK(lines[1] == "secondary        1000: 41 42 43 ff 45 46 47 48" + std::string(8 * 3, ' ') + "  ABC.EFGH");
    CHECK(lines[2].find("^^") == 22 + 3 * 3 + 1);
    CHECK(lines[3].size() == lines[0].size());
    CHECK(lines[4] == "secondary        1016:" + std::string(16 * 3, ' ') + "  ");
}

TEST_CASE("the text report gives each connection a verdict and lists requests with relative times", "[report]")
{
    const std::string text = text_report(sample_result());
    CHECK(contains(text, "Connections: 3, in first-seen order\n"));
    CHECK(contains(text, "  ok         tcp 10.0.0.2:80 > 10.0.0.1:40000\n"));
    CHECK(contains(text, "  diverged   tcp 10.0.0.2:80 > 10.0.0.1:40001\n"));
    CHECK(contains(text, "  unmatched  udp 10.0.0.2:5000 > 10.0.0.1:6000\n"));
    CHECK(contains(
        text, "First divergence per connection: 1\n  tcp 10.0.0.2:80 > 10.0.0.1:40001: stream offset 1020 (seq 51020)\n"
              "    primary          1012:"));
    CHECK(contains(text, "Checkpoint requests: 2 (and 7 while one was pending, not sent)\n"));
    CHECK(contains(
        text,
        "      0.001234  mismatch    primary    tcp 10.0.0.2:80 > 10.0.0.1:40001, stream offset 1020 (seq 51020)\n"));
    CHECK(contains(text, "      4.000000  timeout     primary    udp 10.0.0.2:5000 > 10.0.0.1:6000\n"));
    CHECK(contains(
        text, "  primary packets     11: 6 released by a match, 5 released by a flush (checkpoint or end of input)\n"));
    CHECK(contains(text, "  secondary packets   0\n"));
    CHECK(contains(text, "Times are seconds since the first packet, 2023-11-14 22:13:20.000000 UTC."));
}

TEST_CASE("the text report counts requests repeated because no checkpoint came", "[report]")
{
    ComparisonResult r = sample_result();
    r.counters.requests_repeated = 1;
    CHECK(contains(text_report(r),
                   "Checkpoint requests: 2, 1 of them repeated after compare_timeout without a checkpoint "
                   "(and 7 while one was pending, not sent)\n"));
}

TEST_CASE("the text report says when expired connections fell out of the history", "[report]")
{
    ComparisonResult r = sample_result();
    r.counters.connections_created = 2000;
    CHECK(contains(text_report(r), "Connections: 3, in first-seen order (1997 older expired ones not kept)\n"));
}

TEST_CASE("the JSON report holds every connection, request and counter", "[report]")
{
    ComparisonResult r = sample_result();
    r.config.bypass.push_back(BypassRule::parse("tcp port 3389"));
    const std::string json = json_report(r);
    CHECK(json.front() == '{');
    CHECK(json.substr(json.size() - 2) == "}\n");
    // Brackets balance (no string in this sample holds one).
    CHECK(std::count(json.begin(), json.end(), '{') == std::count(json.begin(), json.end(), '}'));
    CHECK(std::count(json.begin(), json.end(), '[') == std::count(json.begin(), json.end(), ']'));
    CHECK(contains(json, "\"bypass\":[\"tcp port 3389\"]"));
    CHECK(contains(json, "\"flow\":\"tcp 10.0.0.2:80 > 10.0.0.1:40001\",\"active\":true,\"primary_packets\":4"));
    CHECK(contains(json,
                   "\"result\":\"diverged\",\"first_divergence\":{\"position\":\"stream offset 1020 (seq 51020)\","
                   "\"offset\":1020,\"seq\":51020,\"context_offset\":1012,"
                   "\"primary\":\"4d4e4f50515253545556"));
    CHECK(contains(json, "{\"time\":1700000004.000000,\"elapsed\":4.000000,\"reason\":\"timeout\",\"side\":\"primary\","
                         "\"flow\":\"udp 10.0.0.2:5000 > 10.0.0.1:6000\"}"));
    CHECK(contains(json, "\"requests_suppressed\":7"));
    CHECK_FALSE(contains(json, "queued_primary")); // gauges are not totals
}
