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

TapDevice::TapDevice(const std::string& name, bool vnet_hdr, int vnet_hdr_len, bool bring_up) : name_(name)
{
    if (name.empty() || name.size() >= IFNAMSIZ) throw std::runtime_error("tap device name '" + name + "' must be 1-15 characters");
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
    if (bring_up) {
        int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ifreq up{};
        std::strncpy(up.ifr_name, name.c_str(), IFNAMSIZ - 1);
        if (s < 0 || ::ioctl(s, SIOCGIFFLAGS, &up) < 0) fail("tap " + name + ": SIOCGIFFLAGS");
        up.ifr_flags |= IFF_UP;
        if (::ioctl(s, SIOCSIFFLAGS, &up) < 0) fail("tap " + name + ": bring up");
        ::close(s);
    }
}

TapDevice::~TapDevice()
{
    if (fd_ >= 0) ::close(fd_);
}

long TapDevice::read_frame(uint8_t* buf, std::size_t cap) { return ::read(fd_, buf, cap); }
long TapDevice::write_frame(const uint8_t* buf, std::size_t len) { return ::write(fd_, buf, len); }

} // namespace colo
