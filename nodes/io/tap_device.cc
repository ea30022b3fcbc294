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
} // namespace

TapDevice::TapDevice(const std::string& name, bool vnet_hdr, int vnet_hdr_len, bool bring_up, uint32_t tx_queue_len)
    : name_(name)
{
    if (name.empty() || name.size() >= IFNAMSIZ)
        throw std::runtime_error("tap device name '" + name + "' must be 1-15 characters");
    fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) fail("/dev/net/tun");
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd_, TUNSETIFF, &ifr) < 0) {
        const int e = errno;
        ::close(fd_);
        errno = e;
        fail("tap " + name + ": TUNSETIFF");
    }
    if (vnet_hdr && ::ioctl(fd_, TUNSETVNETHDRSZ, &vnet_hdr_len) < 0) fail("tap " + name + ": TUNSETVNETHDRSZ");
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
