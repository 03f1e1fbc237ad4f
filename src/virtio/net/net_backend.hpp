// NetBackend: where a virtio-net device's Ethernet frames go and come from (libslirp's user
// networking, a host TAP interface). Frames are plain Ethernet frames (destination MAC first,
// no FCS, no virtio header).
//
// Received frames are handed to the receiver set with set_receiver(), from inside poll() or
// from inside send() (slirp answers ARP and DHCP synchronously). The receiver copies the
// frame before it returns and must not call back into the backend.
//
// Thread: the hart thread only (see EventSource).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "base/event_source.hpp"
#include "base/result.hpp"
#include "virtio/net/net_config.hpp"

namespace trapeze::virtio {

class NetBackend : public EventSource {
public:
    using Receiver = std::function<void(std::span<const uint8_t> frame)>;

    void set_receiver(Receiver receiver) { m_receiver = std::move(receiver); }

    // Transmits one frame to the host side. Host-side failures (a full TAP queue) drop the
    // frame as a cable would; the backend counts them.
    virtual void send(std::span<const uint8_t> frame) = 0;

protected:
    void deliver(std::span<const uint8_t> frame) {
        if (m_receiver) m_receiver(frame);
    }

private:
    Receiver m_receiver;
};

// The backend `cfg` names: a SlirpBackend (with its host forwards listening) or a TapBackend.
Result<std::unique_ptr<NetBackend>> make_net_backend(const NetConfig& cfg);

}  // namespace trapeze::virtio
