// VirtioMmioTransport: the virtio-mmio register file, version 2 only (virtio 1.2 §4.2.2),
// in front of one VirtioDevice. It does feature negotiation, the device status state machine,
// queue setup and interrupts; the device sees validated SplitVirtqueues and VirtioSignals.
//
// Wiring a slot (what the machine does): construct it with the guest's RAM, the slot's IrqLine
// (a PLIC source) and the device; map it at the slot base with a window of kWindowSize bytes;
// announce it in the FDT as compatible "virtio,mmio" with that reg and interrupt. The line is
// high while InterruptStatus != 0 (bit 0 used buffer, bit 1 configuration change).
//
// Guest mistakes are never VMM errors: an unsupported access size reads 0 / is ignored; a
// malformed queue (bad layout at QueueReady, or a malformed chain found by the device) sets
// DEVICE_NEEDS_RESET with a configuration-change interrupt and is logged once per transport;
// notifications are then ignored until the driver writes 0 to Status.
//
// Snapshots: save() takes the register file, each queue's layout and ring positions, and the
// device's save_state() bytes; restore() rebuilds them on a fresh transport over the restored
// RAM and activates the device as DRIVER_OK did. kick() then serves what the rings hold.
//
// Thread: all calls serialised by the caller (today the machine's hart thread, which also runs
// the device's process_queue() synchronously). The IrqLine sink must not call back in.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "bus/irq_line.hpp"
#include "bus/mmio_device.hpp"
#include "memory/guest_memory.hpp"
#include "snapshot/state_stream.hpp"
#include "virtio/virtio_device.hpp"

namespace trapeze::virtio {

class VirtioMmioTransport final : public MmioDevice, private VirtioSignals {
public:
    // Register window: registers up to 0x100, device config after it. QEMU's virt board
    // spaces its slots 0x1000 apart and declares 0x200 bytes each; so do we.
    static constexpr uint64_t kWindowSize = 0x200;
    static constexpr uint32_t kMagicValue = 0x74726976;  // "virt"
    static constexpr uint32_t kVersion = 2;              // modern (non-legacy) interface
    static constexpr uint32_t kVendorId = 0x554d4551;    // "QEMU", what Linux guests expect to see

    // InterruptStatus bits (§4.2.2).
    static constexpr uint32_t VIRTIO_MMIO_INT_VRING = 1;
    static constexpr uint32_t VIRTIO_MMIO_INT_CONFIG = 2;

    // A full virtio-net backlog (1024 frames of up to 64 KiB) is the largest device state.
    static constexpr size_t kMaxDeviceStateBytes = 80u << 20;

    struct State {
        struct Queue {
            uint32_t num = 0;
            bool ready = false;
            QueueLayout layout;                       // size is the built queue's (0 if never ready)
            std::optional<QueuePositions> positions;  // exactly when ready (it has a SplitVirtqueue)
        };
        uint32_t device_id = 0;
        uint32_t device_features_sel = 0;
        uint32_t driver_features_sel = 0;
        uint64_t driver_features = 0;
        uint32_t queue_sel = 0;
        uint32_t status = 0;
        uint32_t interrupt_status = 0;
        uint32_t config_generation = 0;
        bool activated = false;
        bool irq_level = false;
        bool reset_logged = false;
        std::vector<Queue> queues;
        std::vector<uint8_t> device;  // the device's save_state() bytes

        void write(snapshot::StateWriter& w) const;
        // Refuses what the transport cannot be in: unknown interrupt bits, an irq level that
        // does not follow from them, positions without a ready queue or the reverse.
        static State read(snapshot::StateReader& r);
    };

    // `memory` and `irq` must outlive the transport.
    VirtioMmioTransport(GuestMemory& memory, IrqLine& irq, std::unique_ptr<VirtioDevice> device);
    ~VirtioMmioTransport() override;
    VirtioMmioTransport(const VirtioMmioTransport&) = delete;
    VirtioMmioTransport& operator=(const VirtioMmioTransport&) = delete;

    uint64_t mmio_read(uint64_t offset, unsigned size) override;
    void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;

    VirtioDevice& device() { return *m_device; }
    uint32_t status() const { return m_status; }
    uint32_t interrupt_status() const { return m_interrupt_status; }
    uint32_t config_generation() const { return m_config_generation; }
    uint64_t driver_features() const { return m_driver_features; }

    State save() const;
    // Checks `s` against this transport (device type, queue count, sizes, features offered,
    // ring layouts in this transport's GuestMemory, which must already hold the snapshot's RAM),
    // then resets, rebuilds the queues, activates the device if the saved one was, hands it
    // its state bytes and drives the irq line. Nothing is served: see kick().
    Result<void> restore(const State& s);
    // Serves every ready queue of an active device as if the driver had notified it (a request
    // made available just before the snapshot, or held by a rate limiter). Processing an
    // available chain early is always legal.
    void kick();

private:
    struct Queue {
        uint32_t num = 0;  // as the driver wrote it: checked against the maximum at QueueReady
        bool ready = false;
        QueueLayout layout;
        std::optional<SplitVirtqueue> vq;
    };

    uint32_t read_register(uint64_t offset);
    void write_register(uint64_t offset, uint32_t value);
    uint64_t read_config(uint64_t offset, unsigned size) const;
    void write_config(uint64_t offset, uint64_t value, unsigned size);
    void write_status(uint32_t value);
    bool features_acceptable() const;
    void set_queue_ready(bool ready);
    void activate();
    void reset();
    Result<void> check(const State& s) const;
    Queue* selected_queue();
    void set_interrupt(uint32_t bits);
    void update_irq();

    // VirtioSignals
    void notify_used(uint16_t index) override;
    void config_changed() override;
    void needs_reset(std::string_view why) override;

    GuestMemory& m_memory;
    IrqLine& m_irq;
    std::unique_ptr<VirtioDevice> m_device;
    std::vector<Queue> m_queues;
    std::vector<SplitVirtqueue*> m_active;  // handed to the device on DRIVER_OK
    uint32_t m_device_features_sel = 0;
    uint32_t m_driver_features_sel = 0;
    uint64_t m_driver_features = 0;
    uint32_t m_queue_sel = 0;
    uint32_t m_status = 0;
    uint32_t m_interrupt_status = 0;
    uint32_t m_config_generation = 0;
    bool m_activated = false;
    bool m_irq_level = false;
    bool m_reset_logged = false;
};

}  // namespace trapeze::virtio
