// IoLoop: one thread that polls the descriptors of every client registered
// with it, like QEMU's iothread. All stream endpoints and device readers of a
// process share one (IoLoop::shared()), so a frame from any socket or device
// is read, run through the graph and written by the same thread, and a COLO
// pair (primary and secondary arriving on two descriptors) wakes one thread,
// not one per descriptor.
//
// A client fills in its pollfds before each poll and handles their events
// after it, always on the loop thread. Handlers may block briefly (back-
// pressure); every client waits meanwhile, as a QEMU iothread would.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include <poll.h>

namespace colo {

class IoLoop {
public:
    class Client {
    public:
        static constexpr std::size_t kMaxFds = 4;
        virtual ~Client() = default;
        // Fills up to kMaxFds entries; returns how many.
        virtual std::size_t prepare(std::span<pollfd, kMaxFds> fds) = 0;
        // Milliseconds until the client needs to run without an event; -1: never.
        virtual int timeout_ms() const = 0;
        // The entries prepare() filled, with their revents.
        virtual void dispatch(std::span<const pollfd> fds) = 0;
        // Writes the output that defer_output() held back.
        virtual void write_deferred() {}
    };

    // Called with output to write: true on a loop thread in a dispatch that
    // holds output (OutputHold), which then calls `client`'s
    // write_deferred() when that dispatch ends. False elsewhere: write at once.
    static bool defer_output(Client* client);

    // Held by a dispatch while it handles input that more input follows (a
    // read that filled its buffer): the output released from it waits for
    // the dispatch's end and goes with the rest in one write. One system
    // call, and the peer is woken when this thread is about to poll rather
    // than while it goes on reading (the kernel wakes a socket's reader as
    // if its writer would sleep now, and may move the reader to this
    // thread's CPU). Output from the last input goes at once: a frame that
    // another host works on in parallel (the mirror's copy) is not held
    // back behind the rest of the graph run.
    class OutputHold {
    public:
        explicit OutputHold(bool more_input_follows);
        ~OutputHold();
        OutputHold(const OutputHold&) = delete;
        OutputHold& operator=(const OutputHold&) = delete;

    private:
        bool was_;
    };

    // The process's loop, started on first use; its thread ends when the
    // last holder lets go.
    static std::shared_ptr<IoLoop> shared();

    IoLoop();
    ~IoLoop();
    IoLoop(const IoLoop&) = delete;
    IoLoop& operator=(const IoLoop&) = delete;

    void add(Client* client);
    // After remove() returns the loop thread no longer touches `client`.
    // Must not be called from the loop thread.
    void remove(Client* client);

private:
    void run();
    void wake();

    int wake_fd_ = -1;
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Client*> clients_; // guarded by mu_
    bool stopping_ = false;        // guarded by mu_
    bool in_round_ = false;        // guarded by mu_: a poll round uses a snapshot of clients_
    uint64_t rounds_ = 0;          // guarded by mu_
};

} // namespace colo
