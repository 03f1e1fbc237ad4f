// pmp.S — physical memory protection (priv spec §3.7), with paging off: NAPOT, TOR and NA4
// regions, the faults of S/U accesses without permission (fetch 1, load 5, store/AMO 7,
// mtval = the address), priority of the lowest-numbered match, accesses only partly inside a
// region, no match at all (S/U denied, M allowed), M-mode untouched except through MPRV or
// locked entries, and locked entries ignoring writes.
//
// Entries 0..6 are set per case; entry 7 is a catch-all RWX region (NAPOT, whole address
// space) so that S/U code and stacks stay reachable. Locked entries come last: nothing but a
// reset unlocks them.
#include "test_macros.h"

#define CFG(entry, bits) ((bits) << (8 * (entry)))
#define CATCH_ALL CFG(7, PMP_NAPOT | PMP_R | PMP_W | PMP_X)

// pmpaddr for a NAPOT region of `size` bytes (a power of two >= 8) at symbol `sym`.
#define NAPOT(reg, sym, size) \
    la reg, sym;              \
    srli reg, reg, 2;         \
    ori reg, reg, ((size) / 8 - 1)

// pmpcfg0 = cfg (plus the catch-all), then the fence that makes PMP changes visible to any
// cached translation (priv spec §3.7.2).
#define SET_PMPCFG0(cfg) \
    li t0, (cfg) | CATCH_ALL; \
    csrw pmpcfg0, t0;    \
    sfence.vma

// Case n: code run in `mode` faults with `cause` at address register `addr`.
#define TEST_DENIED(n, mode, cause, addr, ...) \
    TEST_TRAP_IN(n, mode, cause, __VA_ARGS__); \
    ld t5, trap_mtval;                         \
    CHECK_REG(t5, addr)

