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
// --- hypervisor extension (hyp_*.S; QEMU needs -cpu rv64,h=true) ---
// hie.SGEIE is writable although there are no guest external interrupts (GEILEN = 0).
#define TRAPEZE_ISA_SGEIE_ZERO_WITHOUT_GEILEN 0
// hstatus keeps whatever is written to its WPRI bits.
#define TRAPEZE_ISA_HSTATUS_WPRI_ZERO 0
// mip.VSTIP/VSEIP are writable (they set hvip's bits); the spec has them read-only aliases of
// hip.VSTIP/VSEIP.
#define TRAPEZE_ISA_MIP_VS_READ_ONLY 0
// hcounteren keeps bits 63:32 when written (it is a 32-bit register).
#define TRAPEZE_ISA_HCOUNTEREN_32BIT 0
// henvcfg.STCE (and PBMTE) can be set while menvcfg's are 0 (Sstc has it read-only zero).
#define TRAPEZE_ISA_HENVCFG_STCE_NEEDS_MENVCFG 0
// hgatp and vsatp store whatever is written: a reserved MODE (hgatp's MODE is WARL, vsatp's
// write is to be ignored or made legal) and, in hgatp, PPN[1:0] (which read as zero).
#define TRAPEZE_ISA_HGATP_MODE_WARL 0
#define TRAPEZE_ISA_HGATP_PPN_LOW_ZERO 0
#define TRAPEZE_ISA_VSATP_MODE_LEGAL 0
// mstatus.TVM = 1 does not stop HS-mode from accessing hgatp.
#define TRAPEZE_ISA_TVM_TRAPS_HGATP 0
// vsstatus.SD is not set when vsstatus.FS is Dirty.
#define TRAPEZE_ISA_VSSTATUS_SD 0
// vsip does not show hip.VSTIP/VSEIP (only SSIP), and VS-mode reads sip and sie as zero
// (writes reach vsip/vsie).
#define TRAPEZE_ISA_VSIP_SHOWS_VSTIP_VSEIP 0
#define TRAPEZE_ISA_VS_READS_SIE_SIP 0
// mstatus.GVA/hstatus.GVA are set by every trap from V=1, not only by those that write a guest
// virtual address to mtval/stval.
#define TRAPEZE_ISA_GVA_EXACT 0
// VU-mode accesses to supervisor CSRs, and sret and sfence.vma in VU-mode, raise illegal
// instruction (2), not virtual instruction.
#define TRAPEZE_ISA_VU_SUPERVISOR_CAUSE CAUSE_ILLEGAL_INSTRUCTION
// ...and so do hfence.vvma/gvma in VU-mode (hypervisor instructions raise virtual instruction
// in VS- and VU-mode).
#define TRAPEZE_ISA_VU_HFENCE_CAUSE CAUSE_ILLEGAL_INSTRUCTION
// mstatus.TVM = 1 makes VS-mode satp accesses illegal, and mstatus.TSR = 1 VS-mode sret (TVM
// and TSR affect only HS-mode).
#define TRAPEZE_ISA_TVM_IGNORED_IN_VS 0
// hstatus.VTVM = 1 does not trap VS-mode satp accesses.
#define TRAPEZE_ISA_VTVM_TRAPS_SATP 0
// An mret with MPP = M and MPV = 1 returns to M-mode with V=1 (MPV is to be ignored when
// MPP = M); crt.S clears MPV before its own such mret.
#define TRAPEZE_ISA_MRET_MPP_M_IGNORES_MPV 0
// Exceptions 2 (illegal instruction) and 6 (store misaligned) delegated to VS-mode arrive
// there as causes 1 and 5, translated as if they were the VS-level interrupts 2 and 6.
#define TRAPEZE_ISA_VS_EXCEPTION_CAUSE_KEPT 0
// The virtual-/illegal-instruction trap of an HLV (in VS-mode, or U-mode without HU) leaves a
// stale mtval (the encoding of an earlier instruction), not the HLV's.
#define TRAPEZE_ISA_HLV_TRAP_MTVAL 0
// HLV/HSV refused by the VS-stage permissions raise load/store access faults (5/7), not page
// faults (13/15); acting as VS-mode (hstatus.SPVP = 1) HLV reads U pages without vsstatus.SUM.
#define TRAPEZE_ISA_HLV_PAGE_FAULT_CAUSE CAUSE_LOAD_ACCESS
#define TRAPEZE_ISA_HSV_PAGE_FAULT_CAUSE CAUSE_STORE_ACCESS
#define TRAPEZE_ISA_HLV_VS_NEEDS_SUM 0
// HLVX checks read permission like HLV, not execute permission: it faults on an execute-only
// page and reads a page without X.
#define TRAPEZE_ISA_HLVX_NEEDS_X 0
// vsstatus.MXR does not make execute-only VS-stage pages readable by HLV.
#define TRAPEZE_ISA_HLV_VSSTATUS_MXR 0
// G-stage translation takes a GPA as sign-extended from its top bit (Sv39x4: bit 40), so a
// GPA with only bit 40 set faults.
#define TRAPEZE_ISA_GPA_BIT40 0
// An AMO's guest-page fault is a load guest-page fault (21); the spec has store/AMO (23).
#define TRAPEZE_ISA_AMO_GUEST_PAGE_FAULT_CAUSE CAUSE_LOAD_GUEST_PAGE_FAULT
// A store or fetch whose VS-stage walk reads a PTE at a G-stage-invalid GPA raises a load
// guest-page fault (21); the spec reports the original access type (23, 20).
#define TRAPEZE_ISA_WALK_GPF_ORIGINAL_TYPE 0
// The VS-stage walk sets A/D in a PTE whose page the G-stage maps read-only, without a fault
// (the update is an implicit store, which the G-stage must permit).
#define TRAPEZE_ISA_WALK_AD_GSTAGE_WRITE 0
// vsstatus.MXR makes G-stage execute-only pages readable too (it is to affect the VS-stage only).
#define TRAPEZE_ISA_VSSTATUS_MXR_VS_STAGE_ONLY 0
// The HS-level mstatus.MXR has no effect on VS-/VU-mode accesses (it is to apply to both stages).
#define TRAPEZE_ISA_HS_MXR_IN_V 0
// VS-level interrupts are taken VSSI before VSEI (the spec has VSEI, VSSI, VSTI), at HS-level
// and at VS-level.
#define TRAPEZE_ISA_VS_IRQ_PRIORITY 0
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
// mstatus.GVA/hstatus.GVA are 1 exactly for traps that write a guest virtual address to
// mtval/stval (hyp_*.S).
#ifndef TRAPEZE_ISA_GVA_EXACT
#define TRAPEZE_ISA_GVA_EXACT 1
#endif
// What VU-mode gets for accessing a supervisor CSR that HS-mode could access, or for sret and
// sfence.vma (hyp_*.S).
#ifndef TRAPEZE_ISA_VU_SUPERVISOR_CAUSE
#define TRAPEZE_ISA_VU_SUPERVISOR_CAUSE CAUSE_VIRTUAL_INSTRUCTION
#endif
// ...and for hfence.vvma/gvma (hyp_trap.S).
#ifndef TRAPEZE_ISA_VU_HFENCE_CAUSE
#define TRAPEZE_ISA_VU_HFENCE_CAUSE CAUSE_VIRTUAL_INSTRUCTION
#endif
// mstatus.TVM/TSR affect HS-mode only, never VS-mode (hyp_*.S).
#ifndef TRAPEZE_ISA_TVM_IGNORED_IN_VS
#define TRAPEZE_ISA_TVM_IGNORED_IN_VS 1
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
// Runs the code with mstatus.MPP/MPV = `mpp_mpv` (mret into it), then `ecall`s back; any trap
// resumes after it (the shared body of RUN_IN and RUN_IN_V).
#define RUN_WITH_MPP(mpp_mpv, ...)                   \
    ARM_TRAP(8886f);                                 \
    li t6, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MPV; \
    csrc mstatus, t6;                                \
    li t6, mpp_mpv;                                  \
    csrs mstatus, t6;                                \
    la t6, 8885f;                                    \
    csrw mepc, t6;                                   \
    mret;                                            \
    8885:                                            \
    __VA_ARGS__;                                     \
    ecall;                                           \
    8886:                                            \
    DISARM_TRAP
