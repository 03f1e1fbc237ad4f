// traps.S — synchronous traps and privilege transitions (priv spec ch. 3, 4): ecall from
// M/S/U, ebreak, illegal instructions and mtval, exception delegation through medeleg (and
// what it never delegates), mret/sret effects on MPP/MPIE/MIE/SPP/SPIE/SIE/MPRV, xRET from
// too low a privilege, mstatus.TSR/TW/TVM, vectored mtvec, and that jumps cannot produce a
// misaligned fetch when C is present.
#include "test_macros.h"

// Fails unless (trap_mstatus >> shift) & mask == val: a field as it was right after the trap.
#define CHECK_TRAP_MSTATUS(shift, mask, val) \
    ld t5, trap_mstatus;                     \
    srli t5, t5, shift;                      \
    andi t5, t5, mask;                       \
    CHECK(t5, val)
#define CHECK_TRAP_MPP(mode) CHECK_TRAP_MSTATUS(11, 3, mode)
// The same for sstatus as recorded by the S-mode handler.
#define CHECK_TRAP_SSTATUS(shift, mask, val) \
    ld t5, strap_sstatus;                    \
    srli t5, t5, shift;                      \
    andi t5, t5, mask;                       \
    CHECK(t5, val)

#define ILLEGAL_OP 0xfe000033                   // add with funct7 = 0x7f: reserved

TEST_BEGIN
    // --- ecall: cause by privilege, mepc at the ecall, mtval 0, MPP = the old privilege ------
    CASE(1)
    EXPECT_TRAP(CAUSE_ECALL_M, 1: ecall)
    CHECK_MEPC(1b)
    CHECK_MTVAL(0)
    CHECK_TRAP_MPP(PRV_M)
    CASE(2)
    RUN_IN(PRV_S, 2: ecall)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_MEPC(2b)
    CHECK_TRAP_MPP(PRV_S)
    CASE(3)
    RUN_IN(PRV_U, 3: ecall)
    CHECK_MCAUSE(CAUSE_ECALL_U)
    CHECK_MEPC(3b)
    CHECK_MTVAL(0)
    CHECK_TRAP_MPP(PRV_U)
    // The trap clears MIE and saves it in MPIE.
    CASE(4)
    li t0, MSTATUS_MIE
    csrs mstatus, t0                            // (mie = 0: nothing can interrupt)
    EXPECT_TRAP(CAUSE_ECALL_M, ecall)
    CHECK_TRAP_MSTATUS(3, 1, 0)                 // MIE
    CHECK_TRAP_MSTATUS(7, 1, 1)                 // MPIE
    csrr a0, mstatus                            // the handler's mret restored MIE = MPIE
    li t0, MSTATUS_MIE
    csrc mstatus, t0
    andi a0, a0, MSTATUS_MIE
    CHECK(a0, MSTATUS_MIE)

    // --- ebreak: cause 3, mepc at the ebreak, mtval 0 or the pc ---------------------------------
    CASE(5)
    .option push
    .option norvc
    EXPECT_TRAP(CAUSE_BREAKPOINT, 4: ebreak)
    .option pop
    CHECK_MEPC(4b)
    ld a0, trap_mtval
    beqz a0, 5f
    la a1, 4b
    CHECK_REG(a0, a1)