TEST_BEGIN
    // --- set-up: entries 0..6 off, entry 7 = everything -----------------------------------------
    CASE(1)
    csrw pmpcfg0, zero
    li t0, -1
    csrw pmpaddr7, t0
    SET_PMPCFG0(0)
    csrr a0, pmpcfg0
    CHECK(a0, CATCH_ALL)
    TEST_NO_TRAP_IN(2, PRV_U, la a1, page0; ld a0, 0(a1))

    // --- NAPOT, read-only ----------------------------------------------------------------------------
    NAPOT(t1, page0, 4096)
    csrw pmpaddr0, t1
    SET_PMPCFG0(CFG(0, PMP_NAPOT | PMP_R))
    CASE(3)
    csrr a0, pmpaddr0
    CHECK_REG(a0, t1)
    la s0, page0
    TEST_NO_TRAP_IN(4, PRV_S, ld a0, 0(s0); ld a0, 2040(s0))
    TEST_DENIED(5, PRV_S, CAUSE_STORE_ACCESS, s0, sd a0, 0(s0))
    addi s1, s0, 2040
    TEST_DENIED(6, PRV_U, CAUSE_STORE_ACCESS, s1, sw a0, 0(s1))
    TEST_DENIED(7, PRV_S, CAUSE_STORE_ACCESS, s0, amoadd.w a0, a0, (s0))   // AMOs are stores
    TEST_DENIED(8, PRV_S, CAUSE_STORE_ACCESS, s0, lr.w a0, (s0); sc.w a1, a0, (s0))
    TEST_NO_TRAP_IN(9, PRV_M, sd a0, 8(s0))             // M-mode: not locked, not checked
    // The region ends where it should: the next page is the catch-all's.
    la s2, page1
    TEST_NO_TRAP_IN(10, PRV_S, sd a0, 0(s2))

    // --- NAPOT, nothing allowed ----------------------------------------------------------------------
    SET_PMPCFG0(CFG(0, PMP_NAPOT))
    TEST_DENIED(11, PRV_S, CAUSE_LOAD_ACCESS, s0, ld a0, 0(s0))
    TEST_DENIED(12, PRV_U, CAUSE_LOAD_ACCESS, s0, lbu a0, 0(s0))

    // --- execute permission ------------------------------------------------------------------------------
    NAPOT(t1, pmp_code, 4096)
    csrw pmpaddr0, t1
    SET_PMPCFG0(CFG(0, PMP_NAPOT | PMP_R | PMP_X))
    CASE(13)
    la s3, pmp_code
    RUN_IN(PRV_S, li a0, 0; jalr s3)
    CHECK_RAN_TO_END(PRV_S)
    CHECK(a0, 0x55)
    SET_PMPCFG0(CFG(0, PMP_NAPOT | PMP_R))
    TEST_DENIED(14, PRV_U, CAUSE_FETCH_ACCESS, s3, jalr s3)
    CASE(15)
    ld a0, trap_mepc
    CHECK_REG(a0, s3)
    TEST_NO_TRAP_IN(16, PRV_U, lw a0, 0(s3))             // still readable
    TEST_NO_TRAP_IN(17, PRV_M, jalr s3)                  // M-mode still executes it

    // --- TOR: [pmpaddr0, pmpaddr1) -------------------------------------------------------------------------
    la t1, page1
    srli t1, t1, 2
    csrw pmpaddr0, t1
    la t1, page2
    srli t1, t1, 2
    csrw pmpaddr1, t1
    SET_PMPCFG0(CFG(1, PMP_TOR))                         // entry 0 off: only its address counts
    la s2, page1
    TEST_DENIED(18, PRV_S, CAUSE_LOAD_ACCESS, s2, ld a0, 0(s2))
    addi s4, s2, 2047
    addi s4, s4, 2041                                    // page1 + 4088: the last doubleword
    TEST_DENIED(19, PRV_S, CAUSE_STORE_ACCESS, s4, sd a0, 0(s4))
    la s5, page2                                         // the top is exclusive
    TEST_NO_TRAP_IN(20, PRV_S, ld a0, 0(s5))
    addi s6, s2, -8                                      // below the base
    TEST_NO_TRAP_IN(21, PRV_S, ld a0, 0(s6))
    // TOR in entry 0 starts at address 0: [0, pmpaddr0).
    la t1, page1
    srli t1, t1, 2
    csrw pmpaddr0, t1
    SET_PMPCFG0(CFG(0, PMP_TOR | PMP_X))                 // code below page1 executes, no data
    TEST_DENIED(22, PRV_S, CAUSE_LOAD_ACCESS, s6, ld a0, 0(s6))
    TEST_NO_TRAP_IN(23, PRV_S, ld a0, 0(s2))

    // --- NA4: exactly four bytes -----------------------------------------------------------------------
    la s7, page2 + 16
    srli t1, s7, 2
    csrw pmpaddr0, t1
    SET_PMPCFG0(CFG(0, PMP_NA4))
    TEST_DENIED(24, PRV_S, CAUSE_LOAD_ACCESS, s7, lw a0, 0(s7))
    TEST_DENIED(25, PRV_S, CAUSE_LOAD_ACCESS, s7, lbu a0, 0(s7))
    TEST_NO_TRAP_IN(26, PRV_S, lw a0, 4(s7); lw a0, -4(s7); ld a0, -16(s7))
    // An access only partly inside the region fails (priv spec §3.7.1.3): an aligned
    // doubleword of which the region is the first half...
    TEST_DENIED(27, PRV_S, CAUSE_STORE_ACCESS, s7, sd a0, 0(s7))
#if TRAPEZE_ISA_MISALIGNED_COMPLETES
    // ...and a misaligned one of which it is the second half: mtval is the address of the
    // access or of the part of it that faulted (priv spec §3.1.16 allows either reading).
    addi s8, s7, -4
    CASE(42)
    RUN_IN(PRV_S, sd a0, 0(s8))
    CHECK_MCAUSE(CAUSE_STORE_ACCESS)
    ld t5, trap_mtval
    beq t5, s8, 1f
    CHECK_REG(t5, s7)
