// test_macros.h — the interface between trapeze's bare-metal ISA tests and their runtime
// (crt.S). Included by every test program (`.S`, run through the C preprocessor).
//
// A program is
//
//     #include "test_macros.h"
//     TEST_BEGIN
//         TEST_CASE(1, a0, 3, li a1, 1; addi a0, a1, 2)
//         ...
//     TEST_END
//
// and reports through Spike's HTIF `tohost` convention: 1 means pass, (n << 1) | 1 means
// case n failed. So a case number must fit in an exit status: cases are numbered 1..250;
// 251 means a trap inside the trap handler, 252 a failure before the first case.
//
// Register conventions:
//   gp (x3)        number of the running case; `fail` reports it. Never touch it.
//   t5, t6 (x30/31) scratch of these macros: not live across any macro below.
//   sp (x2)        a stack set up by crt.S (8 KiB); the M-mode trap handler has its own.
// Numeric labels 8885..8889 belong to these macros; test files use others.
//
// Traps (crt.S): every M-mode trap records mcause/mepc/mtval/mstatus in trap_mcause/
// trap_mepc/trap_mtval/trap_mstatus and increments trap_count. Then
//   * if trap_hook is set, it is called (see SET_TRAP_HOOK); it may handle the trap,
//   * else if a resume point is armed (ARM_TRAP, EXPECT_TRAP, RUN_IN) the handler returns
//     to it in M-mode (MPRV cleared), with the registers of the trapping context, and
//     disarms it,
//   * else the trap was unexpected and the running case fails.
// S-mode traps (delegated through medeleg/mideleg, stvec = strap_vector) record scause/sepc/
// stval/sstatus in strap_scause/strap_sepc/strap_stval/strap_sstatus, increment strap_count
// and then `ecall` to M-mode, which ends the running RUN_IN with mcause 9.
#ifndef TRAPEZE_ISA_TEST_MACROS_H
#define TRAPEZE_ISA_TEST_MACROS_H

// --- expectations that differ between implementations ---------------------------------------
// Each TRAPEZE_ISA_* switch below defaults to what the spec (and trapeze) does. run-on-qemu.sh
// builds the programs with -DTRAPEZE_ISA_QEMU_QUIRKS (spike machine), or additionally
// -DTRAPEZE_ISA_QEMU_VIRT (virt machine), to check them against QEMU 7.2, whose deviations
// from the spec are listed here.
#ifdef TRAPEZE_ISA_QEMU_QUIRKS
// A misaligned AMO raises load address misaligned (4); the spec has store/AMO (6).
#define TRAPEZE_ISA_AMO_MISALIGNED_CAUSE 4
// csrrs/csrrc whose rs1 is not x0 but holds zero do not count as writes, so they do not trap
// on a read-only CSR (unpriv spec §9.1: they are write attempts).
#define TRAPEZE_ISA_CSRRS_ZERO_REG_WRITES 0
// mstatus.MPP keeps the reserved value 2 when written (it is WARL, priv spec §3.1.6.1).
#define TRAPEZE_ISA_MPP_WARL 0
// mepc/sepc keep bit 0 of a written value (the spec has it read as zero, §3.1.14).
#define TRAPEZE_ISA_XEPC_BIT0_ZERO 0
// medeleg[11] (ecall from M) can be set (priv spec v1.12 §3.1.8: read-only zero).
#define TRAPEZE_ISA_MEDELEG11_ZERO 0
// mret/sret to a mode below M leave mstatus.MPRV set (priv spec v1.12 §3.1.6.3 clears it).
#define TRAPEZE_ISA_XRET_CLEARS_MPRV 0
#ifdef TRAPEZE_ISA_QEMU_VIRT
// The virt machine has no HTIF: pass/fail go to its SiFive test device (0x100000), debug
// output to its UART. It has a time source, hence the time CSR and Sstc.
#define TRAPEZE_ISA_EXIT_SIFIVE_TEST 1
#define TRAPEZE_ISA_REQUIRE_SSTC 1
#else
// The spike machine gives the hart no time source: reading `time` traps (M-mode software is
// expected to emulate it), and menvcfg.STCE can be set although stimecmp traps.
#define TRAPEZE_ISA_TIME_CSR 0
#define TRAPEZE_ISA_STCE_WITHOUT_STIMECMP 1
#endif
#endif  // TRAPEZE_ISA_QEMU_QUIRKS

