// interrupts.S — interrupts (priv spec §3.1.9, §3.3.3, ch. 4; ACLINT/CLINT): the machine
// timer (mtimecmp vs mtime) and software interrupt (msip), pending without being taken,
// taken as soon as enabled, wfi waking, priority between pending interrupts, mip bits that
// software can and cannot write, supervisor interrupts taken in M or delegated to S through
// mideleg (and the enables that apply in each mode), vectored mtvec, and Sstc's stimecmp
// when the hart has it (checked at run time through menvcfg.STCE).
#include "test_macros.h"

// 1: fail unless the hart implements Sstc. 0: exercise Sstc only if menvcfg.STCE sticks.
#ifndef TRAPEZE_ISA_REQUIRE_SSTC
#define TRAPEZE_ISA_REQUIRE_SSTC 0
#endif

#define IRQ(cause) (CAUSE_INTERRUPT | (cause))
#define TIMER_DELAY 1000                        // mtime ticks: 100 us at 10 MHz
#define SPIN_LIMIT 20000000                     // polling iterations before giving up

// mtimecmp = mtime + delay (clobbers t5, t6).
#define ARM_MTIMER(delay)    \
    li t5, CLINT_MTIME;      \
    ld t6, 0(t5);            \
    addi t6, t6, delay;      \
    li t5, CLINT_MTIMECMP;   \
    sd t6, 0(t5)
#define DISARM_MTIMER        \
    li t5, CLINT_MTIMECMP;   \
    li t6, -1;               \
    sd t6, 0(t5)

// Spins until (mip & bit) != 0, failing the case after SPIN_LIMIT polls (clobbers a6, a7).
#define WAIT_PENDING(bit)    \
    li a7, SPIN_LIMIT;       \
    7771: csrr a6, mip;      \
    andi a6, a6, bit;        \
    bnez a6, 7772f;          \
    addi a7, a7, -1;         \
    bnez a7, 7771b;          \
    j fail;                  \
    7772:

#define ENABLE_MIE  csrsi mstatus, MSTATUS_MIE
#define DISABLE_MIE csrci mstatus, MSTATUS_MIE

TEST_BEGIN
    SET_TRAP_HOOK(irq_hook)
    DISARM_MTIMER
    li t0, CLINT_MSIP
    sw zero, 0(t0)

    // --- machine timer ----------------------------------------------------------------------------
    // With MIE = 0 the interrupt becomes pending (mip.MTIP) but is not taken.
    CASE(1)
    li t0, MIP_MTIP
    csrw mie, t0
    ARM_MTIMER(TIMER_DELAY)
    WAIT_PENDING(MIP_MTIP)
    CHECK_MEM(irq_count, 0)
    // Moving mtimecmp into the future clears it.
    CASE(2)
    DISARM_MTIMER
    csrr a0, mip
    andi a0, a0, MIP_MTIP
    CHECK(a0, 0)
    // mip.MTIP is read-only: software cannot set it.
    CASE(3)
    li t0, MIP_MTIP
    csrs mip, t0
    csrr a0, mip
    andi a0, a0, MIP_MTIP
    CHECK(a0, 0)
    // Pending, then enabled globally: taken before the next instruction.
    CASE(4)
    ARM_MTIMER(TIMER_DELAY)
    WAIT_PENDING(MIP_MTIP)
    ENABLE_MIE
1:  DISABLE_MIE
    CHECK_MEM(irq_count, 1)
    CHECK_MEM(irq_last, IRQ(7))
    CHECK_MCAUSE(IRQ(7))
    ld a0, irq_mepc
    la a1, 1b
    CHECK_REG(a0, a1)
    CHECK_MTVAL(0)
    // wfi with the interrupt enabled: it wakes the hart and is taken. The hook re-arms the
    // timer meanwhile, so that an interrupt taken just before the wfi cannot leave it asleep.
    CASE(5)
    li t0, 1
    sd t0, irq_rearm, t1
    ARM_MTIMER(TIMER_DELAY)
    ENABLE_MIE
    li a7, 100000                               // wfi may return spuriously: retry a while
