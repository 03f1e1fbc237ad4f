// SifiveTest: the "sifive,test0/test1" finisher QEMU's virt board has at 0x100000.
// A 32-bit write to offset 0 whose low 16 bits are
//   0x5555  FINISHER_PASS   -> Event::Poweroff
//   0x7777  FINISHER_RESET  -> Event::Reset
//   0x3333  FINISHER_FAIL   -> Event::Fail with exit code = value >> 16
// ends or restarts the machine (QEMU hw/misc/sifive_test.c documents the same codes).
// Linux reaches it through the syscon-poweroff / syscon-reboot nodes, OpenSBI through its
// fdt_reset driver. Any other access reads 0 and is ignored.
//
// Thread: called on the hart thread that performs the store; the callback runs there and
// must only record the request (the machine stops its harts afterwards).
#pragma once

#include <cstdint>
#include <functional>

#include "bus/mmio_device.hpp"

namespace trapeze::devices {

class SifiveTest final : public MmioDevice {
public:
    enum class Event : uint8_t { Poweroff, Reset, Fail };
    using Callback = std::function<void(Event, uint16_t code)>;

    static constexpr uint64_t kWindowSize = 0x1000;
    static constexpr uint32_t FINISHER_FAIL = 0x3333;
    static constexpr uint32_t FINISHER_PASS = 0x5555;
    static constexpr uint32_t FINISHER_RESET = 0x7777;

    explicit SifiveTest(Callback on_event);

    uint64_t mmio_read(uint64_t offset, unsigned size) override;
    void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;

private:
    Callback m_on_event;
};

}  // namespace trapeze::devices
