// hyp_csr.S — the CSRs of the hypervisor extension (priv spec ch. "Hypervisor Extension", H
// v1.0): misa.H; the H CSRs (hstatus, hedeleg, hideleg, hvip/hip/hie, hgeip/hgeie, hcounteren,
// htval, htinst, htimedelta, henvcfg, hgatp) and their WARL/read-only bits (§ "Hypervisor and
// Virtual Supervisor CSRs"); the VS CSRs (vsstatus, vsie/vsip, vstvec, vsscratch, vsepc,
// vscause, vstval, vsatp); the machine-level additions (mstatus.MPV/GVA, mideleg's read-only
// VS bits, the mip/mie aliases of hip/hie, mtval2, mtinst; § "Machine-Level CSRs"); who may
// access them (illegal from U, virtual instruction from VS/VU, § "Trap Cause Codes"); and the
// supervisor CSRs reaching the VS CSRs while V=1, including satp under hstatus.VTVM and the
// counters under hcounteren.
//
//   cases  1-6   misa, mideleg, mstatus.MPV/GVA, mtval2/mtinst
//          7-9   hstatus (10: mip)            11-13 hedeleg/hideleg      14-22 hvip/hip/hie, mip/mie, sip/sie
//         23-25  hgeip/hgeie        26-32 hcounteren, htval, htinst, htimedelta, henvcfg
//         33-42  hgatp              43-55 VS CSRs
//         56-71  access from U, HS, VS, VU      72-84 S CSRs while V=1      85-89 counters
#include "test_macros.h"

// GEILEN, the number of guest external interrupts (hgeie bits GEILEN:1 writable, the rest of
// hgeie/hgeip read-only zero; mideleg.SGEIP read-only one iff GEILEN > 0). trapeze has none.
#ifndef TRAPEZE_ISA_GEILEN
#define TRAPEZE_ISA_GEILEN 0
#endif
// 1 = hgatp accepts MODE Sv48x4 / Sv57x4 (trapeze does); 0 = it does not (reads another mode).
#ifndef TRAPEZE_ISA_SV48X4
#define TRAPEZE_ISA_SV48X4 1
#endif
#ifndef TRAPEZE_ISA_SV57X4
#define TRAPEZE_ISA_SV57X4 1
#endif
// 1 = hgatp.MODE is WARL: after a write of a reserved MODE it reads as a supported one (Bare,
// Sv39x4, Sv48x4 or Sv57x4), as the spec requires (§ hgatp: "not ignored as it is for satp.
// Instead, the fields of hgatp are WARL in the normal way").
#ifndef TRAPEZE_ISA_HGATP_MODE_WARL
#define TRAPEZE_ISA_HGATP_MODE_WARL 1
#endif
// 1 = hie.SGEIE is read-only zero when GEILEN = 0 (SGEIP can then never become pending, and
// "bits of hie that are not writable shall be read-only zero").
#ifndef TRAPEZE_ISA_SGEIE_ZERO_WITHOUT_GEILEN
#define TRAPEZE_ISA_SGEIE_ZERO_WITHOUT_GEILEN 1
#endif
// 1 = hgatp.PPN[1:0] read as zero in the paged modes (§ hgatp allows them to be read-only zero).
#ifndef TRAPEZE_ISA_HGATP_PPN_LOW_ZERO
#define TRAPEZE_ISA_HGATP_PPN_LOW_ZERO 1
#endif
// 1 = vsatp never holds a reserved MODE: a write of one (V=0) is ignored or leaves a supported
// MODE (§ vsatp).
#ifndef TRAPEZE_ISA_VSATP_MODE_LEGAL
#define TRAPEZE_ISA_VSATP_MODE_LEGAL 1
#endif
// 1 = mstatus.TVM = 1 makes HS-mode accesses to hgatp illegal (§ hgatp).
#ifndef TRAPEZE_ISA_TVM_TRAPS_HGATP
#define TRAPEZE_ISA_TVM_TRAPS_HGATP 1
#endif
// 1 = vsstatus.SD summarizes vsstatus.FS (read-only, § vsstatus).
#ifndef TRAPEZE_ISA_VSSTATUS_SD
#define TRAPEZE_ISA_VSSTATUS_SD 1
#endif
// 1 = vsip.STIP/SEIP show hip.VSTIP/VSEIP where hideleg delegates them (§ vsip/vsie).
#ifndef TRAPEZE_ISA_VSIP_SHOWS_VSTIP_VSEIP
#define TRAPEZE_ISA_VSIP_SHOWS_VSTIP_VSEIP 1
#endif
// 1 = VS-mode reads sie/sip as vsie/vsip (0 = the value read is not checked).
#ifndef TRAPEZE_ISA_VS_READS_SIE_SIP
#define TRAPEZE_ISA_VS_READS_SIE_SIP 1
#endif
// 1 = hstatus.VTVM = 1 makes VS-mode satp accesses raise virtual instruction.
#ifndef TRAPEZE_ISA_VTVM_TRAPS_SATP
#define TRAPEZE_ISA_VTVM_TRAPS_SATP 1
#endif
// 1 = the WPRI bits of hstatus are read-only zero (priv spec §2.3: an implementation without
// the fields makes them read-only zero).
#ifndef TRAPEZE_ISA_HSTATUS_WPRI_ZERO
#define TRAPEZE_ISA_HSTATUS_WPRI_ZERO 1
#endif
// 1 = mip.VSTIP/VSEIP are read-only like the hip bits they alias (§ mip/mie).
#ifndef TRAPEZE_ISA_MIP_VS_READ_ONLY
#define TRAPEZE_ISA_MIP_VS_READ_ONLY 1
#endif
// 1 = hcounteren reads as the 32-bit register it is (bits 63:32 zero).
#ifndef TRAPEZE_ISA_HCOUNTEREN_32BIT
#define TRAPEZE_ISA_HCOUNTEREN_32BIT 1
#endif
// 1 = henvcfg.STCE is read-only zero while menvcfg.STCE = 0 (machine-level menvcfg, Sstc).
#ifndef TRAPEZE_ISA_HENVCFG_STCE_NEEDS_MENVCFG
#define TRAPEZE_ISA_HENVCFG_STCE_NEEDS_MENVCFG 1
#endif
// 1 = sie/sip show none of the VS-level/guest-external bits (each writable sie bit is
// read-only zero in hip/hie and vice versa), although mideleg has them set.
#ifndef TRAPEZE_ISA_SIE_HIDES_VS_BITS
#define TRAPEZE_ISA_SIE_HIDES_VS_BITS 1
#endif

