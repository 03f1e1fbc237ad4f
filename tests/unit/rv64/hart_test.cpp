// Traps, delegation, interrupts and CSR rules (priv spec ch. 3 and 4).
#include "hart_fixture.hpp"

namespace trapeze::rv64::test {
namespace {

using namespace csr;

TEST_F(HartTest, EcallFromMTrapsToMtvecWithCause11) {
    hart.s.mtvec = kBase + 0x100;
    code(kBase, {kEcall});
    run(1);
    EXPECT_EQ(hart.s.pc, kBase + 0x100);
    EXPECT_EQ(hart.s.mcause, EXC_ECALL_M);
    EXPECT_EQ(hart.s.mepc, kBase);
}

TEST_F(HartTest, DelegatedUserEcallGoesToSupervisorAndSretReturns) {
    hart.s.stvec = kBase + 0x200;
    hart.s.medeleg = 1ull << EXC_ECALL_U;
    // PMP must grant U/S access once any entry is implemented: allow everything (NAPOT, RWX).
    ASSERT_TRUE(hart.csr_write(PMPADDR0, ~0ull));
    ASSERT_TRUE(hart.csr_write(PMPCFG0, 0x1f));
    hart.s.priv = Priv::U;
    hart.update_mmu_view();
    code(kBase, {kEcall});
    code(kBase + 0x200, {kSret});
    hart.s.pc = kBase;
    run(1);
    EXPECT_EQ(hart.s.priv, Priv::S);
    EXPECT_EQ(hart.s.scause, EXC_ECALL_U);
    EXPECT_EQ(hart.s.mstatus & MSTATUS_SPP, 0u);
    hart.s.sepc += 4;
    run(1);
    EXPECT_EQ(hart.s.priv, Priv::U);
    EXPECT_EQ(hart.s.pc, kBase + 4);
}

TEST_F(HartTest, MretRestoresPrivilegeAndInterruptEnable) {
    hart.s.mepc = kBase + 0x40;
    hart.s.mstatus |= MSTATUS_MPIE | (1ull << 11);  // MPP = S
    code(kBase, {kMret});
    run(1);
    EXPECT_EQ(hart.s.priv, Priv::S);
    EXPECT_NE(hart.s.mstatus & MSTATUS_MIE, 0u);
    EXPECT_EQ(hart.s.mstatus & MSTATUS_MPP, 0u);  // MPP becomes U
    EXPECT_EQ(hart.s.pc, kBase + 0x40);
}

TEST_F(HartTest, IllegalCsrAccessReportsTheInstructionInMtval) {
    hart.s.mtvec = kBase + 0x100;
    const uint32_t insn = csrrs(5, 0x7c0, 0);  // custom CSR that does not exist
    code(kBase, {insn});
    run(1);
    EXPECT_EQ(hart.s.mcause, EXC_ILLEGAL_INST);
    EXPECT_EQ(hart.s.mtval, insn);
}

TEST_F(HartTest, WritingAReadOnlyCsrIsIllegalButReadingIsNot) {
    hart.s.mtvec = kBase + 0x100;
    code(kBase, {csrrs(5, MHARTID, 0), csrrw(0, MHARTID, 5)});
    run(1);
    EXPECT_EQ(hart.s.pc, kBase + 4);
    run(1);
    EXPECT_EQ(hart.s.mcause, EXC_ILLEGAL_INST);
}

TEST_F(HartTest, SupervisorCannotReadMachineCsrs) {
    uint64_t v = 0;
    hart.s.priv = Priv::S;
    EXPECT_FALSE(hart.csr_read(MSTATUS, v));
    EXPECT_TRUE(hart.csr_read(SSTATUS, v));
}

TEST_F(HartTest, FloatingPointCsrsAreIllegalWhileFsIsOff) {
    uint64_t v = 0;
    EXPECT_FALSE(hart.csr_read(FCSR, v));
    hart.s.mstatus |= FS_INITIAL;
    EXPECT_TRUE(hart.csr_write(FRM, 3));
    EXPECT_TRUE(hart.csr_read(FCSR, v));
    EXPECT_EQ(v, 3u << 5);
    EXPECT_EQ(hart.s.mstatus & MSTATUS_FS, FS_DIRTY);
    EXPECT_NE(hart.s.mstatus & MSTATUS_SD, 0u);
}

TEST_F(HartTest, MachineTimerInterruptIsTakenWhenEnabled) {
    hart.s.mtvec = kBase + 0x100;
    park_vectors(kBase + 0x100);
    code(kBase, {kNop, kNop, jal_self()});
    hart.s.mie = MIP_MTIP;
    hart.set_irq_pin(MIP_MTIP, true);
    run(1);
    EXPECT_EQ(hart.s.pc, kBase + 8);  // MIE=0 in M-mode: not taken
    hart.s.mstatus |= MSTATUS_MIE;
    hart.s.pc = kBase;
    run(1);
    EXPECT_EQ(hart.s.mcause, CAUSE_INTERRUPT | IRQ_M_TIMER);
}

TEST_F(HartTest, ExternalInterruptHasPriorityOverTimer) {
    hart.s.mtvec = kBase + 0x100;
    park_vectors(kBase + 0x100);
    code(kBase, {kNop});
    hart.s.mie = MIP_MTIP | MIP_MEIP;
    hart.s.mstatus |= MSTATUS_MIE;
    hart.set_irq_pin(MIP_MTIP, true);
    hart.set_irq_pin(MIP_MEIP, true);
    run(1);
    EXPECT_EQ(hart.s.mcause, CAUSE_INTERRUPT | IRQ_M_EXT);
}

TEST_F(HartTest, VectoredModeJumpsToCauseTimesFour) {
    hart.s.mtvec = (kBase + 0x100) | 1;
    park_vectors(kBase + 0x100);
    hart.s.mie = MIP_MSIP;
    hart.s.mstatus |= MSTATUS_MIE;
    code(kBase, {kNop});
    hart.set_irq_pin(MIP_MSIP, true);
    run(1);
    EXPECT_EQ(hart.s.pc, kBase + 0x100 + 4 * IRQ_M_SOFT);
}

TEST_F(HartTest, SupervisorInterruptsNeverPreemptMachineMode) {
    hart.s.mideleg = MIP_SSIP;
    hart.s.mie = MIP_SSIP;
    hart.s.mstatus |= MSTATUS_SIE | MSTATUS_MIE;
    ASSERT_TRUE(hart.csr_write(MIP, MIP_SSIP));
    EXPECT_FALSE(hart.check_interrupts());
}

TEST_F(HartTest, WfiWaitsUntilAnInterruptIsPendingEvenWhenDisabled) {
    code(kBase, {kWfi, kNop, jal_self()});
    EXPECT_EQ(interp.run(hart, 100), interp::Interpreter::Exit::Wfi);
    EXPECT_TRUE(hart.s.wfi);
    hart.s.mie = MIP_MTIP;  // enabled locally, MIE globally off: wakes without trapping
    hart.set_irq_pin(MIP_MTIP, true);
    interp.run(hart, 1);
    EXPECT_FALSE(hart.s.wfi);
    EXPECT_GE(hart.s.pc, kBase + 4);
}

TEST_F(HartTest, WfiInUserModeIsIllegal) {
    ASSERT_TRUE(hart.csr_write(PMPADDR0, ~0ull));
    ASSERT_TRUE(hart.csr_write(PMPCFG0, 0x1f));
    hart.s.mtvec = kBase + 0x100;
    hart.s.priv = Priv::U;
    hart.update_mmu_view();
    code(kBase, {kWfi});
    run(1);
    EXPECT_EQ(hart.s.mcause, EXC_ILLEGAL_INST);
}

TEST_F(HartTest, SettingSsipInMipDoesNotLatchTheExternalInterruptLine) {
    // What OpenSBI does to forward an IPI while the PLIC happens to assert SEIP.
    hart.set_irq_pin(MIP_SEIP, true);
    code(kBase, {csrrs(0, MIP, 5), jal_self()});
    hart.s.x[5] = MIP_SSIP;
    run(1);
    EXPECT_NE(hart.mip() & MIP_SSIP, 0u);
    hart.set_irq_pin(MIP_SEIP, false);
    EXPECT_EQ(hart.mip() & MIP_SEIP, 0u);  // the line is low again: SEIP must follow it
}

TEST_F(HartTest, SstcRaisesSupervisorTimerFromStimecmp) {
    ASSERT_TRUE(hart.csr_write(MENVCFG, MENVCFG_STCE));
    ASSERT_TRUE(hart.csr_write(STIMECMP, 0));  // already in the past
    EXPECT_NE(hart.mip() & MIP_STIP, 0u);
    ASSERT_TRUE(hart.csr_write(STIMECMP, ~0ull));
    EXPECT_EQ(hart.mip() & MIP_STIP, 0u);
}

TEST_F(HartTest, SatpIgnoresUnsupportedModes) {
    ASSERT_TRUE(hart.csr_write(SATP, 8ull << 60 | 0x80000));
    ASSERT_TRUE(hart.csr_write(SATP, 11ull << 60));  // Sv64 does not exist
    EXPECT_EQ(hart.s.satp >> 60, 8u);
}

TEST_F(HartTest, MisaReportsRv64Imafdcsu) {
    uint64_t misa = 0;
    ASSERT_TRUE(hart.csr_read(MISA, misa));
    EXPECT_EQ(misa >> 62, 2u);
    for (char c : std::string("IMAFDCSU")) EXPECT_NE(misa & (1ull << (c - 'A')), 0u) << c;
}

}  // namespace
}  // namespace trapeze::rv64::test