#define RUN_IN(mode, ...) RUN_WITH_MPP((mode) << 11, __VA_ARGS__)

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

// --- hypervisor extension (priv spec ch. "Hypervisor Extension", H v1.0) -------------------
// Used by the hyp_*.S programs, which need a hart with the H extension (trapeze --hypervisor,
// QEMU -cpu rv64,h=true). V is the virtualization mode: V=1 is VS-mode (nominal S) or VU-mode
// (nominal U).
#define MSTATUS_GVA (1 << 38)
#define MSTATUS_MPV (1 << 39)

#define HSTATUS_VSBE (1 << 5)
#define HSTATUS_GVA (1 << 6)
#define HSTATUS_SPV (1 << 7)
#define HSTATUS_SPVP (1 << 8)
#define HSTATUS_HU (1 << 9)
#define HSTATUS_VGEIN (0x3f << 12)
#define HSTATUS_VTVM (1 << 20)
#define HSTATUS_VTW (1 << 21)
#define HSTATUS_VTSR (1 << 22)
#define HSTATUS_VSXL (3 << 32)
#define HSTATUS_VSXL_64 (2 << 32)
#define HSTATUS_HUPMM (3 << 48)

#define MIP_VSSIP (1 << 2)
#define MIP_VSTIP (1 << 6)
#define MIP_VSEIP (1 << 10)
#define MIP_SGEIP (1 << 12)
#define MIP_VS_ALL (MIP_VSSIP | MIP_VSTIP | MIP_VSEIP)