#ifndef TRAPEZE_ISA_AMO_MISALIGNED_CAUSE
#define TRAPEZE_ISA_AMO_MISALIGNED_CAUSE CAUSE_MISALIGNED_STORE
#endif
#ifndef TRAPEZE_ISA_CSRRS_ZERO_REG_WRITES
#define TRAPEZE_ISA_CSRRS_ZERO_REG_WRITES 1
#endif
#ifndef TRAPEZE_ISA_MPP_WARL
#define TRAPEZE_ISA_MPP_WARL 1
#endif
#ifndef TRAPEZE_ISA_XEPC_BIT0_ZERO
#define TRAPEZE_ISA_XEPC_BIT0_ZERO 1
#endif
#ifndef TRAPEZE_ISA_MEDELEG11_ZERO
#define TRAPEZE_ISA_MEDELEG11_ZERO 1
#endif
#ifndef TRAPEZE_ISA_XRET_CLEARS_MPRV
#define TRAPEZE_ISA_XRET_CLEARS_MPRV 1
#endif
#ifndef TRAPEZE_ISA_EXIT_SIFIVE_TEST
#define TRAPEZE_ISA_EXIT_SIFIVE_TEST 0
#endif
#ifndef TRAPEZE_ISA_TIME_CSR
#define TRAPEZE_ISA_TIME_CSR 1
#endif
#ifndef TRAPEZE_ISA_STCE_WITHOUT_STIMECMP
#define TRAPEZE_ISA_STCE_WITHOUT_STIMECMP 0
#endif
// Misaligned loads and stores to RAM complete (trapeze and QEMU 7.2 both do); 0 = they may
// raise address-misaligned exceptions instead, as the spec allows (priv spec §3.6.3).
#ifndef TRAPEZE_ISA_MISALIGNED_COMPLETES
#define TRAPEZE_ISA_MISALIGNED_COMPLETES 1
#endif

// --- privilege levels and CSR fields (priv spec v1.12) ------------------------------------
#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

#define MSTATUS_SIE (1 << 1)
#define MSTATUS_MIE (1 << 3)
#define MSTATUS_SPIE (1 << 5)
#define MSTATUS_MPIE (1 << 7)
#define MSTATUS_SPP (1 << 8)
#define MSTATUS_MPP (3 << 11)
#define MSTATUS_MPP_S (1 << 11)
#define MSTATUS_FS (3 << 13)
#define MSTATUS_FS_INITIAL (1 << 13)
#define MSTATUS_FS_DIRTY (3 << 13)
#define MSTATUS_MPRV (1 << 17)
#define MSTATUS_SUM (1 << 18)
#define MSTATUS_MXR (1 << 19)
#define MSTATUS_TVM (1 << 20)
#define MSTATUS_TW (1 << 21)
#define MSTATUS_TSR (1 << 22)
#define MSTATUS_SD (1 << 63)

#define MIP_SSIP (1 << 1)
#define MIP_MSIP (1 << 3)
#define MIP_STIP (1 << 5)
#define MIP_MTIP (1 << 7)
#define MIP_SEIP (1 << 9)
#define MIP_MEIP (1 << 11)

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL_INSTRUCTION 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_ECALL_U 8
#define CAUSE_ECALL_S 9
#define CAUSE_ECALL_M 11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15
#define CAUSE_INTERRUPT (1 << 63)
#define CAUSE_ECALL_FROM(mode) (CAUSE_ECALL_U + (mode))

