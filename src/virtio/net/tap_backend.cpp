#include "virtio/net/tap_backend.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"

namespace trapeze::virtio {

Result<std::unique_ptr<TapBackend>> TapBackend::open(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ) return make_error("tap '{}': invalid interface name", name);
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) {
        const int e = errno;
        if (e == ENOENT || e == ENODEV)
            return make_error("tap '{}': /dev/net/tun does not exist (is the tun module loaded? modprobe tun)", name);
        if (e == EACCES || e == EPERM)
            return make_error("tap '{}': permission denied opening /dev/net/tun", name);
        return make_error("tap '{}': open /dev/net/tun: {}", name, std::strerror(e));
    }
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
        const int e = errno;
        if (e == EPERM || e == EACCES)
            return make_error("tap '{}': permission denied: creating a TAP interface needs CAP_NET_ADMIN; or create "
                              "it once with 'ip tuntap add {} mode tap user $USER'",
                              name, name);
        if (e == EBUSY) return make_error("tap '{}': interface is in use by another program", name);
        if (e == EINVAL) return make_error("tap '{}': an interface of that name exists and is not a TAP", name);
        return make_error("tap '{}': TUNSETIFF: {}", name, std::strerror(e));
    }
    ifr.ifr_name[IFNAMSIZ - 1] = '\0';
    return std::unique_ptr<TapBackend>(new TapBackend(std::move(fd), std::string(ifr.ifr_name)));
}

void TapBackend::send(std::span<const uint8_t> frame) {
    // IFF_NO_PI: one write() is one frame.
    for (;;) {
        const ssize_t n = ::write(m_fd.get(), frame.data(), frame.size());
        if (n >= 0) return;
        if (errno == EINTR) continue;
        if (m_dropped_tx++ == 0) spdlog::warn("tap '{}': dropping transmitted frames: {}", m_name, std::strerror(errno));
        return;
    }
}

void TapBackend::fill_pollfds(std::vector<pollfd>& fds) { fds.push_back({m_fd.get(), POLLIN, 0}); }

void TapBackend::poll() {
    // Bounded so that a flooded interface cannot keep the hart thread here; the rest waits
    // in the kernel's queue for the next poll().
    for (int i = 0; i < 64; ++i) {
        const ssize_t n = ::read(m_fd.get(), m_buffer.data(), m_buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // EAGAIN: nothing more; other errors: the interface went away
        deliver({m_buffer.data(), static_cast<size_t>(n)});
    }
}

}  // namespace trapeze::virtio
