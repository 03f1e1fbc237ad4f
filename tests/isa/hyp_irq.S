// hyp_irq.S — interrupts with the hypervisor extension (priv spec ch. "Hypervisor Extension",
// H v1.0, § hvip/hip/hie, § hedeleg/hideleg, § vstimecmp; Sstc): VS-level interrupts injected
// through hvip and delegated by hideleg reach VS-mode as supervisor interrupts 1/5/9 (the
// translation of 2/6/10), gated by vsstatus.SIE in VS-mode but always enabled in VU-mode and
// never taken while V=0; without hideleg they go to HS-mode untranslated, where they are always
// enabled while V=1; priorities (HS-level before VS-level, SEI > SSI > STI > SGEI > VSEI >
// VSSI > VSTI); an M-level interrupt while V=1; and vstimecmp (henvcfg.STCE) with htimedelta.
//
//   cases  1-6   to VS-mode through hideleg     7-9   to HS-mode     10-13 priorities
//         14     M-level interrupt in VS-mode    15-19 vstimecmp (with the time CSR)
#include "test_macros.h"

// 1 = VS-level interrupts are taken in the order VSEI, VSSI, VSTI (§ hip/hie), at HS-level and
// (translated: SEI, SSI, STI) at VS-level.
#ifndef TRAPEZE_ISA_VS_IRQ_PRIORITY
#define TRAPEZE_ISA_VS_IRQ_PRIORITY 1
#endif

#define IRQ(cause) (CAUSE_INTERRUPT | (cause))
// hvip = bits, with the VS interrupts enabled in hie and delegated by hideleg as given.
#define INJECT(deleg, bits) \
    li t0, deleg;           \
    csrw CSR_HIDELEG, t0;   \
    li t0, MIP_VS_ALL;      \
    csrw CSR_HIE, t0;       \
    li t0, bits;            \
    csrw CSR_HVIP, t0
#define CLEAR_INJECTED     \
    csrw CSR_HVIP, zero;   \
    csrw CSR_HIE, zero;    \
    csrw CSR_HIDELEG, zero

TEST_BEGIN
    la t0, strap_vector
    csrw CSR_VSTVEC, t0
    li t0, HSTATUS_VSXL_64
    csrw CSR_HSTATUS, t0
    csrw CSR_HGATP, zero
    csrw CSR_VSATP, zero
    csrw CSR_VSSTATUS, zero
    csrw mie, zero
    csrw mideleg, zero

    // --- VS-level interrupts delegated to VS-mode: translated to 1/5/9 ----------------------------------
    CASE(1)
    INJECT(MIP_VS_ALL, MIP_VSSIP)
    RUN_IN_V(PRV_S, csrsi sstatus, MSTATUS_SIE; 1: nop)
    CHECK_MCAUSE(CAUSE_ECALL_VS)                // the VS handler's ecall
    CHECK_SCAUSE(IRQ(1))                        // vscause as VS-mode read it
    ld a0, strap_sepc
    la a1, 1b
    CHECK_REG(a0, a1)
    CHECK_CSR(CSR_VSCAUSE, IRQ(1))
    CASE(2)
    csrw CSR_VSSTATUS, zero
    INJECT(MIP_VS_ALL, MIP_VSTIP)
    RUN_IN_V(PRV_S, csrsi sstatus, MSTATUS_SIE; nop)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    CHECK_SCAUSE(IRQ(5))
    CASE(3)
    csrw CSR_VSSTATUS, zero
    INJECT(MIP_VS_ALL, MIP_VSEIP)
    RUN_IN_V(PRV_S, csrsi sstatus, MSTATUS_SIE; nop)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    CHECK_SCAUSE(IRQ(9))
    // vsstatus.SIE = 0 in VS-mode: not taken.
    CASE(4)
    csrw CSR_VSSTATUS, zero
    INJECT(MIP_VS_ALL, MIP_VSSIP)
    RUN_IN_V(PRV_S, nop; nop)
    CHECK_RAN_TO_END_V(PRV_S)
    // VU-mode: always enabled (vsstatus.SIE = 0), taken into VS-mode with SPP = 0.
    CASE(5)
    RUN_IN_V(PRV_U, nop; nop)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    CHECK_SCAUSE(IRQ(1))
    ld a0, strap_sstatus
    andi a0, a0, MSTATUS_SPP
    CHECK(a0, 0)
    // V=0: interrupts delegated to VS-mode are never taken, whatever sstatus.SIE says.
    CASE(6)
    csrs mstatus, MSTATUS_SIE
    RUN_IN(PRV_S, nop; nop)
    CHECK_RAN_TO_END(PRV_S)
    RUN_IN(PRV_U, nop; nop)
    CHECK_RAN_TO_END(PRV_U)
    csrc mstatus, MSTATUS_SIE
    CLEAR_INJECTED

    // --- not delegated by hideleg: to HS-mode, untranslated ----------------------------------------------
    // While V=1 an HS-level interrupt is enabled whatever sstatus.SIE says.
    CASE(7)
    INJECT(0, MIP_VSSIP)
    RUN_IN_V(PRV_S, 1: nop; nop)
    CHECK_MCAUSE(CAUSE_ECALL_S)                 // the HS handler's ecall
    CHECK_SCAUSE(IRQ(2))
    ld a0, strap_sepc
    la a1, 1b
    CHECK_REG(a0, a1)
    CHECK_CSR_FIELD(CSR_HSTATUS, HSTATUS_SPV, HSTATUS_SPV)
    // In HS-mode only with sstatus.SIE = 1...
    CASE(8)
    RUN_IN(PRV_S, nop; nop)
    CHECK_RAN_TO_END(PRV_S)
    CASE(9)
    RUN_IN(PRV_S, csrsi sstatus, MSTATUS_SIE; nop; nop)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_SCAUSE(IRQ(2))
    CHECK_CSR_FIELD(CSR_HSTATUS, HSTATUS_SPV, 0)
    csrc mstatus, MSTATUS_SIE
    CLEAR_INJECTED

    // --- priorities ----------------------------------------------------------------------------------