#define SATP_MODE_SHIFT 60
#define SATP_MODE_SV39 8
#define SATP_MODE_SV48 9
#define SATP_MODE_SV57 10

// Page table entry bits — priv spec §4.3.1.
#define PTE_V (1 << 0)
#define PTE_R (1 << 1)
#define PTE_W (1 << 2)
#define PTE_X (1 << 3)
#define PTE_U (1 << 4)
#define PTE_G (1 << 5)
#define PTE_A (1 << 6)
#define PTE_D (1 << 7)
#define PTE_PPN_SHIFT 10

// pmpcfg fields — priv spec §3.7.1.
#define PMP_R 0x01
#define PMP_W 0x02
#define PMP_X 0x04
#define PMP_OFF 0x00
#define PMP_TOR 0x08
#define PMP_NA4 0x10
#define PMP_NAPOT 0x18
#define PMP_L 0x80

// CSRs by number, so that the assembler's idea of which extensions are enabled does not matter.
#define CSR_SENVCFG 0x10a
#define CSR_STIMECMP 0x14d
#define CSR_MENVCFG 0x30a
#define MENVCFG_STCE (1 << 63)

// CLINT (QEMU virt/spike layout) — mtime counts at 10 MHz.
#define CLINT_BASE 0x2000000
#define CLINT_MSIP (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)
#define CLINT_MTIME (CLINT_BASE + 0xbff8)

// SiFive test device (QEMU virt/trapeze): 0x5555 = pass, (code << 16) | 0x3333 = fail.
#define SIFIVE_TEST_BASE 0x100000

// --- program structure ------------------------------------------------------------------
#define TEST_BEGIN \
    .text;         \
    .global test_main; \
    test_main:

#define TEST_END \
    j pass

// Starts case n: gp = n. The label makes a reused number an assembly error.
#define CASE(n)                                        \
    .if ((n) < 1) || ((n) > 250);                      \
    .error "case numbers are 1..250 (exit statuses)";  \
    .endif;                                            \
    case_##n:                                          \
    li gp, n

// Fails the running case unless reg == val (a 64-bit constant).
#define CHECK(reg, val) \
    li t6, val;         \
    beq reg, t6, 8889f; \
    j fail;             \
    8889:

// Fails the running case if reg is zero.
#define CHECK_NZ(reg)   \
    bnez reg, 8889f;    \
    j fail;             \
    8889:

// Fails the running case unless ra == rb.
#define CHECK_REG(ra, rb) \
    beq ra, rb, 8889f;    \
    j fail;               \
    8889:

// Fails the running case unless the doubleword at `sym` equals val.
#define CHECK_MEM(sym, val) \
    ld t5, sym;             \
    CHECK(t5, val)

// Case n: run the code, then reg must equal expected.
#define TEST_CASE(n, reg, expected, ...) \
    CASE(n);                             \
    __VA_ARGS__;                         \
    CHECK(reg, expected)

// --- traps ------------------------------------------------------------------------------
// Arms the M-mode handler to resume at `label` (in M-mode) after the next trap, and clears
// the recorded cause so that "no trap" is distinguishable (trap_mcause = -1).
#define ARM_TRAP(label)         \
    la t6, label;               \
    sd t6, trap_resume, t5;     \
    li t6, -1;                  \
    sd t6, trap_mcause, t5;     \
    sd t6, strap_scause, t5

#define DISARM_TRAP sd zero, trap_resume, t5

// Fails unless the last M-mode trap had this mcause / mtval / mepc.
#define CHECK_MCAUSE(cause) CHECK_MEM(trap_mcause, cause)
#define CHECK_MTVAL(val) CHECK_MEM(trap_mtval, val)
#define CHECK_MTVAL_ADDR(sym_expr) \
    ld t5, trap_mtval;    \
    la t6, sym_expr;      \
    CHECK_REG(t5, t6)
