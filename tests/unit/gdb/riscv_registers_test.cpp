// The RISC-V target's registers as gdb writes them (gdb/riscv_registers.hpp).
#include <gtest/gtest.h>

#include "base/guest_clock.hpp"
#include "bus/mmio_bus.hpp"
#include "gdb/riscv_registers.hpp"
#include "memory/guest_memory.hpp"

namespace trapeze::gdb {
namespace {

constexpr unsigned kPc = 32;  // after x0..x31 (the `g` packet's order)

// An LR's classification holds for the SC it found after it (rv64/isa/lr_sequence.hpp): after
// the debugger moves pc, the next SC may be another one, so no reservation survives.
TEST(RiscvRegisters, WritingPcDropsTheReservation) {
    GuestMemory mem = GuestMemory::create(Gpa(0x80000000), 1 << 16).value();
    MmioBus bus;
    GuestClock clock;
    rv64::Hart hart(rv64::HartConfig{}, mem, bus, clock);
    const RiscvRegisters regs(hart);
    ASSERT_EQ(regs.all()[kPc].name, "pc");
    hart.s.reservation_valid = true;
    ASSERT_TRUE(regs.write(hart, 5, 7));  // t0: any other register keeps it
    EXPECT_TRUE(hart.s.reservation_valid);
    ASSERT_TRUE(regs.write(hart, kPc, 0x80000100));
    EXPECT_EQ(hart.s.pc, 0x80000100u);
    EXPECT_FALSE(hart.s.reservation_valid);
}

}  // namespace
}  // namespace trapeze::gdb
