// The RISC-V target's registers as gdb writes them (gdb/riscv_registers.hpp).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

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

// gdb's `p $hgatp`, `info registers vsatp` on a hart with the hypervisor extension; a hart
// without it describes none of those CSRs.
TEST(RiscvRegisters, DescribesTheHypervisorCsrsOfAHartWithH) {
    GuestMemory mem = GuestMemory::create(Gpa(0x80000000), 1 << 16).value();
    MmioBus bus;
    GuestClock clock;
    const char* names[] = {"hstatus", "hedeleg", "hideleg", "hie",   "hip",    "hvip",   "hgatp",    "htval",
                           "htinst",  "hgeie",   "hgeip",   "henvcfg", "htimedelta", "vsstatus", "vsie", "vstvec",
                           "vsscratch", "vsepc", "vscause", "vstval", "vsip",  "vsatp", "mtinst", "mtval2"};
    for (const bool h : {true, false}) {
        rv64::Hart hart(rv64::HartConfig{.hypervisor = h}, mem, bus, clock);
        const RiscvRegisters regs(hart);
        for (const char* name : names) {
            const std::string reg = fmt::format("<reg name=\"{}\" bitsize=\"64\"", name);
            EXPECT_EQ(regs.target_xml().find(reg) != std::string::npos, h) << name << (h ? " missing" : " without H");
        }
    }
    rv64::Hart hart(rv64::HartConfig{.hypervisor = true}, mem, bus, clock);
    const RiscvRegisters regs(hart);
    const auto it = std::find_if(regs.all().begin(), regs.all().end(), [](const auto& r) { return r.name == "vsscratch"; });
    ASSERT_NE(it, regs.all().end());
    const auto vsscratch = static_cast<unsigned>(it - regs.all().begin());
    ASSERT_TRUE(regs.write(hart, vsscratch, 0x5a5a));  // gdb's `set $vsscratch = 0x5a5a`
    EXPECT_EQ(regs.read(hart, vsscratch), 0x5a5au);
}

}  // namespace
}  // namespace trapeze::gdb