2:  wfi
    ld a0, irq_count
    li a1, 2
    bgeu a0, a1, 3f
    addi a7, a7, -1
    bnez a7, 2b
    j fail
3:  DISABLE_MIE
    sd zero, irq_rearm, t1
    DISARM_MTIMER
    CHECK_MEM(irq_last, IRQ(7))
    sd zero, irq_count, t0
    // wfi with the interrupt pending-and-enabled in mie but MIE = 0 still returns.
    CASE(6)
    ARM_MTIMER(TIMER_DELAY)
    wfi                                         // (returns no later than the timer fires)
    WAIT_PENDING(MIP_MTIP)
    DISARM_MTIMER
    CHECK_MEM(irq_count, 0)

    // --- machine software interrupt (CLINT msip) ----------------------------------------------------
    CASE(7)
    li t0, CLINT_MSIP
    li t1, 1
    sw t1, 0(t0)
    WAIT_PENDING(MIP_MSIP)
    li t0, MIP_MSIP
    csrw mie, t0
    ENABLE_MIE
4:  DISABLE_MIE
    CHECK_MEM(irq_count, 1)
    CHECK_MEM(irq_last, IRQ(3))
    ld a0, irq_mepc
    la a1, 4b
    CHECK_REG(a0, a1)
    CASE(8)
    csrr a0, mip                                // the hook cleared msip
    andi a0, a0, MIP_MSIP
    CHECK(a0, 0)
    // mip.MSIP is read-only too (it mirrors msip).
    CASE(9)
    li t0, MIP_MSIP
    csrs mip, t0
    csrr a0, mip
    andi a0, a0, MIP_MSIP
    CHECK(a0, 0)

    // --- priority: MSI before MTI (priv spec §3.1.9) -------------------------------------------------
    CASE(10)
    sd zero, irq_count, t0
    li t0, CLINT_MSIP
    li t1, 1
    sw t1, 0(t0)
    ARM_MTIMER(0)
    WAIT_PENDING(MIP_MTIP)
    WAIT_PENDING(MIP_MSIP)
    li t0, MIP_MSIP | MIP_MTIP
    csrw mie, t0
    ENABLE_MIE
    DISABLE_MIE
    CHECK_MEM(irq_count, 2)
    la a0, irq_log
    ld a1, 0(a0)
    CHECK(a1, IRQ(3))
    ld a1, 8(a0)
    CHECK(a1, IRQ(7))

    // --- supervisor interrupts not delegated: taken in M ---------------------------------------------------
    // SSIP set by M software, enabled in mie, MIE = 1.
    CASE(11)
    sd zero, irq_count, t0
    li t0, MIP_SSIP
    csrw mie, t0
    csrs mip, t0
    ENABLE_MIE
    DISABLE_MIE
    CHECK_MEM(irq_count, 1)
    CHECK_MEM(irq_last, IRQ(1))
    // An M-level interrupt is always enabled in S-mode, whatever MIE says.
    CASE(12)
    li t0, MIP_STIP
    csrw mie, t0
    csrs mip, t0                                // STIP is writable by M-mode software
    RUN_IN(PRV_S, 5: nop)
    CHECK_RAN_TO_END(PRV_S)                     // the hook cleared STIP and resumed in S
    CHECK_MEM(irq_count, 2)
    CHECK_MEM(irq_last, IRQ(5))
    ld a0, irq_mepc
    la a1, 5b
    CHECK_REG(a0, a1)
    ld a0, irq_mstatus
    srli a0, a0, 11
    andi a0, a0, 3
    CHECK(a0, PRV_S)                            // MPP of the interrupt

    // --- supervisor interrupts delegated to S ------------------------------------------------------------
    li t0, MIP_STIP | MIP_SSIP
    csrw mideleg, t0
    csrw mie, t0
    // In S with SIE = 1: taken by the S handler (scause with the interrupt bit, sepc).
    CASE(13)
    li t0, MIP_STIP
    csrs mip, t0
    RUN_IN(PRV_S, csrsi sstatus, MSTATUS_SIE; 6: nop; nop)
    CHECK_MCAUSE(CAUSE_ECALL_S)                 // the S handler's ecall
    CHECK_SCAUSE(IRQ(5))
    ld a0, strap_sepc
    la a1, 6b
    CHECK_REG(a0, a1)
    CHECK_MEM(irq_count, 2)                     // M took nothing
    // In S with SIE = 0: not taken.
    CASE(14)
    csrci sstatus, MSTATUS_SIE
    RUN_IN(PRV_S, nop; nop)
    CHECK_RAN_TO_END(PRV_S)
    CHECK_SCAUSE(-1)
    // In U: taken whatever SIE says, with SPP = U.
    CASE(15)
    RUN_IN(PRV_U, nop)
    CHECK_SCAUSE(IRQ(5))
    ld a0, strap_sstatus
    srli a0, a0, 8
    andi a0, a0, 1
    CHECK(a0, PRV_U)
    // In M: a delegated interrupt is never taken, even with MIE = 1.
    CASE(16)
    ENABLE_MIE
    nop
    DISABLE_MIE
    CHECK_MEM(irq_count, 2)
    li t0, MIP_STIP
    csrc mip, t0
    // A supervisor software interrupt raised by S itself through sip.
    CASE(17)
    RUN_IN(PRV_S, csrsi sstatus, MSTATUS_SIE; csrsi sip, MIP_SSIP; nop; nop)
    CHECK_SCAUSE(IRQ(1))
    csrci sip, MIP_SSIP
    csrci sstatus, MSTATUS_SIE
    csrw mideleg, zero
    csrw mie, zero

    // --- vectored mtvec: interrupt n enters at BASE + 4n ----------------------------------------------
    CASE(18)
    sd zero, irq_count, t0
    la t0, vector_table
    ori t0, t0, 1
    csrw mtvec, t0
    li t0, MIP_MTIP | MIP_MSIP
    csrw mie, t0
    ARM_MTIMER(0)
    WAIT_PENDING(MIP_MTIP)
    ENABLE_MIE                                  // through slot 7
    DISABLE_MIE
    li t0, CLINT_MSIP
    li t1, 1
    sw t1, 0(t0)
    WAIT_PENDING(MIP_MSIP)
    ENABLE_MIE                                  // through slot 3
    DISABLE_MIE
    CHECK_MEM(irq_count, 2)
    CASE(19)
    EXPECT_TRAP(CAUSE_ECALL_M, ecall)           // exceptions use slot 0 (BASE)
    la t0, trap_vector
    csrw mtvec, t0
    csrw mie, zero

    // --- Sstc: stimecmp drives mip.STIP when menvcfg.STCE = 1 -------------------------------------------
    CASE(20)
    li t0, MENVCFG_STCE
    csrs CSR_MENVCFG, t0
    csrr a0, CSR_MENVCFG
    and a0, a0, t0
    beqz a0, no_sstc
    // STCE sticks: stimecmp must exist.
    ARM_TRAP(1f)
    csrr a0, CSR_STIMECMP
