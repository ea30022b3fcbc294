// PollServer: one thread that accepts connections on a listening socket and
// serves them with poll(), for the operator endpoints of `colo-graph run`
// (the control socket and /metrics). It never touches the graph's threads:
// a slow, silent or hostile client costs this thread a buffer, never a
// packet. Per connection it bounds what it keeps (a request in progress, the
// replies not yet read) and how long a request may take to arrive, and
// drops the connection, with a log line naming the peer, past either bound.
// A peer that shuts down its sending side still gets the replies it asked for.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace colo {

class PollServer {
public:
    // What a protocol does with one connection's bytes.
    class Session {
    public:
        virtual ~Session() = default;
        // Bytes arrived; `in` holds every byte not yet consumed, and the
        // session erases what it used. Appends replies to `out`. Returns
        // false to close the connection once `out` is written.
        virtual bool received(std::string& in, std::string& out) = 0;
        // The peer closed its side: anything left in `in` is an unfinished request.
        virtual void closed() {}
    };
    // `server` is this server, for send_later() with `id`.
    using SessionFactory =
        std::function<std::unique_ptr<Session>(PollServer& server, uint64_t id, const std::string& peer)>;

    struct Limits {
        std::size_t max_connections = 128;                 // beyond, new peers wait in the listen backlog
        std::size_t max_request = 64 * 1024;               // bytes of input not consumed yet
        std::size_t max_pending = 4 << 20;                 // bytes of replies not read yet
        std::chrono::milliseconds request_timeout{10'000}; // a started request must complete within
    };

    // Takes a listening socket; serves it on its own thread until destroyed.
    PollServer(int listen_fd, std::string name, SessionFactory factory, Limits limits,
               std::function<void(const std::string&)> log);
    ~PollServer();
    PollServer(const PollServer&) = delete;
    PollServer& operator=(const PollServer&) = delete;

    // From any thread: queue `bytes` for connection `id` (a reply that comes
    // later than its request), optionally closing it afterwards. Ignored when
    // the connection is gone.
    void send_later(uint64_t id, std::string bytes, bool close_after = false);

private:
    struct Connection;
    void run();
    void accept_all();
    void serve(Connection& c, short revents);
    void drop(Connection& c, const std::string& why);

    int listen_fd_;
    int wake_fd_;
    std::string name_;
    SessionFactory factory_;
    Limits limits_;
    std::function<void(const std::string&)> log_;
    std::map<uint64_t, std::unique_ptr<Connection>> connections_; // loop thread only
    uint64_t next_id_ = 1;
    std::mutex later_mu_;
    struct Later {
        uint64_t id;
        std::string bytes;
        bool close_after;
    };
    std::vector<Later> later_; // guarded by later_mu_
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

} // namespace colo
