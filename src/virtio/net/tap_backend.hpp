// TapBackend: a host TAP interface (`--net tap=NAME`). The interface is attached with
// TUNSETIFF (IFF_TAP | IFF_NO_PI, no vnet header: the device adds and strips the virtio
// header itself). An existing persistent interface owned by the user needs no privilege;
// creating one needs CAP_NET_ADMIN. Configuring it (address, bridge, up) is the host's job.
//
// The fd is non-blocking: poll() reads until the kernel has nothing more, send() drops a
// frame the kernel cannot queue (counted in dropped_tx()).
//
// Thread: the hart thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "virtio/net/net_backend.hpp"

namespace trapeze::virtio {

class TapBackend final : public NetBackend {
public:
    static Result<std::unique_ptr<TapBackend>> open(const std::string& name);

    void send(std::span<const uint8_t> frame) override;
    void fill_pollfds(std::vector<pollfd>& fds) override;
    void poll() override;

    const std::string& name() const { return m_name; }
    uint64_t dropped_tx() const { return m_dropped_tx; }

private:
    TapBackend(UniqueFd fd, std::string name) : m_fd(std::move(fd)), m_name(std::move(name)) {}

    UniqueFd m_fd;
    std::string m_name;  // what the kernel named it
    std::vector<uint8_t> m_buffer = std::vector<uint8_t>(kMaxFrame);
    uint64_t m_dropped_tx = 0;

    static constexpr size_t kMaxFrame = 65536;
};

}  // namespace trapeze::virtio
