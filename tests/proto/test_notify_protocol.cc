#include <catch2/catch.hpp>

#include "nodes/proto/chardev_framing.hh"
#include "nodes/proto/notify_protocol.hh"

#include <string>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

using namespace colo;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes as_bytes(std::string_view s)
{
    return Bytes(s.begin(), s.end());
}
std::string text_of(const Packet& p)
{
    return std::string(reinterpret_cast<const char*>(p.data()), p.len);
}

// Writes every queued record of `enc` to `fd` (blocking socket).
void write_all(int fd, FrameEncoder& enc)
{
    iovec iov[16];
    while (!enc.empty()) {
        const std::size_t n = enc.fill_iov(iov);
        const ssize_t w = ::writev(fd, iov, int(n));
        REQUIRE(w > 0);
        enc.advance(std::size_t(w));
    }
}

// Reads exactly `n` bytes from `fd`.
Bytes read_exactly(int fd, std::size_t n)
{
    Bytes b(n);
    std::size_t have = 0;
    while (have < n) {
        const ssize_t r = ::read(fd, b.data() + have, n - have);
        REQUIRE(r > 0);
        have += std::size_t(r);
    }
    return b;
}

// Reads from `fd` until `dec` produced `count` frames.
std::vector<Packet> read_frames(int fd, FrameDecoder& dec, std::size_t count)
{
    std::vector<Packet> out;
    uint8_t buf[256];
    while (out.size() < count) {
        const ssize_t r = ::read(fd, buf, sizeof buf);
        REQUIRE(r > 0);
        REQUIRE(dec.feed({buf, std::size_t(r)}, 0, out));
    }
    return out;
}

struct SocketPair {
    int fd[2];
    SocketPair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd) == 0); }
    ~SocketPair()
    {
        ::close(fd[0]);
        ::close(fd[1]);
    }
};

} // namespace

TEST_CASE("NotifyProtocol: messages are matched on exact bytes", "[notify]")
{
    NotifyProtocol proto;

    auto r = proto.on_message(NotifyProtocol::message("COLO_USERSPACE_PROXY_INIT"));
    CHECK(r.action == NotifyProtocol::Action::reply);
    CHECK(r.reply == "COLO_COMPARE_GET_XEN_INIT");

    r = proto.on_message(NotifyProtocol::message("COLO_CHECKPOINT"));
    CHECK(r.action == NotifyProtocol::Action::checkpoint_done);
    CHECK(r.reply.empty());

    for (const char* junk :
         {"COLO_CHECKPOINT\n", "COLO_CHECKPOIN", "colo_checkpoint", "DO_CHECKPOINT", " COLO_USERSPACE_PROXY_INIT"}) {
        CAPTURE(junk);
        CHECK(proto.on_message(NotifyProtocol::message(junk)).action == NotifyProtocol::Action::unsupported);
    }
    // A trailing NUL makes it a different message.
    Bytes with_nul = as_bytes("COLO_CHECKPOINT");
    with_nul.push_back(0);
    CHECK(proto.on_message(Packet::copy_of(with_nul.data(), uint32_t(with_nul.size()))).action ==
          NotifyProtocol::Action::unsupported);

    CHECK(proto.handshakes() == 1);
    CHECK(proto.checkpoints() == 1);
    CHECK(proto.unsupported() == 6);
}

TEST_CASE("NotifyProtocol: the vnet header bytes are part of the message", "[notify]")
{
    // QEMU matches the whole payload; a non-zero VNET_LEN does not strip bytes.
    NotifyProtocol proto;
    Packet p = NotifyProtocol::message("COLO_CHECKPOINT");
    p.vnet_len = 4;
    CHECK(proto.on_message(p).action == NotifyProtocol::Action::checkpoint_done);
}

TEST_CASE("NotifyProtocol: DO_CHECKPOINT wire bytes", "[notify]")
{
    FrameEncoder enc(false); // outbound notify records never carry VNET_LEN
    REQUIRE(enc.push(NotifyProtocol::do_checkpoint()));
    SocketPair sp;
    write_all(sp.fd[0], enc);
    Bytes want = {0, 0, 0, 13};
    const Bytes text = as_bytes("DO_CHECKPOINT");
    want.insert(want.end(), text.begin(), text.end());
    CHECK(read_exactly(sp.fd[1], want.size()) == want);
}

TEST_CASE("NotifyProtocol: handshake and checkpoint over a socketpair, vnet inbound only", "[notify]")
{
    for (const bool vnet : {false, true}) {
        CAPTURE(vnet);
        SocketPair sp;
        const int frame_side = sp.fd[0];   // plays the Xen COLO frame
        const int compare_side = sp.fd[1]; // plays colo-compare

        // COLO frame -> colo-compare: records carry VNET_LEN when vnet is on.
        FrameEncoder frame_out(vnet);
        frame_out.push(NotifyProtocol::message("COLO_USERSPACE_PROXY_INIT"));
        frame_out.push(NotifyProtocol::message("BOGUS"));
        frame_out.push(NotifyProtocol::message("COLO_CHECKPOINT"));
        write_all(frame_side, frame_out);

        FrameDecoder compare_in(vnet);
        FrameEncoder compare_out(false);
        NotifyProtocol proto;
        int checkpoints_done = 0;
        for (const Packet& msg : read_frames(compare_side, compare_in, 3)) {
            const auto result = proto.on_message(msg);
            if (result.action == NotifyProtocol::Action::reply) compare_out.push(NotifyProtocol::message(result.reply));
            if (result.action == NotifyProtocol::Action::checkpoint_done) ++checkpoints_done;
        }
        compare_out.push(NotifyProtocol::do_checkpoint());
        write_all(compare_side, compare_out);

        CHECK(checkpoints_done == 1);
        CHECK(proto.unsupported() == 1);

        // colo-compare -> COLO frame: no VNET_LEN word, whatever the vnet flag.
        Bytes want = {0, 0, 0, 25};
        const Bytes init = as_bytes("COLO_COMPARE_GET_XEN_INIT");
        want.insert(want.end(), init.begin(), init.end());
        want.insert(want.end(), {0, 0, 0, 13});
        const Bytes dock = as_bytes("DO_CHECKPOINT");
        want.insert(want.end(), dock.begin(), dock.end());
        const Bytes got = read_exactly(frame_side, want.size());
        CHECK(got == want);

        FrameDecoder frame_in(false);
        std::vector<Packet> replies;
        REQUIRE(frame_in.feed(got, 0, replies));
        REQUIRE(replies.size() == 2);
        CHECK(text_of(replies[0]) == "COLO_COMPARE_GET_XEN_INIT");
        CHECK(text_of(replies[1]) == "DO_CHECKPOINT");
    }
}