#define HEDELEG_WRITABLE 0xb1fe      // 1-8, 12, 13, 15 (bit 0 may be either: IALIGN = 16)
#define HEDELEG_ZERO 0xf00e00        // 9, 10, 11, 20-23
#define HSTATUS_KNOWN (HSTATUS_VSBE | HSTATUS_GVA | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_HU | \
                       HSTATUS_VGEIN | HSTATUS_VTVM | HSTATUS_VTW | HSTATUS_VTSR | HSTATUS_VSXL | \
                       HSTATUS_HUPMM)
#define HSTATUS_RW (HSTATUS_GVA | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_HU | HSTATUS_VTVM | \
                    HSTATUS_VTW | HSTATUS_VTSR)
#define VSSTATUS_RW (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR | \
                     MSTATUS_FS)
#define COUNT_CY 1
#define COUNT_TM 2
#define COUNT_IR 4

#define VALUE_A 0x1111222233334444
#define VALUE_B 0x5555666677778888
#define VALUE_C 0x0123456789abcdef

// a0 = the MODE field of hgatp after writing (mode << 60) | the root's PPN.
#define WRITE_HGATP_MODE(mode) \
    li a0, (mode) << HGATP_MODE_SHIFT; \
    la a1, groot;              \
    srli a1, a1, 12;           \
    or a0, a0, a1;             \
    csrw CSR_HGATP, a0;        \
    csrr a0, CSR_HGATP;        \
    srli a0, a0, HGATP_MODE_SHIFT
// Fails unless a0 is a MODE hgatp supports: Bare, Sv39x4, Sv48x4 or Sv57x4.
#define CHECK_HGATP_MODE_LEGAL \
    beqz a0, 7771f;            \
    addi a0, a0, -HGATP_MODE_SV39X4; \
    li t6, 3;                  \
    bltu a0, t6, 7771f;        \
    j fail;                    \
    7771:

// vroot[2] = a 1 GiB identity page over the image (VA 0x80000000), RWX, not U.
#define SET_VROOT                     \
    li a3, ((0x80000000 >> 12) << PTE_PPN_SHIFT) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D; \
    la a4, vroot;                     \
    sd a3, 2 * 8(a4)

TEST_BEGIN
    // --- misa, mideleg, mstatus, mtval2, mtinst ----------------------------------------------
    CASE(1)
    csrr a0, misa
    srli a0, a0, 7                              // H
    andi a0, a0, 1
    CHECK(a0, 1)
    // mideleg bits 10, 6, 2 (VS-level interrupts) are read-only one (§ mideleg).
    CASE(2)
    csrw mideleg, zero
    CHECK_CSR_FIELD(mideleg, MIP_VS_ALL, MIP_VS_ALL)
#if TRAPEZE_ISA_GEILEN > 0
    // ...and so is SGEIP (12) when there are guest external interrupts (without any, the spec
    // says nothing of the bit).
    CASE(3)
    CHECK_CSR_FIELD(mideleg, MIP_SGEIP, MIP_SGEIP)
