#include "tools/bench/pair_client.hh"

#include "nodes/proto/frame_parse.hh"
#include "tools/bench/process.hh"
#include "tools/bench/server.hh"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace colo::bench {

namespace {

int64_t monotonic_ns()
{
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void set_buffer(int fd, int option)
{
    const int bytes = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
}

} // namespace

PairClient::PairClient(const std::string& primary_in, const std::string& secondary_in, const std::string& outdev,
                       const Workload& workload, bool measure_latency)
    : workload_(workload)
{
    seen_.assign(workload.pairs(), 0);
    last_of_flow_.assign(workload.flows(), kNoPair);
    if (measure_latency) {
        sent_ns_ = std::make_unique<std::atomic<int64_t>[]>(workload.pairs());
        tally_.latency_ns.assign(workload.pairs(), -1);
    }
    // outdev first: whatever the server releases before we listen is lost.
    outdev_fd_ = connect_unix(outdev);
    set_buffer(outdev_fd_, SO_RCVBUF);
    reader_ = std::thread([this] { read_loop(); });
    primary_fd_ = connect_unix(primary_in);
    secondary_fd_ = connect_unix(secondary_in);
    set_buffer(primary_fd_, SO_SNDBUF);
    set_buffer(secondary_fd_, SO_SNDBUF);
}

PairClient::~PairClient()
{
    if (reader_.joinable()) finish();
}

void PairClient::warm_up()
{
    const double deadline = monotonic_seconds() + 10;
    for (uint32_t serial = 0; monotonic_seconds() < deadline; ++serial) {
        const auto record = warmup_record(serial);
        write_all(primary_fd_, record);
        write_all(secondary_fd_, record);
        for (int i = 0; i < 100; ++i) {
            if (warmups_.load() > 0) return;
            ::usleep(5000);
        }
    }
    throw std::runtime_error("the server released no warm-up pair within 10 s");
}

void PairClient::stamp(uint64_t pair)
{
    sent_ns_[pair].store(monotonic_ns(), std::memory_order_release);
}

bool PairClient::wait_released(uint64_t count, double stall_s)
{
    uint64_t last = released_.load();
    double last_progress = monotonic_seconds();
    std::unique_lock lock(mu_);
    wake_at_.store(count);
    while (released_.load() < count) {
        cv_.wait_for(lock, std::chrono::milliseconds(50));
        const uint64_t now = released_.load();
        if (now != last) {
            last = now;
            last_progress = monotonic_seconds();
        } else if (monotonic_seconds() - last_progress > stall_s) {
            wake_at_.store(UINT64_MAX);
            return false;
        }
    }
    wake_at_.store(UINT64_MAX);
    return true;
}

ReleaseTally PairClient::finish()
{
    for (int* fd : {&primary_fd_, &secondary_fd_}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
    }
    ::shutdown(outdev_fd_, SHUT_RDWR);
    reader_.join();
    ::close(outdev_fd_);
    outdev_fd_ = -1;
    return std::move(tally_);
}

void PairClient::read_loop()
{
    const double cpu0 = thread_cpu_seconds();
    std::vector<uint8_t> buf(1 << 20);
    std::size_t have = 0;
    for (;;) {
        const ssize_t n = ::read(outdev_fd_, buf.data() + have, buf.size() - have);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            break;
        }
        const int64_t now_ns = monotonic_ns();
        const double now_s = double(now_ns) * 1e-9;
        have += std::size_t(n);
        std::size_t at = 0;
        while (have - at >= 4) {
            const uint32_t len = load_be32(&buf[at]);
            if (have - at < 4 + std::size_t(len)) break;
            on_frame(&buf[at + 4], len, now_s, now_ns);
            at += 4 + len;
        }
        std::memmove(buf.data(), buf.data() + at, have - at);
        have -= at;
        released_.store(tally_.frames);
        if (tally_.frames >= wake_at_.load()) {
            std::lock_guard lock(mu_);
            cv_.notify_all();
        }
    }
    tally_.reader_cpu_s = thread_cpu_seconds() - cpu0;
}

void PairClient::on_frame(const uint8_t* frame, uint32_t len, double now_s, int64_t now_ns)
{
    if (is_warmup(frame, len)) {
        warmups_.fetch_add(1);
        return;
    }
    FrameId id;
    if (!workload_.identify(frame, len, last_of_flow_, id) || id.pair >= seen_.size() ||
        id.flow >= last_of_flow_.size()) {
        ++tally_.foreign;
        return;
    }
    ++tally_.frames;
    tally_.payload_bytes += len;
    tally_.last_frame_s = now_s;
    if (seen_[id.pair]) ++tally_.duplicates;
    else {
        seen_[id.pair] = 1;
        ++tally_.distinct;
    }
    uint64_t& last = last_of_flow_[id.flow];
    if (last != kNoPair && id.pair < last) ++tally_.inversions;
    last = id.pair;
    if (sent_ns_) {
        const int64_t sent = sent_ns_[id.pair].load(std::memory_order_acquire);
        if (sent > 0) tally_.latency_ns[id.pair] = now_ns - sent;
    }
}

void PairClient::write_all(int fd, const std::vector<uint8_t>& bytes)
{
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("write to server: ") + std::strerror(errno));
        }
        done += std::size_t(n);
    }
}

} // namespace colo::bench
