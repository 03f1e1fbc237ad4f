// Clint: the SiFive Core-Local Interruptor as QEMU's virt board maps it (SiFive
// FU540-C000 manual, ch. 9 "Core Local Interruptor"; RISC-V ACLINT spec §2-3 for
// the MTIMER/MSWI layout it standardised):
//
//   0x0000 + 4*h   msip[h]      bit 0 drives hart h's MSIP (mip.MSIP)
//   0x4000 + 8*h   mtimecmp[h]  MTIP[h] is high while mtime >= mtimecmp[h]
//   0xbff8         mtime        GuestClock ticks
//
// msip takes 32-bit accesses; mtimecmp and mtime take 32-bit accesses to either half
// or naturally aligned 64-bit accesses. Anything else reads 0 and is ignored.
//
// Writes to mtime are ignored: the harts' time CSR reads the same GuestClock, and
// keeping the two equal matters more than letting the guest move time (neither
// OpenSBI nor Linux writes mtime).
//
// mtimecmp resets to all-ones (MTIP low): the spec leaves it undefined, and OpenSBI
// writes it before enabling the timer anyway.
//
// Snapshots: State holds each hart's mtimecmp and msip; MTIP is not saved but follows from
// the clock, which is the machine's (restore it before the Clint).
//
// Thread: all calls are serialised by the caller (the machine's device lock); the output
// lines' sinks must not call back into the device.
#pragma once

#include <cassert>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "base/guest_clock.hpp"
#include "base/result.hpp"
#include "bus/irq_line.hpp"
#include "bus/mmio_device.hpp"
#include "snapshot/state_stream.hpp"

namespace trapeze::devices {

class Clint final : public MmioDevice {
public:
    static constexpr uint64_t kWindowSize = 0x10000;
    static constexpr unsigned kMaxHarts = 4095;  // mtimecmp slots between 0x4000 and mtime

    struct State {
        struct Hart {
            uint64_t mtimecmp = UINT64_MAX;
            bool msip = false;
        };
        std::vector<Hart> harts;

        void write(snapshot::StateWriter& w) const;
        static State read(snapshot::StateReader& r);
    };

    // The clock must outlive the device.
    Clint(const GuestClock& clock, unsigned num_harts);
    Clint(const Clint&) = delete;
    Clint& operator=(const Clint&) = delete;

    uint64_t mmio_read(uint64_t offset, unsigned size) override;
    void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;

    // Outputs, one pair per hart: wire them to the hart's mip.MSIP and mip.MTIP pins.
    IrqLine& msip(unsigned hart) {
        assert(hart < m_harts.size());
        return m_harts[hart].msip_line;
    }
    IrqLine& mtip(unsigned hart) {
        assert(hart < m_harts.size());
        return m_harts[hart].mtip_line;
    }

    // Recomputes every MTIP level from the clock; the machine calls it periodically and
    // when a sleeping hart's deadline passes.
    void update();
    // The earliest mtimecmp still in the future (GuestClock ticks), UINT64_MAX if none.
    uint64_t next_deadline() const;
    // Hart `hart`'s mtimecmp if still in the future, else UINT64_MAX.
    uint64_t deadline(unsigned hart) const;
    // Told of every mtimecmp write, with the hart whose timer it was (a hart sleeping in WFI
    // on its own thread must look at its deadline again). Must not call back into the device.
    void set_timer_observer(std::function<void(unsigned hart)> f) { m_timer_observer = std::move(f); }

    unsigned num_harts() const { return static_cast<unsigned>(m_harts.size()); }

    State save() const;
    // Refuses a State for another hart count. Drives every msip and mtip line (MTIP from the
    // clock as it reads now); the timer observer is not called.
    Result<void> restore(const State& s);

private:
    struct HartTimer {
        uint64_t mtimecmp = UINT64_MAX;
        bool msip = false;
        bool mtip = false;
        IrqLine msip_line;
        IrqLine mtip_line;
    };

    uint64_t read_msip(uint64_t offset, unsigned size) const;
    void write_msip(uint64_t offset, uint64_t value, unsigned size);
    uint64_t read_mtimecmp(uint64_t offset, unsigned size) const;
    void write_mtimecmp(uint64_t offset, uint64_t value, unsigned size);
    uint64_t read_mtime(uint64_t offset, unsigned size) const;
    void update_mtip(HartTimer& h, uint64_t now);

    const GuestClock& m_clock;
    std::vector<HartTimer> m_harts;
    std::function<void(unsigned)> m_timer_observer;
};

}  // namespace trapeze::devices