#endif
    // mstatus.MPV and GVA exist (RV64: bits 39 and 38).
    CASE(4)
    li t0, MSTATUS_MPV | MSTATUS_GVA
    csrs mstatus, t0
    CHECK_CSR_FIELD(mstatus, MSTATUS_MPV | MSTATUS_GVA, MSTATUS_MPV | MSTATUS_GVA)
    csrc mstatus, t0
    CHECK_CSR_FIELD(mstatus, MSTATUS_MPV | MSTATUS_GVA, 0)
    // mtval2 and mtinst exist and hold zero.
    CASE(5)
    csrw CSR_MTVAL2, zero
    CHECK_CSR(CSR_MTVAL2, 0)
    CASE(6)
    csrw CSR_MTINST, zero
    CHECK_CSR(CSR_MTINST, 0)

    // --- hstatus --------------------------------------------------------------------------------
    CASE(7)
    li t0, -1
    csrw CSR_HSTATUS, t0
    CHECK_CSR_FIELD(CSR_HSTATUS, HSTATUS_RW, HSTATUS_RW)
#if TRAPEZE_ISA_HSTATUS_WPRI_ZERO
    // Everything outside the defined fields is read-only zero (WPRI).
    CASE(8)
    CHECK_CSR_FIELD(CSR_HSTATUS, ~HSTATUS_KNOWN, 0)
#endif
    // VSXL (WARL) holds 2 (VSXLEN = 64) when written so, and is never 0 or 3.
    CASE(9)
    li t0, HSTATUS_VSXL_64
    csrw CSR_HSTATUS, t0
    CHECK_CSR_FIELD(CSR_HSTATUS, HSTATUS_VSXL, HSTATUS_VSXL_64)

    // --- hedeleg / hideleg (§ "Hypervisor Trap Delegation") ----------------------------------------
    CASE(11)
    li t0, -1
    csrw CSR_HEDELEG, t0
    CHECK_CSR_FIELD(CSR_HEDELEG, HEDELEG_WRITABLE, HEDELEG_WRITABLE)
    CASE(12)
    CHECK_CSR_FIELD(CSR_HEDELEG, HEDELEG_ZERO, 0)   // ecalls from HS/VS/M, guest-page faults, virtual instruction
    csrw CSR_HEDELEG, zero
    CHECK_CSR(CSR_HEDELEG, 0)
    // hideleg: bits 10, 6, 2 writable; 12, 9, 5, 1 (S-level) read-only zero.
    CASE(13)
    li t0, -1
    csrw CSR_HIDELEG, t0
    CHECK_CSR_FIELD(CSR_HIDELEG, 0x1fff, MIP_VS_ALL)
    csrw CSR_HIDELEG, zero
    CHECK_CSR(CSR_HIDELEG, 0)

    // --- hvip, hip, hie and their mip/mie aliases (§ hvip/hip/hie, § mip/mie) ------------------------
    CASE(14)
    li t0, -1
    csrw CSR_HVIP, t0
    CHECK_CSR_FIELD(CSR_HVIP, 0xffff, MIP_VS_ALL)
    CASE(15)
    CHECK_CSR_FIELD(CSR_HIP, MIP_VS_ALL, MIP_VS_ALL)    // hip's VS bits reflect hvip
    CHECK_CSR_FIELD(mip, MIP_VS_ALL, MIP_VS_ALL)        // mip's VS bits are hip's
    CASE(16)
    csrw CSR_HVIP, zero
    CHECK_CSR_FIELD(CSR_HIP, MIP_VS_ALL | MIP_SGEIP, 0)
    CHECK_CSR_FIELD(mip, MIP_VS_ALL, 0)
    // hip.VSSIP is a writable alias of hvip.VSSIP...
    CASE(17)
    li t0, MIP_VSSIP
    csrs CSR_HIP, t0
    CHECK_CSR(CSR_HVIP, MIP_VSSIP)
    csrc CSR_HIP, t0
    CHECK_CSR(CSR_HVIP, 0)
    // ...and so is mip.VSSIP.
    CASE(18)
    li t0, MIP_VSSIP
    csrs mip, t0
    CHECK_CSR(CSR_HVIP, MIP_VSSIP)
    csrc mip, t0
    CHECK_CSR(CSR_HVIP, 0)
    // hip.VSTIP and VSEIP are read-only: they follow hvip, not writes to hip.
    CASE(19)
    li t0, MIP_VSTIP | MIP_VSEIP
    csrs CSR_HIP, t0
    CHECK_CSR_FIELD(CSR_HIP, MIP_VSTIP | MIP_VSEIP, 0)
    csrw CSR_HVIP, t0
    csrc CSR_HIP, t0
    CHECK_CSR_FIELD(CSR_HIP, MIP_VSTIP | MIP_VSEIP, MIP_VSTIP | MIP_VSEIP)
#if TRAPEZE_ISA_MIP_VS_READ_ONLY
    // ...and so are their mip aliases.
    CASE(10)
    csrc mip, t0
    CHECK_CSR_FIELD(mip, MIP_VSTIP | MIP_VSEIP, MIP_VSTIP | MIP_VSEIP)
    csrw CSR_HVIP, zero
    csrs mip, t0
    CHECK_CSR_FIELD(mip, MIP_VSTIP | MIP_VSEIP, 0)
    CHECK_CSR(CSR_HVIP, 0)