5:  CASE(6)
    RUN_IN(PRV_U, 6: ebreak)
    CHECK_MCAUSE(CAUSE_BREAKPOINT)
    CHECK_MEPC(6b)

    // --- illegal instructions: mtval = the instruction -----------------------------------------
    CASE(7)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, .word ILLEGAL_OP)
    CHECK_MTVAL(ILLEGAL_OP)
    CASE(8)
    RUN_IN(PRV_S, 7: .word ILLEGAL_OP)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL(ILLEGAL_OP)
    CHECK_MEPC(7b)
    CASE(9)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, .word 0x0000000b)     // custom-0, not implemented
    CHECK_MTVAL(0x0000000b)

    // --- delegation through medeleg ------------------------------------------------------------------
    // A U-mode ecall delegated to S: scause 8, sepc at the ecall, SPP = U; M sees only the
    // S handler's own ecall (cause 9).
    CASE(10)
    li t0, 1 << CAUSE_ECALL_U
    csrw medeleg, t0
    RUN_IN(PRV_U, 8: ecall)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_SCAUSE(CAUSE_ECALL_U)
    ld a0, strap_sepc
    la a1, 8b
    CHECK_REG(a0, a1)
    CHECK_TRAP_SSTATUS(8, 1, PRV_U)             // SPP
    // An S-mode illegal instruction delegated to S: stval = the instruction, SPP = S, and
    // SPIE = the SIE before the trap (1), SIE = 0.
    CASE(11)
    li t0, 1 << CAUSE_ILLEGAL_INSTRUCTION
    csrw medeleg, t0
    RUN_IN(PRV_S, csrsi sstatus, MSTATUS_SIE; .word ILLEGAL_OP)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_SCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_STVAL(ILLEGAL_OP)
    CHECK_TRAP_SSTATUS(8, 1, PRV_S)             // SPP
    CHECK_TRAP_SSTATUS(5, 1, 1)                 // SPIE
    CHECK_TRAP_SSTATUS(1, 1, 0)                 // SIE
    csrci sstatus, MSTATUS_SIE
    // Delegation never applies to traps taken in M-mode.
    CASE(12)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, .word ILLEGAL_OP)
    ld a0, strap_scause
    CHECK(a0, -1)                               // the S handler did not run
    // ebreak from U delegated to S.
    CASE(13)
    li t0, 1 << CAUSE_BREAKPOINT
    csrw medeleg, t0
    RUN_IN(PRV_U, ebreak)
    CHECK_SCAUSE(CAUSE_BREAKPOINT)
    // A cause that is not delegated still goes to M.
    CASE(14)
    RUN_IN(PRV_U, .word ILLEGAL_OP)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    ld a0, strap_scause
    CHECK(a0, -1)
    csrw medeleg, zero

    // --- mret --------------------------------------------------------------------------------------
    // mret: MIE = MPIE, MPIE = 1, MPP = U (the least privileged mode), privilege = old MPP.
    CASE(15)
    li t0, MSTATUS_MIE
    csrc mstatus, t0
    li t0, MSTATUS_MPIE | MSTATUS_MPP           // MPP = M
    csrs mstatus, t0
    la t0, 1f
    csrw mepc, t0
    mret
1:  csrr a0, mstatus
    li t0, MSTATUS_MIE
    csrc mstatus, t0
    srli a1, a0, 3
    andi a1, a1, 1
    CHECK(a1, 1)                                // MIE
    srli a1, a0, 7
    andi a1, a1, 1
    CHECK(a1, 1)                                // MPIE
    srli a1, a0, 11
    andi a1, a1, 3
    CHECK(a1, PRV_U)                            // MPP
    CASE(16)
    li t0, MSTATUS_MPIE
    csrc mstatus, t0
    li t0, MSTATUS_MPP
    csrs mstatus, t0
    la t0, 2f
    csrw mepc, t0
    mret
2:  csrr a0, mstatus
    srli a1, a0, 3
    andi a1, a1, 1
    CHECK(a1, 0)                                // MIE = old MPIE = 0
    srli a1, a0, 7
    andi a1, a1, 1
    CHECK(a1, 1)                                // MPIE = 1
#if TRAPEZE_ISA_XRET_CLEARS_MPRV
    // mret to a mode below M clears MPRV...
    CASE(17)
    li t0, MSTATUS_MPRV
    csrs mstatus, t0                            // (M accesses act as MPP = U: bare, PMP allows all)
    RUN_IN(PRV_S, nop)
    CHECK_RAN_TO_END(PRV_S)
    CHECK_TRAP_MSTATUS(17, 1, 0)
    // ...and so does sret.
    CASE(41)
    li t0, MSTATUS_MPRV | MSTATUS_SPP
    csrs mstatus, t0
    la t0, 1f
    csrw sepc, t0
    ARM_TRAP(2f)
    sret
1:  ecall
2:  DISARM_TRAP
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_TRAP_MSTATUS(17, 1, 0)
#endif
    li t0, MSTATUS_MPRV
    csrc mstatus, t0

    // --- sret ----------------------------------------------------------------------------------------
    // From S with SPP = U and SPIE = 1: to U, SIE = 1, SPIE = 1, SPP = U.
    CASE(18)
    csrw mideleg, zero
    csrw mie, zero
    RUN_IN(PRV_S,
        la a0, 3f;
        csrw sepc, a0;
        li a0, MSTATUS_SPP;
        csrc sstatus, a0;
        li a0, MSTATUS_SPIE;
        csrs sstatus, a0;
        csrci sstatus, MSTATUS_SIE;
        sret;
        3: ecall)
    CHECK_MCAUSE(CAUSE_ECALL_U)                 // the ecall ran in U-mode
    CHECK_TRAP_MSTATUS(1, 1, 1)                 // SIE = old SPIE
    CHECK_TRAP_MSTATUS(5, 1, 1)                 // SPIE = 1
    CHECK_TRAP_MSTATUS(8, 1, PRV_U)             // SPP = U
    csrci sstatus, MSTATUS_SIE
    // With SPP = S, sret stays in S, and SIE = SPIE = 0.
    CASE(19)
    RUN_IN(PRV_S,
        la a0, 4f;
        csrw sepc, a0;
        li a0, MSTATUS_SPP;
        csrs sstatus, a0;
        li a0, MSTATUS_SPIE;
        csrc sstatus, a0;
        csrsi sstatus, MSTATUS_SIE;
        sret;
        4: ecall)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_TRAP_MSTATUS(1, 1, 0)                 // SIE
    CHECK_TRAP_MSTATUS(8, 1, PRV_U)             // SPP = U after sret
    // sret in M-mode returns to SPP too.
    CASE(20)
    li t0, MSTATUS_SPP
    csrs mstatus, t0
    la t0, 5f
    csrw sepc, t0
    ARM_TRAP(6f)
    sret