1:  DISARM_TRAP
    ld a0, trap_mcause
    li a1, -1
    beq a0, a1, 2f
#if TRAPEZE_ISA_STCE_WITHOUT_STIMECMP
    j no_sstc
#else
    j fail
#endif
2:  li t0, -1
    csrw CSR_STIMECMP, t0
    csrr a0, CSR_STIMECMP
    CHECK(a0, -1)
    // With stimecmp in the future, STIP is clear and software cannot set it.
    CASE(21)
    li t0, MIP_STIP
    csrs mip, t0
    csrr a0, mip
    andi a0, a0, MIP_STIP
    CHECK(a0, 0)
    // stimecmp <= time: STIP pends, delegated and taken in S.
    CASE(22)
    li t0, CLINT_MTIME
    ld t1, 0(t0)
    addi t1, t1, TIMER_DELAY
    csrw CSR_STIMECMP, t1
    WAIT_PENDING(MIP_STIP)
    li t0, MIP_STIP
    csrw mideleg, t0
    csrw mie, t0
    RUN_IN(PRV_S, csrsi sstatus, MSTATUS_SIE; nop; nop)
    CHECK_SCAUSE(IRQ(5))
    csrci sstatus, MSTATUS_SIE
    CASE(23)
    li t0, -1                                   // the future again: STIP drops
    csrw CSR_STIMECMP, t0
    csrr a0, mip
    andi a0, a0, MIP_STIP
    CHECK(a0, 0)
    // S-mode can program stimecmp itself while STCE = 1 and mcounteren.TM = 1...
    csrwi mcounteren, 2
    TEST_NO_TRAP_IN(24, PRV_S, csrr a0, CSR_STIMECMP; csrw CSR_STIMECMP, a0)
    // ...not when mcounteren.TM = 0 (Sstc spec)...
    csrwi mcounteren, 0
    TEST_TRAP_IN(25, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, csrr a0, CSR_STIMECMP)
    // ...nor when STCE = 0.
    csrwi mcounteren, 2
    li t0, MENVCFG_STCE
    csrc CSR_MENVCFG, t0
    TEST_TRAP_IN(26, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, csrr a0, CSR_STIMECMP)
    csrwi mcounteren, 0
    csrw mideleg, zero
    csrw mie, zero
    j sstc_done