#endif
    csrw CSR_HVIP, zero
    // hie: VSEIE, VSTIE, VSSIE writable (SGEIE only with guest external interrupts).
    CASE(20)
    li t0, -1
    csrw CSR_HIE, t0
#if TRAPEZE_ISA_SGEIE_ZERO_WITHOUT_GEILEN || TRAPEZE_ISA_GEILEN > 0
    CHECK_CSR_FIELD(CSR_HIE, 0xffff, MIP_VS_ALL | (TRAPEZE_ISA_GEILEN > 0) * MIP_SGEIP)
#else
    CHECK_CSR_FIELD(CSR_HIE, 0xefff, MIP_VS_ALL)
#endif
    // mie's VS bits are hie's.
    CASE(21)
    CHECK_CSR_FIELD(mie, MIP_VS_ALL, MIP_VS_ALL)
    li t0, MIP_VS_ALL
    csrc mie, t0
    CHECK_CSR_FIELD(CSR_HIE, MIP_VS_ALL, 0)
    csrs mie, t0
    CHECK_CSR_FIELD(CSR_HIE, MIP_VS_ALL, MIP_VS_ALL)
#if TRAPEZE_ISA_SIE_HIDES_VS_BITS
    // sie/sip never show the VS-level bits, though mideleg delegates them (§ hip/hie).
    CASE(22)
    li t0, MIP_VS_ALL
    csrw CSR_HVIP, t0
    CHECK_CSR_FIELD(sie, MIP_VS_ALL | MIP_SGEIP, 0)
    CHECK_CSR_FIELD(sip, MIP_VS_ALL | MIP_SGEIP, 0)
#endif
    csrw CSR_HVIP, zero
    csrw CSR_HIE, zero
    csrw mie, zero

    // --- hgeip / hgeie (§ "Hypervisor Guest External Interrupt Registers") --------------------------
    CASE(23)
#if TRAPEZE_ISA_GEILEN == 0
    CHECK_CSR(CSR_HGEIP, 0)
#else
    CHECK_CSR_FIELD(CSR_HGEIP, 1, 0)
#endif
    CASE(24)
    li t0, -1
    csrw CSR_HGEIE, t0
    CHECK_CSR(CSR_HGEIE, (2 << TRAPEZE_ISA_GEILEN) - 2)   // bits GEILEN:1
    csrw CSR_HGEIE, zero
    // hgeip is read-only.
    CASE(25)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, 1: csrw CSR_HGEIP, zero)
    CHECK_MTVAL_INSN(1b)

    // --- hcounteren, htval, htinst, htimedelta, henvcfg ------------------------------------------------
#if TRAPEZE_ISA_HCOUNTEREN_32BIT
    CASE(26)
    li t0, -1
    csrw CSR_HCOUNTEREN, t0
    csrr a0, CSR_HCOUNTEREN
    srli a0, a0, 32                             // a 32-bit register
    CHECK(a0, 0)
#endif
    CASE(27)
    csrw CSR_HCOUNTEREN, zero
    CHECK_CSR(CSR_HCOUNTEREN, 0)
    CASE(28)
    csrw CSR_HTVAL, zero                        // both must be able to hold zero
    CHECK_CSR(CSR_HTVAL, 0)
    csrw CSR_HTINST, zero
    CHECK_CSR(CSR_HTINST, 0)
#if TRAPEZE_ISA_TIME_CSR
    // htimedelta: a 64-bit read/write register (required with the time CSR).
    CASE(29)
    li t0, VALUE_C
    csrw CSR_HTIMEDELTA, t0
    CHECK_CSR(CSR_HTIMEDELTA, VALUE_C)
    csrw CSR_HTIMEDELTA, zero
#endif
    CASE(30)
    csrw CSR_HENVCFG, zero
    CHECK_CSR(CSR_HENVCFG, 0)
#if TRAPEZE_ISA_HENVCFG_STCE_NEEDS_MENVCFG
    // henvcfg.STCE is read-only zero while menvcfg.STCE = 0 (Sstc)...
    CASE(31)
    csrw CSR_MENVCFG, zero
    li t0, HENVCFG_STCE
    csrs CSR_HENVCFG, t0
    CHECK_CSR_FIELD(CSR_HENVCFG, HENVCFG_STCE, 0)