5:  ecall
6:  DISARM_TRAP
    CHECK_MCAUSE(CAUSE_ECALL_S)

    // --- xRET from too low a privilege is illegal ----------------------------------------------------
    TEST_TRAP_IN(21, PRV_U, CAUSE_ILLEGAL_INSTRUCTION, sret)
    TEST_TRAP_IN(22, PRV_U, CAUSE_ILLEGAL_INSTRUCTION, mret)
    TEST_TRAP_IN(23, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, mret)
    CASE(24)
    RUN_IN(PRV_S, 7: mret)
    CHECK_MTVAL_INSN(7b)

    // --- mstatus.TSR: sret traps in S-mode (not in M-mode) -------------------------------------------
    li t0, MSTATUS_TSR
    csrs mstatus, t0
    CASE(25)
    RUN_IN(PRV_S, la a0, 1f; csrw sepc, a0; 1: sret)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CASE(26)
    li t0, MSTATUS_SPP
    csrs mstatus, t0
    la t0, 2f
    csrw sepc, t0
    ARM_TRAP(3f)
    sret
2:  ecall
3:  DISARM_TRAP
    CHECK_MCAUSE(CAUSE_ECALL_S)
    li t0, MSTATUS_TSR
    csrc mstatus, t0
    TEST_NO_TRAP_IN(27, PRV_S, la a0, 4f; csrw sepc, a0; li a0, MSTATUS_SPP; csrs sstatus, a0; sret; 4: nop)

    // --- wfi: TW makes it trap in S-mode; in U-mode it traps anyway (S exists) ----------------------
    // An interrupt that is pending and enabled in mie (but not globally) lets wfi complete.
    li t0, MIP_SSIP
    csrw mideleg, t0
    csrs mie, t0
    csrs mip, t0
    TEST_NO_TRAP_IN(28, PRV_S, wfi)             // SIE = 0: the interrupt is not taken
    li t0, MSTATUS_TW
    csrs mstatus, t0
    TEST_TRAP_IN(29, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, wfi)
    CASE(30)
    EXPECT_TRAP(-1, wfi)                        // M-mode: TW does not apply (no trap: cause stays -1)
    li t0, MSTATUS_TW
    csrc mstatus, t0
    li t0, MIP_SSIP
    csrc mip, t0
    csrc mie, t0
    csrw mideleg, zero
    TEST_TRAP_IN(31, PRV_U, CAUSE_ILLEGAL_INSTRUCTION, wfi)

    // --- mstatus.TVM: satp and sfence.vma trap in S-mode -------------------------------------------
    li t0, MSTATUS_TVM
    csrs mstatus, t0
    TEST_TRAP_IN(32, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, csrr a0, satp)
    TEST_TRAP_IN(33, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, csrw satp, zero)
    TEST_TRAP_IN(34, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, sfence.vma)
    CASE(35)
    csrr a0, satp                               // M-mode is not affected
    sfence.vma
    li t0, MSTATUS_TVM
    csrc mstatus, t0
    TEST_NO_TRAP_IN(36, PRV_S, csrr a0, satp; sfence.vma)
    TEST_TRAP_IN(37, PRV_U, CAUSE_ILLEGAL_INSTRUCTION, sfence.vma)

    // --- vectored mtvec: exceptions still go to BASE ------------------------------------------------------
    CASE(38)
    la t0, trap_vector
    ori t0, t0, 1
    csrw mtvec, t0
    csrr a0, mtvec
    CHECK_REG(a0, t0)
    EXPECT_TRAP(CAUSE_ECALL_M, ecall)
    la t0, trap_vector
    csrw mtvec, t0

    // --- with C, jumps cannot misalign the pc: jalr clears bit 0 ------------------------------------------
    CASE(39)
    la a1, 8f
    addi a1, a1, 1
    li a0, 0
    jalr ra, 0(a1)
    CHECK(a0, 1)
    CASE(40)
    la a1, 9f                                   // a target that is 2 mod 4
    jalr ra, 0(a1)
    CHECK(a0, 2)
TEST_END

    .align 2
8:  li a0, 1
    ret
    .align 2
    c.nop
9:  li a0, 2
    ret
