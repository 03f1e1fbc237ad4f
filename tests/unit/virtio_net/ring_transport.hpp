// Drives a VirtioMmioTransport through the §3.1.1 initialisation with every queue of a
// RingGuest, for tests that need the transport (snapshots) rather than a bare device.
#pragma once

#include <cstdint>

#include "ring_guest.hpp"
#include "virtio/virtio_mmio_transport.hpp"

namespace trapeze::virtio::test {

inline constexpr uint32_t kDriverOkStatus =
    VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

// Returns the status read back at the end (kDriverOkStatus when all went well).
inline uint32_t init_transport(VirtioMmioTransport& t, const RingGuest& g, uint16_t queues, uint64_t features) {
    const auto set = [&t](uint64_t off, uint64_t v) { t.mmio_write(off, v & 0xffff'ffff, 4); };
    set(0x070, 0);
    set(0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    set(0x024, 0);
    set(0x020, features);
    set(0x024, 1);
    set(0x020, features >> 32);
    set(0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    for (uint16_t q = 0; q < queues; ++q) {
        const QueueLayout& l = g.layout(q);
        set(0x030, q);
        set(0x038, l.size);
        set(0x080, l.desc.value);
        set(0x084, l.desc.value >> 32);
        set(0x090, l.avail.value);
        set(0x094, l.avail.value >> 32);
        set(0x0a0, l.used.value);
        set(0x0a4, l.used.value >> 32);
        set(0x044, 1);
    }
    set(0x070, kDriverOkStatus);
    return static_cast<uint32_t>(t.mmio_read(0x070, 4));
}

inline void notify(VirtioMmioTransport& t, uint16_t queue) {
    t.mmio_write(0x050, queue, 4);
}

// save() -> bytes -> read(), as between the VMM that saved and the one that restores.
inline VirtioMmioTransport::State through_bytes(const VirtioMmioTransport::State& s) {
    snapshot::StateWriter w;
    s.write(w);
    const auto bytes = w.take();
    snapshot::StateReader r(bytes, "transport state");
    auto out = VirtioMmioTransport::State::read(r);
    if (!r.finish().ok()) return {};
    return out;
}

}  // namespace trapeze::virtio::test