#endif
    // ...and writable when menvcfg.STCE sticks (the hart has Sstc).
    CASE(32)
    li t0, MENVCFG_STCE
    csrs CSR_MENVCFG, t0
    csrr a1, CSR_MENVCFG
    srli a1, a1, 63
    li t0, HENVCFG_STCE
    csrs CSR_HENVCFG, t0
    csrr a0, CSR_HENVCFG
    srli a0, a0, 63
    CHECK_REG(a0, a1)
    csrw CSR_HENVCFG, zero
    csrw CSR_MENVCFG, zero

    // --- hgatp (§ hgatp) ------------------------------------------------------------------------------
    CASE(33)
    csrw CSR_HGATP, zero
    CHECK_CSR(CSR_HGATP, 0)
    // Sv39x4 with the 16 KiB-aligned root: MODE and PPN read back.
    CASE(34)
    li a0, (HGATP_MODE_SV39X4 << HGATP_MODE_SHIFT) | (0x3fff << HGATP_VMID_SHIFT)
    la a1, groot
    srli a2, a1, 12
    or a0, a0, a2
    csrw CSR_HGATP, a0
    csrr a0, CSR_HGATP
    srli a3, a0, HGATP_MODE_SHIFT
    CHECK(a3, HGATP_MODE_SV39X4)
    slli a3, a0, 20
    srli a3, a3, 20
    CHECK_REG(a3, a2)
    // VMID: the implemented bits are the least-significant ones (VMIDLEN of 0..14).
    CASE(35)
    srli a3, a0, HGATP_VMID_SHIFT
    li t0, 0x3fff
    and a3, a3, t0
    addi a4, a3, 1
    and a4, a4, a3
    CHECK(a4, 0)
#if TRAPEZE_ISA_HGATP_PPN_LOW_ZERO
    // In the paged modes PPN[1:0] read as zero (the root is 16 KiB).
    CASE(36)
    li a0, HGATP_MODE_SV39X4 << HGATP_MODE_SHIFT
    or a0, a0, a2
    ori a0, a0, 3
    csrw CSR_HGATP, a0
    csrr a0, CSR_HGATP
    slli a3, a0, 20
    srli a3, a3, 20
    CHECK_REG(a3, a2)
#endif
    CASE(37)
    WRITE_HGATP_MODE(HGATP_MODE_SV48X4)
#if TRAPEZE_ISA_SV48X4
    CHECK(a0, HGATP_MODE_SV48X4)
#else
    CHECK_HGATP_MODE_LEGAL
#endif
    CASE(38)
    WRITE_HGATP_MODE(HGATP_MODE_SV57X4)
#if TRAPEZE_ISA_SV57X4
    CHECK(a0, HGATP_MODE_SV57X4)
#else
    CHECK_HGATP_MODE_LEGAL
#endif
#if TRAPEZE_ISA_HGATP_MODE_WARL
    // A reserved MODE is not ignored as for satp: MODE is WARL, it reads as a supported one.
    CASE(39)
    WRITE_HGATP_MODE(1)
    CHECK_HGATP_MODE_LEGAL
    CASE(40)
    WRITE_HGATP_MODE(15)
    CHECK_HGATP_MODE_LEGAL
#endif
    // mstatus.TVM = 1: HS-mode may not access hgatp (illegal instruction), M-mode may...
    li t0, MSTATUS_TVM
    csrs mstatus, t0
    csrw CSR_HGATP, zero
#if TRAPEZE_ISA_TVM_TRAPS_HGATP
    CASE(41)
    RUN_IN(PRV_S, 1: csrr a0, CSR_HGATP)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(1b)
#endif
    // ...and vsatp stays accessible to HS-mode.
    TEST_NO_TRAP_IN(42, PRV_S, csrr a0, CSR_VSATP; csrw CSR_VSATP, zero)
    li t0, MSTATUS_TVM
    csrc mstatus, t0

    // --- the VS CSRs (§ vsstatus ... vsatp) -------------------------------------------------------------
    CASE(43)
    li t0, VSSTATUS_RW
    csrw CSR_VSSTATUS, t0
    CHECK_CSR_FIELD(CSR_VSSTATUS, VSSTATUS_RW, VSSTATUS_RW)
#if TRAPEZE_ISA_VSSTATUS_SD
    CHECK_CSR_FIELD(CSR_VSSTATUS, MSTATUS_SD, MSTATUS_SD)    // FS = Dirty: SD
#endif
    csrr a0, CSR_VSSTATUS
    srli a0, a0, 32
    andi a0, a0, 3
    CHECK(a0, 2)                                // UXL = 64 (the value any RV64 VS-mode gets)
    // vsstatus is not sstatus: mstatus did not change.
    CASE(44)
    CHECK_CSR_FIELD(mstatus, MSTATUS_SUM | MSTATUS_MXR | MSTATUS_SPP, 0)
    csrw CSR_VSSTATUS, zero
    CHECK_CSR_FIELD(CSR_VSSTATUS, VSSTATUS_RW | MSTATUS_SD, 0)
    CASE(45)
    li t0, VALUE_C
    csrw CSR_VSSCRATCH, t0
    CHECK_CSR(CSR_VSSCRATCH, VALUE_C)
    // vsepc holds what sepc holds: with C, bit 0 reads as zero.
    CASE(46)
    li t0, 0x80001235
    csrw CSR_VSEPC, t0
#if TRAPEZE_ISA_XEPC_BIT0_ZERO
    CHECK_CSR(CSR_VSEPC, 0x80001234)
