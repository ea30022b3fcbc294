// Fuzzes metrics_request_status (tools/cli/metrics.hh), the check of the HTTP
// request head a client sends to --metrics, with arbitrary bytes.
//
// Input: the bytes a client sent; the head is what a metrics session passes
// (tools/cli/operator_endpoints.cc MetricsSession: up to the first
// "\r\n\r\n", else the first "\n\n"), and the whole input is tried too.
//
// Checked: the answer is "" or one of the three status lines, and agrees with
// a plain reading of the request line (up to the first "\n", less a "\r"
// before it: clients may end lines with a bare newline): "" exactly
// for "GET /metrics[?QUERY] HTTP/...", 400 exactly when the line lacks two
// spaces or "HTTP/" after the second, 405 for any other method.
#include "tools/cli/metrics.hh"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace colo;

namespace {

void check(bool ok, const char* what, std::string_view head)
{
    if (ok) return;
    std::fprintf(stderr, "fuzz_metrics_request: %s for a head of %zu bytes\n", what, head.size());
    std::abort();
}

void check_head(std::string_view head)
{
    const std::string status = metrics_request_status(head);
    check(status.empty() || status == "400 Bad Request" || status == "405 Method Not Allowed" ||
              status == "404 Not Found",
          "an unexpected status", head);

    std::string_view line = head.substr(0, head.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // METHOD SP TARGET SP VERSION, where VERSION may hold more spaces.
    const auto method_end = line.find(' ');
    const std::string_view method = line.substr(0, method_end);
    const std::string_view after_method =
        method_end == std::string_view::npos ? std::string_view() : line.substr(method_end + 1);
    const auto target_end = after_method.find(' ');
    const bool well_formed = method_end != std::string_view::npos && target_end != std::string_view::npos &&
                             after_method.substr(target_end + 1).starts_with("HTTP/");
    check((status == "400 Bad Request") == !well_formed, "400 disagrees with the request line", head);
    if (!well_formed) return;
    check((status == "405 Method Not Allowed") == (method != "GET"), "405 disagrees with the method", head);
    const std::string_view target = after_method.substr(0, target_end);
    const bool metrics = target == "/metrics" || target.starts_with("/metrics?");
    check(status.empty() == (method == "GET" && metrics), "200 disagrees with the target", head);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto crlf = input.find("\r\n\r\n");
    check_head(input.substr(0, crlf != std::string_view::npos ? crlf : input.find("\n\n")));
    check_head(input);
    return 0;
}
