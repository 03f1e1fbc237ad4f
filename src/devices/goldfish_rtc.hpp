// GoldfishRtc: the Android emulator's "google,goldfish-rtc" that QEMU's virt board has at
// 0x101000 (register list: AOSP "goldfish" virtual hardware doc, §"Goldfish real-time
// clock"; Linux drivers/rtc/rtc-goldfish.c is its main user):
//
//   0x00 TIME_LOW         read: low 32 bits of now, latching the high 32 bits
//   0x04 TIME_HIGH        read: the latched high bits; writes to either half set the time
//   0x08 ALARM_LOW        write: low 32 bits of the alarm time, and arms the alarm
//   0x0c ALARM_HIGH       write: high 32 bits of the alarm time (write it first)
//   0x10 IRQ_ENABLED      bit 0 gates the interrupt line
//   0x14 CLEAR_ALARM      write: disarms the alarm
//   0x18 ALARM_STATUS     read: 1 while the alarm is armed
//   0x1c CLEAR_INTERRUPT  write: acknowledges the alarm interrupt
//
// Time is nanoseconds since the Unix epoch: the host's CLOCK_REALTIME plus an offset the
// guest moves by writing TIME_LOW/TIME_HIGH. An armed alarm fires (interrupt pending, alarm
// disarmed) when update() sees it reached, or at once if it is set in the past; the line is
// high while the interrupt is pending and enabled. Registers take aligned 32-bit accesses;
// anything else reads 0 and is ignored.
//
// Snapshots: State holds the offset from host time, not the time itself, so a restored guest's
// wall clock keeps following the host's real time (it jumps by the time the snapshot lay
// unused, as a laptop's RTC does across suspend): intended, guests expect true wall time.
//
// Thread: all calls are serialised by the caller (the machine's hart thread); the line's
// sink must not call back into the device.
#pragma once

#include <cstdint>
#include <functional>

#include "base/result.hpp"
#include "bus/irq_line.hpp"
#include "bus/mmio_device.hpp"
#include "snapshot/state_stream.hpp"

namespace trapeze::devices {

class GoldfishRtc final : public MmioDevice {
public:
    using HostClock = std::function<uint64_t()>;  // host nanoseconds since the Unix epoch

    static constexpr uint64_t kWindowSize = 0x1000;

    struct State {
        uint64_t offset = 0;  // guest time - host time, modulo 2^64
        uint32_t time_high = 0;
        uint64_t alarm_next = 0;
        bool alarm_running = false;
        bool irq_pending = false;
        bool irq_enabled = false;
        bool irq_level = false;

        void write(snapshot::StateWriter& w) const;
        // Refuses an irq level that does not follow from pending and enabled.
        static State read(snapshot::StateReader& r);
    };

    // `irq` is the alarm interrupt (wire it to the PLIC source). `host_clock` defaults to
    // CLOCK_REALTIME; tests pass a fake.
    explicit GoldfishRtc(IrqLine& irq, HostClock host_clock = {});
    GoldfishRtc(const GoldfishRtc&) = delete;
    GoldfishRtc& operator=(const GoldfishRtc&) = delete;

    uint64_t mmio_read(uint64_t offset, unsigned size) override;
    void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;

    // Fires the alarm if its time has come; the machine calls it periodically.
    void update();
    // Host nanoseconds until the armed alarm fires: 0 if due, UINT64_MAX if none is armed.
    uint64_t ns_until_alarm() const;

    static uint64_t host_realtime_ns();
    // Takes its time from `clock` from now on (record and replay: guest time from a logged
    // start); before the guest runs.
    void set_host_clock(HostClock clock) { m_host_clock = std::move(clock); }

    State save() const;
    // Drives the line to its level. An alarm that came due meanwhile fires at the next update().
    Result<void> restore(const State& s);

private:
    uint64_t now() const;
    void set_time_half(bool high, uint32_t value);
    void arm_alarm();
    void update_irq();

    IrqLine& m_irq;
    HostClock m_host_clock;
    uint64_t m_offset = 0;  // guest time - host time, modulo 2^64
    uint32_t m_time_high = 0;
    uint64_t m_alarm_next = 0;
    bool m_alarm_running = false;
    bool m_irq_pending = false;
    bool m_irq_enabled = false;
    bool m_irq_level = false;
};

}  // namespace trapeze::devices