#else
    CHECK_CSR_FIELD(CSR_VSEPC, ~1, 0x80001234)
#endif
    CASE(47)
    li t0, CAUSE_LOAD_PAGE_FAULT
    csrw CSR_VSCAUSE, t0
    CHECK_CSR(CSR_VSCAUSE, CAUSE_LOAD_PAGE_FAULT)
    li t0, CAUSE_INTERRUPT | 9
    csrw CSR_VSCAUSE, t0
    CHECK_CSR(CSR_VSCAUSE, CAUSE_INTERRUPT | 9)
    CASE(48)
    li t0, VALUE_B
    csrw CSR_VSTVAL, t0
    CHECK_CSR(CSR_VSTVAL, VALUE_B)
    CASE(49)
    la t0, vs_vector_table
    ori t0, t0, 1                               // vectored
    csrw CSR_VSTVEC, t0
    csrr a0, CSR_VSTVEC
    CHECK_REG(a0, t0)
    // vsatp: Sv39 with the root's PPN; satp is a different register.
    CASE(50)
    li a0, (SATP_MODE_SV39 << SATP_MODE_SHIFT)
    la a1, vroot
    srli a1, a1, 12
    or a0, a0, a1
    csrw CSR_VSATP, a0
    csrr a2, CSR_VSATP
    CHECK_REG(a2, a0)
    CHECK_CSR(satp, 0)
#if TRAPEZE_ISA_VSATP_MODE_LEGAL
    // A reserved MODE written while V=0: ignored, or WARL (a supported MODE).
    CASE(51)
    li a0, 1 << SATP_MODE_SHIFT
    csrw CSR_VSATP, a0
    csrr a0, CSR_VSATP
    srli a0, a0, SATP_MODE_SHIFT
    beqz a0, 1f
    li t0, SATP_MODE_SV39
    bltu a0, t0, 2f
    li t0, SATP_MODE_SV57
    bleu a0, t0, 1f
2:  j fail
1:
#endif
    csrw CSR_VSATP, zero
    // vsie/vsip: read-only zero where hideleg is 0...
    CASE(52)
    li t0, -1
    csrw CSR_VSIE, t0
    CHECK_CSR(CSR_VSIE, 0)
    CHECK_CSR(CSR_HIE, 0)
    csrs CSR_VSIP, t0
    CHECK_CSR(CSR_VSIP, 0)
    CHECK_CSR(CSR_HVIP, 0)
    // ...else vsie.SEIE/STIE/SSIE (9, 5, 1) alias hie.VSEIE/VSTIE/VSSIE (10, 6, 2).
    CASE(53)
    li t0, MIP_VS_ALL
    csrw CSR_HIDELEG, t0
    li t0, MIP_SSIP | MIP_STIP | MIP_SEIP
    csrw CSR_VSIE, t0
    CHECK_CSR(CSR_HIE, MIP_VS_ALL)
    CHECK_CSR(CSR_VSIE, MIP_SSIP | MIP_STIP | MIP_SEIP)
    CASE(54)
    csrw CSR_HIE, zero
    CHECK_CSR(CSR_VSIE, 0)
    // vsip.SSIP aliases hip.VSSIP (writable); vsip.STIP/SEIP show hip.VSTIP/VSEIP (read-only).
    CASE(55)
    csrsi CSR_VSIP, MIP_SSIP
    CHECK_CSR(CSR_HVIP, MIP_VSSIP)
    CHECK_CSR(CSR_VSIP, MIP_SSIP)
    csrci CSR_VSIP, MIP_SSIP
    CHECK_CSR(CSR_HVIP, 0)
#if TRAPEZE_ISA_VSIP_SHOWS_VSTIP_VSEIP
    CASE(90)
    li t0, MIP_VSTIP | MIP_VSEIP
    csrw CSR_HVIP, t0
    CHECK_CSR(CSR_VSIP, MIP_STIP | MIP_SEIP)
    li t0, MIP_STIP | MIP_SEIP
    csrc CSR_VSIP, t0
    CHECK_CSR(CSR_VSIP, MIP_STIP | MIP_SEIP)
#endif
    csrw CSR_HVIP, zero
    csrw CSR_HIDELEG, zero

    // --- who may access them ------------------------------------------------------------------------------
    // From U-mode (V=0): illegal instruction, mtval = the instruction.
    CASE(56)
    RUN_IN(PRV_U, 1: csrr a0, CSR_HSTATUS)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(1b)
    CHECK_TRAP_MPV(0)
    TEST_TRAP_IN(57, PRV_U, CAUSE_ILLEGAL_INSTRUCTION, csrr a0, CSR_VSSTATUS)
    // From HS-mode: all of them.
    TEST_NO_TRAP_IN(58, PRV_S, csrr a0, CSR_HSTATUS; csrr a0, CSR_VSSTATUS; csrr a0, CSR_HGATP; \
                    csrr a0, CSR_HIP; csrr a0, CSR_VSATP; csrr a0, CSR_HTVAL)
    // From VS-mode: virtual instruction (22), mtval = the instruction, MPV = 1.
    CASE(59)
    csrw CSR_MTINST, zero
    li t0, -1
    csrw CSR_MTVAL2, t0
    RUN_IN_V(PRV_S, 1: csrr a0, CSR_HSTATUS)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(1b)
    CHECK_TRAP_MPV(1)