// ...mtval must be the (32-bit) instruction at `label`, as for an illegal instruction.
#define CHECK_MTVAL_INSN(label) \
    la t6, label;         \
    lwu t6, 0(t6);        \
    ld t5, trap_mtval;    \
    CHECK_REG(t5, t6)
#define CHECK_MEPC(label) \
    ld t5, trap_mepc;     \
    la t6, label;         \
    CHECK_REG(t5, t6)
// ...and the same for the last S-mode trap.
#define CHECK_SCAUSE(cause) CHECK_MEM(strap_scause, cause)
#define CHECK_STVAL(val) CHECK_MEM(strap_stval, val)

// Runs the code in M-mode; it must trap with `cause`. Execution continues after the macro
// either way (a missing trap fails the case).
#define EXPECT_TRAP(cause, ...) \
    ARM_TRAP(8887f);            \
    __VA_ARGS__;                \
    8887:                       \
    DISARM_TRAP;                \
    CHECK_MCAUSE(cause)

// Runs the code in privilege `mode` (PRV_U/PRV_S/PRV_M) with the current satp and mstatus,
// ending it with an ecall; back in M-mode, trap_mcause says how it ended: the ecall
// (CAUSE_ECALL_FROM(mode)) or the first trap the code took. Registers keep the values the
// code left in them (t5/t6 excepted). MPIE is cleared on the way in, so the code runs with
// mstatus.MIE = 0 and M-mode gets MIE = 0 back (the mret in and the trap out would
// otherwise turn a stale MPIE into MIE = 1).
#define RUN_IN(mode, ...)              \
    ARM_TRAP(8886f);                   \
    li t6, MSTATUS_MPP | MSTATUS_MPIE; \
    csrc mstatus, t6;                  \
    li t6, ((mode) << 11);             \
    csrs mstatus, t6;                  \
    la t6, 8885f;                      \
    csrw mepc, t6;                     \
    mret;                              \
    8885:                              \
    __VA_ARGS__;                       \
    ecall;                             \
    8886:                              \
    DISARM_TRAP

// Fails unless the last RUN_IN(mode, ...) ran to its closing ecall.
#define CHECK_RAN_TO_END(mode) CHECK_MCAUSE(CAUSE_ECALL_FROM(mode))

// Case n: code run in `mode` must take a trap with `cause` (taken to M-mode).
#define TEST_TRAP_IN(n, mode, cause, ...) \
    CASE(n);                              \
    RUN_IN(mode, __VA_ARGS__);            \
    CHECK_MCAUSE(cause)

// Case n: code run in `mode` must not trap.
#define TEST_NO_TRAP_IN(n, mode, ...) TEST_TRAP_IN(n, mode, CAUSE_ECALL_FROM(mode), __VA_ARGS__)

// Installs a hook called by the M-mode handler after it recorded a trap, with
//   a0 = mcause, a1 = mepc, a2 = mtval, a3 = saved registers (x[i] at 8*i(a3)).
// The hook runs in M-mode on the trap stack, may use any register but sp, and returns
// (ret) a0 = 0 to let the handler go on as without hook, or a0 != 0 to return to mepc
// (which the hook may have changed) with the saved registers (which it may have changed).
// crt.S provides trap_hook_skip: resume after the trapping instruction.
#define SET_TRAP_HOOK(label) \
    la t6, label;            \
    sd t6, trap_hook, t5
#define CLEAR_TRAP_HOOK sd zero, trap_hook, t5

// --- debug console (a debug aid only; never needed for pass/fail) ----------------------------
// Writes the character in a0 (clobbers a0, t5, t6): HTIF console (device 1, command 1), or
// the UART when TRAPEZE_ISA_EXIT_SIFIVE_TEST is set.
#define PUTCHAR_A0 call debug_putchar
#define UART_BASE 0x10000000

#endif  // TRAPEZE_ISA_TEST_MACROS_H
