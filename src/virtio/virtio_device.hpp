// VirtioDevice: what a virtio device type (blk, rng, ...) implements, independent of the
// transport that exposes it (the device vs transport split of Firecracker's virtio code).
// The transport owns feature negotiation, status, queue setup and interrupts; the device
// owns its config space and the meaning of the requests on its queues.
//
// Thread: every call comes from the transport's caller (today the hart thread); a device
// that later moves I/O to another thread must bring its completions back through
// VirtioSignals on a thread the transport allows (documented there).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.hpp"
#include "memory/guest_memory.hpp"
#include "snapshot/state_stream.hpp"
#include "virtio/split_virtqueue.hpp"

namespace trapeze::virtio {

// What a device may ask of its transport.
class VirtioSignals {
public:
    // The device added used buffers to queue `index`: interrupt the driver if it wants one.
    virtual void notify_used(uint16_t index) = 0;
    // The device changed its config space (generation bump + config-change interrupt).
    virtual void config_changed() = 0;
    // The guest broke the protocol in a way the device cannot answer: set
    // DEVICE_NEEDS_RESET (§2.1.2) and stop serving queues until the driver resets.
    virtual void needs_reset(std::string_view why) = 0;

protected:
    ~VirtioSignals() = default;
};

// Handed to the device when the driver sets DRIVER_OK; everything it refers to stays valid
// until the device's reset() (the transport owns the queues).
struct ActivateContext {
    GuestMemory& memory;
    uint64_t features;                        // negotiated (driver-accepted) features
    std::span<SplitVirtqueue* const> queues;  // one per queue; nullptr if the driver left it disabled
    VirtioSignals& signals;
};

class VirtioDevice {
public:
    virtual ~VirtioDevice() = default;

    virtual uint32_t device_id() const = 0;
    // Offered features, including the common ones (kCommonFeatures) the device supports.
    virtual uint64_t device_features() const = 0;
    virtual uint16_t queue_count() const = 0;
    virtual uint16_t queue_max_size(uint16_t index) const = 0;

    // Device-specific configuration (offset 0 = transport offset 0x100). Bytes past the end
    // of the device's config read as 0; writes to read-only fields are ignored.
    virtual void read_config(uint64_t offset, std::span<uint8_t> out) const = 0;
    virtual void write_config(uint64_t offset, std::span<const uint8_t> in) {
        (void)offset;
        (void)in;
    }

    // DRIVER_OK: start serving `ctx.queues`.
    virtual void activate(const ActivateContext& ctx) = 0;
    // The driver wrote 0 to Status (or the device is dropped): forget the queues.
    virtual void reset() = 0;
    // The driver notified queue `index` (only called while active and not NEEDS_RESET).
    virtual void process_queue(uint16_t index) = 0;

    // Snapshots: device state the transport does not hold (buffered host input, flags).
    // restore_state() runs on a fresh device, after activate() if the saved one was active,
    // and must read every byte (finish()) or refuse.
    virtual void save_state(snapshot::StateWriter&) const {}
    virtual Result<void> restore_state(snapshot::StateReader& r) { return r.finish(); }
};

// The loop of a device that answers each chain at once (blk, rng): pops every available
// chain of queue `index` into `chain` and calls `handle()`, which completes it with add_used
// and returns false to stop early. A malformed queue sets DEVICE_NEEDS_RESET. The driver is
// interrupted once for the whole batch (the transport applies event-idx suppression).
template <typename Handle>
void serve_queue(SplitVirtqueue& queue, uint16_t index, DescriptorChain& chain, VirtioSignals& signals,
                 Handle handle) {
    bool used = false;
    for (;;) {
        const PopStatus st = queue.pop(chain);
        if (st == PopStatus::Empty) break;
        if (st == PopStatus::Error) {
            signals.needs_reset(to_string(queue.error()));
            break;
        }
        used = true;
        if (!handle()) break;
    }
    if (used) signals.notify_used(index);
}

}  // namespace trapeze::virtio