#if TRAPEZE_ISA_GVA_EXACT
    CHECK_TRAP_GVA(0)                           // no guest virtual address in mtval
#endif
    CASE(60)
    RUN_IN_V(PRV_S, 2: csrw CSR_HGATP, zero)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(2b)
    CASE(61)
    RUN_IN_V(PRV_S, 3: csrr a0, CSR_VSSTATUS)   // a VS CSR by its own number
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(3b)
    TEST_TRAP_IN_V(62, PRV_S, CAUSE_VIRTUAL_INSTRUCTION, csrr a0, CSR_VSATP)
    // Machine CSRs are not HS-qualified: illegal instruction.
    CASE(63)
    RUN_IN_V(PRV_S, 4: csrr a0, CSR_MTVAL2)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(4b)
    TEST_TRAP_IN_V(64, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, csrr a0, mstatus)
    // Writing read-only hgeip is illegal in HS-mode too, so it is illegal in VS; reading it is not.
    TEST_TRAP_IN_V(65, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, csrw CSR_HGEIP, a0)
    TEST_TRAP_IN_V(66, PRV_S, CAUSE_VIRTUAL_INSTRUCTION, csrr a0, CSR_HGEIP)
    // From VU-mode: H, VS and S CSRs all raise virtual instruction; M CSRs illegal instruction.
    CASE(67)
    RUN_IN_V(PRV_U, 5: csrr a0, CSR_HSTATUS)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(5b)
    CHECK_TRAP_MPV(1)
    TEST_TRAP_IN_V(68, PRV_U, TRAPEZE_ISA_VU_SUPERVISOR_CAUSE, csrr a0, sstatus)
    TEST_TRAP_IN_V(69, PRV_U, TRAPEZE_ISA_VU_SUPERVISOR_CAUSE, csrw sscratch, a0)
    TEST_TRAP_IN_V(70, PRV_U, CAUSE_ILLEGAL_INSTRUCTION, csrr a0, mstatus)
    // A virtual-instruction trap writes zero to mtinst (no transformation is defined for it)
    // and to mtval2 (not a guest-page fault).
    CASE(71)
    li t0, -1
    csrw CSR_MTINST, t0
    csrw CSR_MTVAL2, t0
    RUN_IN_V(PRV_S, csrr a0, CSR_HSTATUS)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_CSR(CSR_MTINST, 0)
    CHECK_CSR(CSR_MTVAL2, 0)

    // --- while V=1 the supervisor CSRs are the VS CSRs --------------------------------------------------
    CASE(72)
    li t0, VALUE_A
    csrw sscratch, t0
    li t0, VALUE_B
    csrw CSR_VSSCRATCH, t0
    RUN_IN_V(PRV_S, csrr a0, sscratch; li a1, VALUE_C; csrw sscratch, a1)
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, VALUE_B)
    CHECK_CSR(CSR_VSSCRATCH, VALUE_C)
    CHECK_CSR(sscratch, VALUE_A)
    CASE(73)
    li t0, 0x80002000
    csrw sepc, t0
    RUN_IN_V(PRV_S, li a1, 0x80003000; csrw sepc, a1; csrr a0, sepc)
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, 0x80003000)
    CHECK_CSR(CSR_VSEPC, 0x80003000)
    CHECK_CSR(sepc, 0x80002000)
    CASE(74)
    li t0, 5
    csrw scause, t0
    RUN_IN_V(PRV_S, li a1, 7; csrw scause, a1)
    CHECK_CSR(CSR_VSCAUSE, 7)
    CHECK_CSR(scause, 5)
    CASE(75)
    csrw stval, zero
    RUN_IN_V(PRV_S, li a1, VALUE_A; csrw stval, a1)
    CHECK_CSR(CSR_VSTVAL, VALUE_A)
    CHECK_CSR(stval, 0)
    CASE(76)
    RUN_IN_V(PRV_S, la a1, vs_vector_table; csrw stvec, a1)
    la a0, vs_vector_table
    csrr a1, CSR_VSTVEC
    CHECK_REG(a0, a1)
    la a0, strap_vector
    csrr a1, stvec
    CHECK_REG(a0, a1)
    CASE(77)
    li t0, MSTATUS_MXR
    csrw CSR_VSSTATUS, t0
    RUN_IN_V(PRV_S, csrr a0, sstatus; li a1, MSTATUS_SUM; csrs sstatus, a1)
    CHECK_RAN_TO_END_V(PRV_S)
    li t0, MSTATUS_MXR | MSTATUS_SUM
    and a0, a0, t0
    CHECK(a0, MSTATUS_MXR)                      // read vsstatus
    CHECK_CSR_FIELD(CSR_VSSTATUS, MSTATUS_MXR | MSTATUS_SUM, MSTATUS_MXR | MSTATUS_SUM)
    CHECK_CSR_FIELD(mstatus, MSTATUS_MXR | MSTATUS_SUM, 0)
    csrw CSR_VSSTATUS, zero
    // sie reaches vsie (hence hie where hideleg delegates), not the HS-level sie.
    CASE(78)
    li t0, MIP_VS_ALL
    csrw CSR_HIDELEG, t0
    RUN_IN_V(PRV_S, li a1, MIP_SSIP | MIP_STIP | MIP_SEIP; csrw sie, a1; csrr a0, sie)
    CHECK_RAN_TO_END_V(PRV_S)
