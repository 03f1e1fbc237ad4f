// PowerControl: the board's ways for a guest to end the VM, on port I/O.
//
//   * ACPI hardware-reduced sleep control register (ACPI 6.5 §4.8.3.7) at kSleepControlPort:
//     writing SLP_EN (bit 5) with SLP_TYPx (bits 4:2) = kS5SleepType requests power off (the
//     DSDT's \_S5 package names that value). The sleep status register reads 0.
//   * i8042 command port 0x64: command 0xFE (pulse the reset line) requests a reset — Linux's
//     "reboot=k" and the ACPI reset register (FADT RESET_REG, see acpi_tables) both use it.
//     Reading the status port returns 0 (no data, input buffer empty).
//
// The request is reported once through the callback (the machine stops the vCPUs).
// Thread: called under the machine's I/O lock.
#pragma once

#include <cstdint>
#include <functional>

#include "bus/mmio_device.hpp"

namespace trapeze::x86 {

enum class PowerEvent : uint8_t { PowerOff, Reset };

class PowerControl final : public MmioDevice {
public:
    static constexpr uint8_t kS5SleepType = 5;
    static constexpr uint8_t kSlpEn = 1u << 5;
    static constexpr uint8_t kI8042Reset = 0xfe;

    explicit PowerControl(std::function<void(PowerEvent)> on_event) : m_on_event(std::move(on_event)) {}

    // The sleep control (offset 0) and status (offset 1) registers, mapped at kSleepControlPort;
    // the i8042 port is the separate window returned by i8042().
    uint64_t mmio_read(uint64_t, unsigned) override { return 0; }
    void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;

    // The i8042 command port as its own window (offset 0 there).
    class I8042Window final : public MmioDevice {
    public:
        explicit I8042Window(PowerControl& owner) : m_owner(owner) {}
        uint64_t mmio_read(uint64_t, unsigned) override { return 0; }
        void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;

    private:
        PowerControl& m_owner;
    };

    I8042Window& i8042() { return m_i8042; }

private:
    void report(PowerEvent e);

    std::function<void(PowerEvent)> m_on_event;
    I8042Window m_i8042{*this};
    bool m_reported = false;
};

}  // namespace trapeze::x86