1:
#endif

    // --- priority: the lowest-numbered matching entry decides ------------------------------------------------
    NAPOT(t1, page0, 4096)
    csrw pmpaddr0, t1
    NAPOT(t1, page0, 8192)                               // page0 and page1 (8 KiB aligned)
    csrw pmpaddr1, t1
    SET_PMPCFG0(CFG(0, PMP_NAPOT | PMP_R) | CFG(1, PMP_NAPOT | PMP_R | PMP_W))
    TEST_DENIED(28, PRV_S, CAUSE_STORE_ACCESS, s0, sd a0, 0(s0))     // entry 0: read-only
    TEST_NO_TRAP_IN(29, PRV_S, sd a0, 0(s2))                          // only entry 1 matches
    SET_PMPCFG0(CFG(0, PMP_NAPOT | PMP_R | PMP_W) | CFG(1, PMP_NAPOT))
    TEST_NO_TRAP_IN(30, PRV_S, sd a0, 0(s0))
    TEST_DENIED(31, PRV_S, CAUSE_LOAD_ACCESS, s2, ld a0, 0(s2))

    // --- no matching entry: S/U denied, M allowed ----------------------------------------------------------
    // Entry 7 shrinks to the first 2 MiB of RAM (the image); 0x80400000 matches nothing.
    CASE(32)
    li t1, (0x80000000 >> 2) | (0x200000 / 8 - 1)
    csrw pmpaddr7, t1
    sfence.vma
    li s9, 0x80400000
    sd zero, 0(s9)                                       // M-mode
    TEST_DENIED(33, PRV_S, CAUSE_LOAD_ACCESS, s9, ld a0, 0(s9))
    TEST_DENIED(34, PRV_U, CAUSE_STORE_ACCESS, s9, sd a0, 0(s9))
    li t1, -1
    csrw pmpaddr7, t1
    sfence.vma

    // --- MPRV: M-mode loads and stores checked as MPP -------------------------------------------------------
    SET_PMPCFG0(CFG(0, PMP_NAPOT | PMP_R))
    NAPOT(t1, page0, 4096)
    csrw pmpaddr0, t1
    sfence.vma
    CASE(35)
    li t0, MSTATUS_MPP
    csrc mstatus, t0
    li t0, MSTATUS_MPP_S
    csrs mstatus, t0
    ARM_TRAP(1f)
    li t0, MSTATUS_MPRV
    csrs mstatus, t0
    ld a0, 0(s0)                                         // allowed: R
    sd a0, 0(s0)                                         // denied as S
1:  DISARM_TRAP                                          // (the handler cleared MPRV)
    CHECK_MCAUSE(CAUSE_STORE_ACCESS)
    li t0, MSTATUS_MPP
    csrs mstatus, t0

    // --- locked entries bind M-mode too, and ignore writes -------------------------------------------------
    NAPOT(t1, page3, 4096)
    csrw pmpaddr5, t1
    SET_PMPCFG0(CFG(5, PMP_NAPOT | PMP_R | PMP_L))
    la s10, page3
    CASE(36)
    ld a0, 0(s10)                                        // M may read...
    EXPECT_TRAP(CAUSE_STORE_ACCESS, sd a0, 0(s10))       // ...but not write
    ld t5, trap_mtval
    CHECK_REG(t5, s10)
    CASE(37)
    EXPECT_TRAP(CAUSE_FETCH_ACCESS, jalr s10)           // no X for M either
    CASE(38)
    li t0, -1
    csrw pmpaddr5, t0                                    // ignored
    csrr a0, pmpaddr5
    CHECK_REG(a0, t1)
    CASE(39)
    SET_PMPCFG0(CFG(5, PMP_NAPOT | PMP_R | PMP_W | PMP_X))   // byte 5 ignored, the others written
    csrr a0, pmpcfg0
    CHECK(a0, CFG(5, PMP_NAPOT | PMP_R | PMP_L) | CATCH_ALL)
    EXPECT_TRAP(CAUSE_STORE_ACCESS, sd a0, 0(s10))
TEST_END

// Pages of their own for the execute cases.
    .section .text.pmp, "ax", @progbits
    .balign 4096
pmp_code:
    li a0, 0x55
    ret
    .balign 4096

    .bss
    .balign 8192
page0: .space 4096
page1: .space 4096
page2: .space 4096
page3: .space 4096
