// A Linux TAP device (/dev/net/tun with IFF_TAP | IFF_NO_PI, optionally
// IFF_VNET_HDR): created by name, or attached to an existing one. Plain
// syscalls; the tap node adds the thread and the graph.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace colo {

class TapDevice {
public:
    // Opens (creating if needed) the device `name`. With vnet_hdr, every
    // frame read or written starts with a virtio-net header of vnet_hdr_len
    // bytes (10 or 12). A tx_queue_len > 0 sets the device's transmit queue
    // (frames the kernel holds for us to read). With offload (needs vnet_hdr),
    // the kernel may hand us TCP/UDP segments of up to 64 KiB with partial
    // checksums, described by the virtio-net header (TUNSETOFFLOAD), so the
    // stack behind the device sends large segments. Throws
    // std::runtime_error with a clear message, e.g. when CAP_NET_ADMIN is
    // missing.
    TapDevice(const std::string& name, bool vnet_hdr, int vnet_hdr_len, bool bring_up, uint32_t tx_queue_len = 0,
              bool offload = false);
    ~TapDevice();
    TapDevice(const TapDevice&) = delete;
    TapDevice& operator=(const TapDevice&) = delete;

    int fd() const { return fd_; }
    const std::string& name() const { return name_; }
    // The TUN_F_* flags in force ("csum,tso4,tso6,tso_ecn,uso4,uso6"), or "none".
    const std::string& offloads() const { return offloads_; }
    // One frame per call; -1 with errno (EAGAIN when nothing is pending).
    long read_frame(uint8_t* buf, std::size_t cap);
    long write_frame(const uint8_t* buf, std::size_t len);

private:
    void configure(bool vnet_hdr, int vnet_hdr_len, bool bring_up, uint32_t tx_queue_len, bool offload);

    int fd_ = -1;
    std::string name_;
    std::string offloads_ = "none";
};

} // namespace colo