#if TRAPEZE_ISA_VS_READS_SIE_SIP
    CHECK(a0, MIP_SSIP | MIP_STIP | MIP_SEIP)
#endif
    CHECK_CSR(CSR_HIE, MIP_VS_ALL)
    CHECK_CSR_FIELD(mie, MIP_SSIP | MIP_STIP | MIP_SEIP, 0)
    csrw CSR_HIE, zero
    // sip reaches vsip: VS-mode's SSIP is hvip.VSSIP.
    CASE(79)
    RUN_IN_V(PRV_S, csrsi sip, MIP_SSIP)
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK_CSR(CSR_HVIP, MIP_VSSIP)
    CHECK_CSR_FIELD(mip, MIP_SSIP, 0)
    csrw CSR_HVIP, zero
    csrw CSR_HIDELEG, zero
    // satp reaches vsatp (here an identity map of the image: VS-mode goes on running).
    SET_VROOT
    CASE(80)
    li a1, (SATP_MODE_SV39 << SATP_MODE_SHIFT)
    la a2, vroot
    srli a2, a2, 12
    or a1, a1, a2
    RUN_IN_V(PRV_S, csrw satp, a1; sfence.vma; csrr a0, satp)
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK_REG(a0, a1)
    csrr a0, CSR_VSATP
    CHECK_REG(a0, a1)
    CHECK_CSR(satp, 0)
    // While V=1 a write of a reserved MODE to satp is ignored: vsatp keeps its value.
    CASE(81)
    RUN_IN_V(PRV_S, li a2, 1 << SATP_MODE_SHIFT; csrw satp, a2)
    CHECK_RAN_TO_END_V(PRV_S)
    csrr a0, CSR_VSATP
    CHECK_REG(a0, a1)
    csrw CSR_VSATP, zero
#if TRAPEZE_ISA_TVM_IGNORED_IN_VS
    // mstatus.TVM only affects HS-mode...
    CASE(82)
    li t0, MSTATUS_TVM
    csrs mstatus, t0
    RUN_IN_V(PRV_S, csrr a0, satp; csrw satp, zero)
    CHECK_RAN_TO_END_V(PRV_S)
    li t0, MSTATUS_TVM
    csrc mstatus, t0
#endif
    // ...hstatus.VTVM only VS-mode: satp raises virtual instruction.
    li t0, HSTATUS_VTVM
    csrs CSR_HSTATUS, t0
#if TRAPEZE_ISA_VTVM_TRAPS_SATP
    CASE(83)
    RUN_IN_V(PRV_S, 6: csrr a0, satp)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(6b)
#endif
    TEST_NO_TRAP_IN(84, PRV_S, csrr a0, satp; csrw satp, zero)
    li t0, HSTATUS_VTVM
    csrc CSR_HSTATUS, t0

    // --- counters: mcounteren, then hcounteren (and scounteren for VU) --------------------------------
    li t0, COUNT_CY | COUNT_IR
    csrw mcounteren, t0
    csrw CSR_HCOUNTEREN, zero
    csrw scounteren, zero
    CASE(85)
    RUN_IN_V(PRV_S, 7: csrr a0, cycle)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(7b)
    li t0, COUNT_CY | COUNT_IR
    csrw CSR_HCOUNTEREN, t0
    TEST_NO_TRAP_IN_V(86, PRV_S, csrr a0, cycle; csrr a0, instret)
    // VU-mode needs scounteren as well.
    TEST_TRAP_IN_V(87, PRV_U, CAUSE_VIRTUAL_INSTRUCTION, csrr a0, instret)
    csrw scounteren, t0
    TEST_NO_TRAP_IN_V(88, PRV_U, csrr a0, cycle; csrr a0, instret)
    // Without mcounteren: illegal instruction, whatever hcounteren says.
    csrw mcounteren, zero
    TEST_TRAP_IN_V(89, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, csrr a0, cycle)
    csrw CSR_HCOUNTEREN, zero
    csrw scounteren, zero
TEST_END

    .text
    .balign 256
vs_vector_table:
    j fail

    .bss
    .balign 16384
groot: .space 16384
vroot: .space 4096