#if TRAPEZE_ISA_VS_IRQ_PRIORITY
    // To HS-mode: VSEI before VSSI before VSTI.
    CASE(10)
    INJECT(0, MIP_VS_ALL)
    RUN_IN_V(PRV_S, nop; nop)
    CHECK_SCAUSE(IRQ(10))
    li t0, MIP_VSEIP
    csrc CSR_HVIP, t0
    RUN_IN_V(PRV_S, nop; nop)
    CHECK_SCAUSE(IRQ(2))
    CLEAR_INJECTED
#endif
    // ...and the HS-level SSI before VSEI, both to HS-mode.
    CASE(11)
    li t0, MIP_SSIP
    csrw mideleg, t0
    csrw mie, t0
    csrs mip, t0
    INJECT(0, MIP_VSEIP)
    RUN_IN_V(PRV_S, nop; nop)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_SCAUSE(IRQ(1))
    // An HS-level interrupt is taken before one delegated to VS-mode.
    CASE(12)
    INJECT(MIP_VS_ALL, MIP_VS_ALL)
    RUN_IN_V(PRV_S, csrsi sstatus, MSTATUS_SIE; nop; nop)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_SCAUSE(IRQ(1))
    // With the HS-level one gone, VS-mode gets its own: SEI (9) first.
    CASE(13)
    li t0, MIP_SSIP
    csrc mip, t0
    csrc mie, t0                                // not csrw: mie's VS bits are hie's, still set
    csrw mideleg, zero
    csrw CSR_VSSTATUS, zero
    RUN_IN_V(PRV_S, csrsi sstatus, MSTATUS_SIE; nop; nop)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
#if TRAPEZE_ISA_VS_IRQ_PRIORITY
    CHECK_SCAUSE(IRQ(9))
#endif
    CLEAR_INJECTED
    csrw CSR_VSSTATUS, zero

    // --- an M-level interrupt while V=1: taken to M-mode whatever mstatus.MIE says ------------------
    CASE(14)
    li t0, MIP_MSIP
    csrw mie, t0
    li t1, CLINT_MSIP
    li t0, 1
    sw t0, 0(t1)
    RUN_IN_V(PRV_S, 1: nop; nop)
    CHECK_MCAUSE(IRQ(3))
    CHECK_TRAP_MPV(1)
    li t1, CLINT_MSIP
    sw zero, 0(t1)
    csrw mie, zero

#if TRAPEZE_ISA_TIME_CSR
    // --- vstimecmp (Sstc): VSTIP follows time + htimedelta >= vstimecmp --------------------------------
    li t0, MENVCFG_STCE
    csrs CSR_MENVCFG, t0
    csrr t0, CSR_MENVCFG
    bgez t0, 9f                                 // no Sstc: nothing to check
    li t0, HENVCFG_STCE
    csrs CSR_HENVCFG, t0
    csrw CSR_HTIMEDELTA, zero
    li t0, 2                                    // mcounteren.TM, hcounteren.TM: VS may use it
    csrw mcounteren, t0
    csrw CSR_HCOUNTEREN, t0
    CASE(15)
    csrw CSR_VSTIMECMP, zero                    // already reached
    li a7, 1000000
1:  csrr a0, CSR_HIP
    andi a0, a0, MIP_VSTIP
    bnez a0, 2f
    addi a7, a7, -1
    bnez a7, 1b
    j fail
2:  CHECK_CSR(CSR_HVIP, 0)                      // not through hvip
    CASE(16)
    li t0, -1
    csrw CSR_VSTIMECMP, t0                      // never reached
    CHECK_CSR_FIELD(CSR_HIP, MIP_VSTIP, 0)
    // htimedelta moves the guest's time: a compare value just ahead of time is reached at once.
    CASE(17)
    li a1, 1 << 40
    csrw CSR_HTIMEDELTA, a1
    csrr a0, time
    add a0, a0, a1
    csrw CSR_VSTIMECMP, a0
    li a7, 1000000
3:  csrr a0, CSR_HIP
    andi a0, a0, MIP_VSTIP
    bnez a0, 4f
    addi a7, a7, -1
    bnez a7, 3b
    j fail
4:  li t0, -1
    csrw CSR_VSTIMECMP, t0
    csrw CSR_HTIMEDELTA, zero
    // VS-mode's stimecmp is vstimecmp, and its timer interrupt arrives as 5.
    CASE(18)
    li t0, -1
    csrw CSR_VSTIMECMP, t0
    li t0, MIP_VSTIP
    csrw CSR_HIDELEG, t0
    csrw CSR_HIE, t0
    RUN_IN_V(PRV_S, csrsi sstatus, MSTATUS_SIE; csrw CSR_STIMECMP, zero; nop; nop; nop)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    CHECK_SCAUSE(IRQ(5))
    CHECK_CSR(CSR_VSTIMECMP, 0)
    CLEAR_INJECTED
    csrw CSR_VSSTATUS, zero
    // henvcfg.STCE = 0: VS-mode's stimecmp raises virtual instruction.
    CASE(19)
    csrw CSR_HENVCFG, zero
    RUN_IN_V(PRV_S, 3: csrr a0, CSR_STIMECMP)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(3b)
9:  csrw mcounteren, zero
    csrw CSR_HCOUNTEREN, zero
    csrw CSR_HENVCFG, zero
    csrw CSR_MENVCFG, zero
#endif
TEST_END
