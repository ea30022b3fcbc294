#include "nodes/io/tap_device.hh"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace colo {

namespace {
[[noreturn]] void fail(const std::string& what)
{
    const int e = errno;
    std::string msg = what + ": " + std::strerror(e);
    if (e == EPERM || e == EACCES) msg += " (needs CAP_NET_ADMIN: run as root or grant the capability)";
    throw std::runtime_error(msg);
}
// Linux 6.2 added UDP segmentation offload to tun; Debian 12's headers
// (6.1) do not name it yet.
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

// What we accept from the kernel: partial checksums, and TCP (and, where the
// kernel has it, UDP) segments of up to 64 KiB. Frames we write may be GSO
// frames whatever is set here; the kernel segments them as needed.
std::string enable_offloads(int fd, const std::string& name)
{
    constexpr unsigned tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    if (::ioctl(fd, TUNSETOFFLOAD, tcp | TUN_F_USO4 | TUN_F_USO6) == 0) return "csum,tso4,tso6,tso_ecn,uso4,uso6";
    // Older kernels refuse flags they do not know.
    if (errno == EINVAL && ::ioctl(fd, TUNSETOFFLOAD, tcp) == 0) return "csum,tso4,tso6,tso_ecn";
    fail("tap " + name + ": TUNSETOFFLOAD");
}
} // namespace

TapDevice::TapDevice(const std::string& name, bool vnet_hdr, int vnet_hdr_len, bool bring_up, uint32_t tx_queue_len,
                     bool offload)
    : name_(name)
{
    if (name.empty() || name.size() >= IFNAMSIZ)
        throw std::runtime_error("tap device name '" + name + "' must be 1-15 characters");
    fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) fail("/dev/net/tun");
    try {
        configure(vnet_hdr, vnet_hdr_len, bring_up, tx_queue_len, offload);
    } catch (...) {
        // The destructor does not run for a constructor that throws.
        ::close(fd_);
        throw;
    }
}

void TapDevice::configure(bool vnet_hdr, int vnet_hdr_len, bool bring_up, uint32_t tx_queue_len, bool offload)
{
    const std::string& name = name_;
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd_, TUNSETIFF, &ifr) < 0) fail("tap " + name + ": TUNSETIFF");
    if (vnet_hdr && ::ioctl(fd_, TUNSETVNETHDRSZ, &vnet_hdr_len) < 0) fail("tap " + name + ": TUNSETVNETHDRSZ");
    if (vnet_hdr && offload) offloads_ = enable_offloads(fd_, name);
    if (tx_queue_len == 0 && !bring_up) return;
    // Interface ioctls go through a socket of their own.
    struct Socket {
        int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ~Socket()
        {
            if (fd >= 0) ::close(fd);
        }
    } s;
    if (s.fd < 0) fail("tap " + name + ": socket");
    ifreq req{};
    std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (tx_queue_len) {
        // The tun driver drops what does not fit in this queue while we read
        // too slowly (500 frames by default).
        req.ifr_qlen = int(tx_queue_len);
        if (::ioctl(s.fd, SIOCSIFTXQLEN, &req) < 0) fail("tap " + name + ": SIOCSIFTXQLEN");
    }
    if (bring_up) {
        if (::ioctl(s.fd, SIOCGIFFLAGS, &req) < 0) fail("tap " + name + ": SIOCGIFFLAGS");
        req.ifr_flags |= IFF_UP;
        if (::ioctl(s.fd, SIOCSIFFLAGS, &req) < 0) fail("tap " + name + ": bring up");
    }
}

TapDevice::~TapDevice()
{
    if (fd_ >= 0) ::close(fd_);
}

long TapDevice::read_frame(uint8_t* buf, std::size_t cap)
{
    return ::read(fd_, buf, cap);
}
long TapDevice::write_frame(const uint8_t* buf, std::size_t len)
{
    return ::write(fd_, buf, len);
}

} // namespace colo