no_sstc:
#if TRAPEZE_ISA_REQUIRE_SSTC
    j fail
#endif
sstc_done:
TEST_END

// Trap hook: handles interrupts (logs them and silences their source), leaves exceptions to
// the default handling. See SET_TRAP_HOOK in test_macros.h.
irq_hook:
    bgez a0, 9f                                 // not an interrupt
    la t0, irq_count
    ld t1, 0(t0)
    andi t2, t1, 7
    slli t2, t2, 3
    la t3, irq_log
    add t3, t3, t2
    sd a0, 0(t3)                                // irq_log[count % 8] = mcause
    addi t1, t1, 1
    sd t1, 0(t0)
    sd a0, irq_last, t0
    sd a1, irq_mepc, t0
    csrr t1, mstatus
    sd t1, irq_mstatus, t0
    slli t2, a0, 1
    srli t2, t2, 1                              // the interrupt number
    li t3, 7
    bne t2, t3, 1f
    li t5, -1
    ld t6, irq_rearm
    beqz t6, 0f
    li t4, CLINT_MTIME                          // periodic: the next tick a delay later
    ld t5, 0(t4)
    addi t5, t5, TIMER_DELAY
0:  li t4, CLINT_MTIMECMP
    sd t5, 0(t4)
    j 8f
1:  li t3, 3
    bne t2, t3, 2f
    li t4, CLINT_MSIP
    sw zero, 0(t4)
    j 8f
2:  li t3, 5
    bne t2, t3, 3f
    li t4, MIP_STIP
    csrc mip, t4
    j 8f
3:  li t3, 1
    bne t2, t3, 4f
    li t4, MIP_SSIP
    csrc mip, t4
    j 8f
4:  csrw mie, zero                              // unexpected: silence everything
8:  li a0, 1
    ret
9:  li a0, 0
    ret

// Vectored mtvec table: slots 0 (exceptions), 3 (MSI) and 7 (MTI) lead to the common
// handler; an interrupt arriving through any other slot is a failure.
    .align 8
vector_table:
    .option push
    .option norvc
    j trap_vector                               // 0
    j wrong_slot                                // 1
    j wrong_slot                                // 2
    j trap_vector                               // 3
    j wrong_slot                                // 4
    j wrong_slot                                // 5
    j wrong_slot                                // 6
    j trap_vector                               // 7
    j wrong_slot                                // 8
    j wrong_slot                                // 9
    j wrong_slot                                // 10
    j wrong_slot                                // 11
    .option pop
wrong_slot:
    j fail

    .data
    .align 3
irq_count: .dword 0
irq_rearm: .dword 0                             // MTI re-arms the timer instead of disarming it
irq_last: .dword 0
irq_mepc: .dword 0
irq_mstatus: .dword 0
irq_log: .fill 8, 8, 0