#define CAUSE_ECALL_VS 10
#define CAUSE_FETCH_GUEST_PAGE_FAULT 20
#define CAUSE_LOAD_GUEST_PAGE_FAULT 21
#define CAUSE_VIRTUAL_INSTRUCTION 22
#define CAUSE_STORE_GUEST_PAGE_FAULT 23
// ecall from VU-mode (8) or VS-mode (10).
#define CAUSE_ECALL_FROM_V(mode) (CAUSE_ECALL_U + 2 * (mode))

#define HGATP_MODE_SHIFT 60
#define HGATP_VMID_SHIFT 44
#define HGATP_MODE_SV39X4 8
#define HGATP_MODE_SV48X4 9
#define HGATP_MODE_SV57X4 10

// CSRs by number (binutils does not know all of their names).
#define CSR_VSSTATUS 0x200
#define CSR_VSIE 0x204
#define CSR_VSTVEC 0x205
#define CSR_VSSCRATCH 0x240
#define CSR_VSEPC 0x241
#define CSR_VSCAUSE 0x242
#define CSR_VSTVAL 0x243
#define CSR_VSIP 0x244
#define CSR_VSTIMECMP 0x24d
#define CSR_VSATP 0x280
#define CSR_HSTATUS 0x600
#define CSR_HEDELEG 0x602
#define CSR_HIDELEG 0x603
#define CSR_HIE 0x604
#define CSR_HTIMEDELTA 0x605
#define CSR_HCOUNTEREN 0x606
#define CSR_HGEIE 0x607
#define CSR_HENVCFG 0x60a
#define CSR_HTVAL 0x643
#define CSR_HIP 0x644
#define CSR_HVIP 0x645
#define CSR_HTINST 0x64a
#define CSR_HGATP 0x680
#define CSR_HGEIP 0xe12
#define CSR_MTINST 0x34a
#define CSR_MTVAL2 0x34b
#define HENVCFG_STCE (1 << 63)

// RUN_IN for V=1: runs the code in VS-mode (mode PRV_S) or VU-mode (PRV_U), entered by an
// mret with MPV = 1, and ends it with an ecall (mcause CAUSE_ECALL_FROM_V(mode)). The code
// runs under the current vsatp/hgatp/vsstatus; the trap that ends it returns to M-mode (V=0).
#define RUN_IN_V(mode, ...) RUN_WITH_MPP(((mode) << 11) | MSTATUS_MPV, __VA_ARGS__)

// Fails unless the last RUN_IN_V(mode, ...) ran to its closing ecall.
#define CHECK_RAN_TO_END_V(mode) CHECK_MCAUSE(CAUSE_ECALL_FROM_V(mode))
// Case n: code run in VS/VU-mode must take a trap with `cause` (taken to M-mode) / not trap.
#define TEST_TRAP_IN_V(n, mode, cause, ...) \
    CASE(n);                                \
    RUN_IN_V(mode, __VA_ARGS__);            \
    CHECK_MCAUSE(cause)
#define TEST_NO_TRAP_IN_V(n, mode, ...) \
    TEST_TRAP_IN_V(n, mode, CAUSE_ECALL_FROM_V(mode), __VA_ARGS__)
// Fails unless the mstatus recorded at the last M-mode trap had MPV = v / GVA = v.
#define CHECK_TRAP_MPV(v)  \
    ld t5, trap_mstatus;   \
    srli t5, t5, 39;       \
    andi t5, t5, 1;        \
    CHECK(t5, v)
#define CHECK_TRAP_GVA(v)  \
    ld t5, trap_mstatus;   \
    srli t5, t5, 38;       \
    andi t5, t5, 1;        \
    CHECK(t5, v)
// Fails unless CSR `csr` & mask == val (clobbers t4, t5, t6).
#define CHECK_CSR_FIELD(csr, mask, val) \
    csrr t4, csr;                       \
    li t5, mask;                        \
    and t4, t4, t5;                     \
    CHECK(t4, val)
// Fails unless CSR `csr` == val (clobbers t4, t6).
#define CHECK_CSR(csr, val) \
    csrr t4, csr;           \
    CHECK(t4, val)


// --- debug console (a debug aid only; never needed for pass/fail) ----------------------------
// Writes the character in a0 (clobbers a0, t5, t6): HTIF console (device 1, command 1), or
// the UART when TRAPEZE_ISA_EXIT_SIFIVE_TEST is set.
#define PUTCHAR_A0 call debug_putchar
#define UART_BASE 0x10000000

#endif  // TRAPEZE_ISA_TEST_MACROS_H
