// SlirpBackend: user-mode networking through libslirp (4.x, SlirpConfig version 4). The guest
// sees QEMU's `-netdev user` network: gateway 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15.
// Connections the guest opens become ordinary host sockets (so it reaches host loopback
// services through 10.0.2.2); host forwards listen on host sockets and connect into the guest.
//
// libslirp is driven from EventSource: fill_pollfds() asks slirp for its sockets and its
// timeout (slirp_pollfds_fill), poll() checks them without waiting, lets slirp serve them
// (slirp_pollfds_poll) and runs expired slirp timers. Frames slirp sends to the guest come out
// of slirp's send_packet callback, inside poll() or inside send().
//
// Thread: the hart thread only; libslirp is not thread-safe and calls back on the calling
// thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "virtio/net/net_backend.hpp"

struct Slirp;

namespace trapeze::virtio {

class SlirpBackend final : public NetBackend {
public:
    // Creates the slirp instance and binds every host forward; a forward that cannot listen
    // (port in use, address not local) is an error naming it.
    static Result<std::unique_ptr<SlirpBackend>> create(const std::vector<HostForward>& forwards);

    ~SlirpBackend() override;
    SlirpBackend(const SlirpBackend&) = delete;
    SlirpBackend& operator=(const SlirpBackend&) = delete;

    void send(std::span<const uint8_t> frame) override;
    void fill_pollfds(std::vector<pollfd>& fds) override;
    uint64_t next_timeout_ns() override;
    void poll() override;

private:
    struct Timer;
    struct Callbacks;

    SlirpBackend();
    void run_timers();
    int add_pollfd(int fd, int events);
    int revents(int index) const;

    Slirp* m_slirp = nullptr;
    std::vector<std::unique_ptr<Timer>> m_timers;
    std::vector<pollfd> m_pollfds;        // filled by slirp_pollfds_fill for one round
    uint32_t m_slirp_timeout_ms = UINT32_MAX;
};

}  // namespace trapeze::virtio
