#include "tools/cli/progress.hh"

#include "engine/registry.hh"
#include "engine/runtime.hh"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

namespace colo {

namespace {

// Standard error is one: the bar and the log lines take turns under this lock.
std::mutex g_stderr_mu;
ProgressBar* g_shown = nullptr;

void write_stderr(const std::string& s)
{
    std::cerr << s << std::flush;
}

std::string printf_string(const char* format, double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string si(double v) // 850, 12.3k, 1.25M
{
    if (v < 1e3) return printf_string("%.0f", v);
    if (v < 1e6) return printf_string("%.1fk", v / 1e3);
    if (v < 1e9) return printf_string("%.2fM", v / 1e6);
    return printf_string("%.2fG", v / 1e9);
}

std::string binary_bytes(double v) // 512 B, 1.5 KiB, 1.21 GiB
{
    if (v < 1024) return printf_string("%.0f B", v);
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    for (v /= 1024; v >= 1024 && u < 3; ++u) v /= 1024;
    return printf_string(u == 0 ? "%.1f " : "%.2f ", v) + units[u];
}

std::string duration(double s) // 0:13, 1:02:03
{
    if (s >= 100 * 3600.0) return ">99h";
    const auto t = uint64_t(s + 0.5);
    char buf[32];
    if (t >= 3600)
        std::snprintf(buf, sizeof buf, "%u:%02u:%02u", unsigned(t / 3600), unsigned(t / 60 % 60), unsigned(t % 60));
    else std::snprintf(buf, sizeof buf, "%u:%02u", unsigned(t / 60), unsigned(t % 60));
    return buf;
}

} // namespace

std::string format_progress(uint64_t done, uint64_t total, uint64_t packets, double elapsed_s, std::size_t width)
{
    const std::string rate = (elapsed_s > 0 ? si(double(packets) / elapsed_s) : std::string("0")) + " pkt/s";
    std::string line;
    if (total == 0) line = binary_bytes(double(done)) + " read  " + rate;
    else {
        done = std::min(done, total);
        const std::string eta =
            done == 0 || elapsed_s <= 0 ? "--:--" : duration(double(total - done) * elapsed_s / double(done));
        char percent[8];
        std::snprintf(percent, sizeof percent, "%3u%%", unsigned(done * 100 / total));
        const std::string numbers = std::string(percent) + "  " + rate + "  ETA " + eta;
        line = numbers;
        if (width >= numbers.size() + 3 + 10) { // a bar of 10 columns at least
            const std::size_t bar = width - numbers.size() - 3;
            const auto full = std::size_t(double(bar) * double(done) / double(total));
            line.assign(1, '[').append(full, '#').append(bar - full, '.').append("] ").append(numbers);
        }
    }
    line.resize(width, ' '); // every redraw covers the one before
    return line;
}

ProgressBar::ProgressBar(std::vector<ProgressSource> sources, std::size_t width, std::chrono::milliseconds interval)
    : sources_(std::move(sources)), width_(width), start_(std::chrono::steady_clock::now())
{
    {
        std::lock_guard lock(g_stderr_mu);
        g_shown = this;
    }
    thread_ = std::thread([this, interval] {
        std::unique_lock lock(mu_);
        while (!wake_.wait_for(lock, interval, [this] { return stop_; })) {
            lock.unlock();
            sample();
            lock.lock();
        }
    });
}

ProgressBar::~ProgressBar()
{
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
    std::lock_guard lock(g_stderr_mu);
    // Once more at the final counts, however short the run was: every bar
    // thus ends in a complete line (which tests/cli/progress_bar.sh checks
    // without depending on the machine's speed), cleared at once.
    draw_locked();
    clear_locked();
    g_shown = nullptr;
}

void ProgressBar::sample()
{
    std::lock_guard lock(g_stderr_mu);
    draw_locked();
}

void ProgressBar::draw_locked()
{
    uint64_t done = 0, total = 0, packets = 0;
    bool known = true;
    for (const auto& s : sources_) {
        done += s.node->counter(s.bytes_counter);
        packets += s.node->counter(s.packets_counter);
        total += s.total;
        known = known && s.total != 0;
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    write_stderr('\r' + format_progress(done, known ? total : 0, packets, elapsed.count(), width_));
    drawn_ = true;
}

void ProgressBar::clear_locked()
{
    if (drawn_) write_stderr('\r' + std::string(width_, ' ') + '\r');
    drawn_ = false;
}

std::unique_ptr<ProgressBar> progress_on_terminal(const Runtime& rt)
{
    if (!isatty(STDERR_FILENO)) return nullptr;
    const NodeSpec* spec = Registry::instance().find("pcap-source");
    if (!spec) return nullptr;
    std::size_t bytes = SIZE_MAX, packets = SIZE_MAX;
    for (const auto& c : spec->counters) {
        if (c.name == "file_bytes") bytes = c.index;
        if (c.name == "packets") packets = c.index;
    }
    if (bytes == SIZE_MAX || packets == SIZE_MAX) return nullptr;
    std::vector<ProgressSource> sources;
    for (const auto& n : rt.graph().nodes) {
        if (n.type != "pcap-source") continue;
        std::error_code ec;
        const uint64_t size = std::filesystem::file_size(n.props.str("file"), ec);
        const auto passes = uint64_t(n.props.integer("loop")); // 0 = forever: no total
        sources.push_back({rt.node(n.name), bytes, packets, ec ? 0 : size * passes});
    }
    if (sources.empty()) return nullptr;
    winsize ws{};
    const std::size_t columns = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    // One column short of the edge, where some terminals wrap at once.
    return std::make_unique<ProgressBar>(std::move(sources), std::min<std::size_t>(columns, 100) - 1);
}

void log_line(const std::string& line)
{
    std::lock_guard lock(g_stderr_mu);
    if (g_shown) g_shown->clear_locked();
    write_stderr(line + '\n');
    if (g_shown) g_shown->draw_locked();
}

} // namespace colo
