// hyp_trap.S — traps and privileged instructions with the hypervisor extension (priv spec ch.
// "Hypervisor Extension", H v1.0): entering VS/VU-mode with mret (mstatus.MPV) and sret
// (hstatus.SPV), trap entry to M (MPV, GVA, mtval2, mtinst), to HS through medeleg (hstatus.SPV/
// SPVP/GVA, § "Trap Entry") and to VS through hedeleg (vsepc/vscause/vstval/vsstatus), sret in
// VS, the virtual-instruction exception (22, § "Trap Cause Codes") for sret (VTSR), wfi (VTW),
// sfence.vma (VTVM), the hypervisor instructions and supervisor instructions in VU-mode, and
// the virtual-machine loads and stores HLV/HLVX/HSV (§ "Hypervisor Virtual-Machine Load and
// Store Instructions"): who may execute them (HS, M, U with hstatus.HU) and how they access
// memory (as VS or VU per hstatus.SPVP, two-stage, vsstatus.SUM/MXR, HS-level MXR, not MPRV).
// G-stage translation is Bare here (hyp_gstage.S covers it); HLV goes through a VS-stage Sv39.
//
//   cases  1-7   entering/leaving V=1, traps to M     8-18, 90  delegation to HS and VS
//         19-27  sret (SPV, VTSR, TSR)                28-31 wfi (VTW, TW)
//         32-36  sfence.vma (VTVM)                    37-42 hfence.vvma/gvma
//         43-46  who may use HLV/HSV                  47-66 what HLV/HLVX/HSV access
#include "test_macros.h"

// 1 = an mret with MPP = M ignores MPV: it stays in M-mode with V=0 (§ "Trap Return").
#ifndef TRAPEZE_ISA_MRET_MPP_M_IGNORES_MPV
#define TRAPEZE_ISA_MRET_MPP_M_IGNORES_MPV 1
#endif
// 1 = an exception delegated to VS-mode keeps its cause.
#ifndef TRAPEZE_ISA_VS_EXCEPTION_CAUSE_KEPT
#define TRAPEZE_ISA_VS_EXCEPTION_CAUSE_KEPT 1
#endif
// 1 = the virtual-/illegal-instruction trap of an HLV (VS-mode, U-mode without HU) writes the
// instruction to mtval.
#ifndef TRAPEZE_ISA_HLV_TRAP_MTVAL
#define TRAPEZE_ISA_HLV_TRAP_MTVAL 1
#endif
// What an HLV/HSV gets when the VS-stage permissions refuse it: a load/store page fault.
#ifndef TRAPEZE_ISA_HLV_PAGE_FAULT_CAUSE
#define TRAPEZE_ISA_HLV_PAGE_FAULT_CAUSE CAUSE_LOAD_PAGE_FAULT
#endif
#ifndef TRAPEZE_ISA_HSV_PAGE_FAULT_CAUSE
#define TRAPEZE_ISA_HSV_PAGE_FAULT_CAUSE CAUSE_STORE_PAGE_FAULT
#endif
// 1 = an HLV acting as VS-mode (SPVP = 1) may read a U page only with vsstatus.SUM = 1.
#ifndef TRAPEZE_ISA_HLV_VS_NEEDS_SUM
#define TRAPEZE_ISA_HLV_VS_NEEDS_SUM 1
#endif
// 1 = HLVX needs execute permission (and not read permission) in the translation.
#ifndef TRAPEZE_ISA_HLVX_NEEDS_X
#define TRAPEZE_ISA_HLVX_NEEDS_X 1
#endif
// 1 = vsstatus.MXR applies to HLV's VS-stage translation.
#ifndef TRAPEZE_ISA_HLV_VSSTATUS_MXR
#define TRAPEZE_ISA_HLV_VSSTATUS_MXR 1
#endif
// 1 = hstatus.VTVM = 1 makes sfence.vma in VS-mode raise virtual instruction.
#ifndef TRAPEZE_ISA_VTVM_TRAPS_SFENCE
#define TRAPEZE_ISA_VTVM_TRAPS_SFENCE 1
#endif

#define ILLEGAL_OP 0xfe000033                   // add with funct7 = 0x7f: reserved
#define VA_U 0x40000000                         // VS-stage: U page, RW
#define VA_S 0x40001000                         // VS-stage: S page, RW
#define VA_X 0x40002000                         // VS-stage: U page, execute-only
#define VA_RO 0x40003000                        // VS-stage: U page, read-only (page_u)
#define VALUE_U 0x8877665544332211
#define VALUE_S 0x1122334455667788
#define VALUE_SIGNED 0x8000000080808080         // at offset 8 of page_u

#define RWXAD (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define RWAD (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

// table[index] = leaf or pointer to the page at symbol `sym` (clobbers a3, a4, a5).
#define SET_PTE(table, index, sym, flags) \
    la a3, sym;                           \
    srli a4, a3, 12;                      \
    slli a4, a4, PTE_PPN_SHIFT;           \
    li a5, flags;                         \
    or a4, a4, a5;                        \
    la a5, table;                         \
    sd a4, (index) * 8(a5)

// Fails unless the S-mode trap recorded scause `cause` at sepc `label` (stval not checked).
#define CHECK_STRAP(cause, label) \
    CHECK_SCAUSE(cause);          \
    ld t5, strap_sepc;            \
    la t6, label;                 \
    CHECK_REG(t5, t6)
// Fails unless the recorded stval is the instruction at `label`.
#define CHECK_STVAL_INSN(label) \
    la t6, label;               \
    lwu t6, 0(t6);              \
    ld t5, strap_stval;         \
    CHECK_REG(t5, t6)
// Fails unless the recorded sstatus (HS-level or vsstatus) has SPP = v.
#define CHECK_STRAP_SPP(v)     \
    ld t5, strap_sstatus;      \
    srli t5, t5, 8;            \
    andi t5, t5, 1;            \
    CHECK(t5, v)
// Fails unless hstatus.SPV/SPVP/GVA == v.
#define CHECK_HSTATUS_BIT(bit, v) CHECK_CSR_FIELD(CSR_HSTATUS, bit, (v) * (bit))
// Sets hstatus.SPVP to v.
#define SET_SPVP(v)              \
    li t0, HSTATUS_SPVP;         \
    .if (v);                     \
    csrs CSR_HSTATUS, t0;        \
    .else;                       \
    csrc CSR_HSTATUS, t0;        \
    .endif

TEST_BEGIN
    la t0, strap_vector                         // VS-mode's traps are recorded like HS-mode's
    csrw CSR_VSTVEC, t0
    csrw CSR_HSTATUS, zero
    li t0, HSTATUS_VSXL_64
    csrs CSR_HSTATUS, t0
    csrw CSR_HEDELEG, zero
    csrw CSR_HIDELEG, zero
    csrw CSR_HVIP, zero
    csrw CSR_HIE, zero
    csrw CSR_HGATP, zero
    csrw CSR_VSATP, zero
    csrw CSR_VSSTATUS, zero

    // --- entering and leaving V=1 -----------------------------------------------------------------
    // mret with MPV = 1 and MPP = S enters VS-mode; its ecall is cause 10 and sets MPV, MPP = S.
    CASE(1)
    RUN_IN_V(PRV_S, nop)
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK_TRAP_MPV(1)
    ld a0, trap_mstatus
    srli a0, a0, 11
    andi a0, a0, 3
    CHECK(a0, PRV_S)
    // MPP = U: VU-mode, whose ecall is cause 8.
    CASE(2)
    RUN_IN_V(PRV_U, nop)
    CHECK_RAN_TO_END_V(PRV_U)
    CHECK_TRAP_MPV(1)
    ld a0, trap_mstatus
    srli a0, a0, 11
    andi a0, a0, 3
    CHECK(a0, PRV_U)
#if TRAPEZE_ISA_MRET_MPP_M_IGNORES_MPV
    // mret sets MPV = 0; with MPP = M it stays in M-mode and V=0 (the HS-level sscratch is seen).
    CASE(3)
    li t0, 0x5151
    csrw sscratch, t0
    li t0, 0x7373
    csrw CSR_VSSCRATCH, t0
    li t0, MSTATUS_MPP | MSTATUS_MPV
    csrs mstatus, t0
    la t0, 1f
    csrw mepc, t0
    mret
1:  CHECK_CSR_FIELD(mstatus, MSTATUS_MPV, 0)
    CHECK_CSR(sscratch, 0x5151)
    li t0, MSTATUS_MPP
    csrs mstatus, t0
#endif
    // An ecall from VS-mode writes zero to mtval, mtval2 and mtinst.
    CASE(4)
    li t0, -1
    csrw CSR_MTVAL2, t0
    csrw CSR_MTINST, t0
    RUN_IN_V(PRV_S, nop)
    CHECK_MTVAL(0)
    CHECK_CSR(CSR_MTVAL2, 0)
    CHECK_CSR(CSR_MTINST, 0)
#if TRAPEZE_ISA_GVA_EXACT
    CHECK_TRAP_GVA(0)
#endif
    // ebreak in VS-mode: if mtval holds the (guest virtual) pc, GVA = 1, else GVA = 0.
    CASE(5)
    RUN_IN_V(PRV_S, 2: ebreak)
    CHECK_MCAUSE(CAUSE_BREAKPOINT)
    CHECK_MEPC(2b)
    CHECK_TRAP_MPV(1)
    ld a0, trap_mtval
    beqz a0, 3f
    CHECK_MTVAL_ADDR(2b)
    CHECK_TRAP_GVA(1)
    j 4f
3:
#if TRAPEZE_ISA_GVA_EXACT
    CHECK_TRAP_GVA(0)
#endif
4:
    // An illegal instruction in VS-mode goes to M-mode (nothing delegated): mtval = it.
    CASE(6)
    RUN_IN_V(PRV_S, 5: .word ILLEGAL_OP)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(5b)
    CHECK_MEPC(5b)
    CHECK_TRAP_MPV(1)
    // mret is not HS-qualified: illegal instruction in VS- and VU-mode.
    CASE(7)
    RUN_IN_V(PRV_S, 6: mret)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(6b)
    RUN_IN_V(PRV_U, mret)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)

    // --- delegation: medeleg to HS-mode, then hedeleg to VS-mode ------------------------------------
    li t0, 1 << CAUSE_ILLEGAL_INSTRUCTION
    csrw medeleg, t0
    // From VS-mode to HS-mode: SPV = 1, SPVP = SPP = 1 (VS), sepc/scause/stval, htval = 0.
    CASE(8)
    li t0, -1
    csrw CSR_HTVAL, t0
    csrw CSR_HTINST, t0
    RUN_IN_V(PRV_S, 1: .word ILLEGAL_OP)
    CHECK_MCAUSE(CAUSE_ECALL_S)                 // the HS handler's ecall
    CHECK_TRAP_MPV(0)
    CHECK_STRAP(CAUSE_ILLEGAL_INSTRUCTION, 1b)
    CHECK_STVAL_INSN(1b)
    CHECK_STRAP_SPP(1)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 1)
    CHECK_HSTATUS_BIT(HSTATUS_SPVP, 1)
#if TRAPEZE_ISA_GVA_EXACT
    CHECK_HSTATUS_BIT(HSTATUS_GVA, 0)
#endif
    CHECK_CSR(CSR_HTVAL, 0)
    CHECK_CSR(CSR_HTINST, 0)
    // From VU-mode: SPV = 1, SPVP = SPP = 0.
    CASE(9)
    RUN_IN_V(PRV_U, 2: .word ILLEGAL_OP)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_STRAP(CAUSE_ILLEGAL_INSTRUCTION, 2b)
    CHECK_STRAP_SPP(0)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 1)
    CHECK_HSTATUS_BIT(HSTATUS_SPVP, 0)
    // From HS-mode (V=0): SPV = 0 and SPVP left as it was (1, then 0).
    CASE(10)
    SET_SPVP(1)
    RUN_IN(PRV_S, 3: .word ILLEGAL_OP)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_STRAP(CAUSE_ILLEGAL_INSTRUCTION, 3b)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 0)
    CHECK_HSTATUS_BIT(HSTATUS_SPVP, 1)
    CASE(11)
    SET_SPVP(0)
    RUN_IN(PRV_U, .word ILLEGAL_OP)             // from U-mode (V=0) likewise
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_STRAP_SPP(0)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 0)
    CHECK_HSTATUS_BIT(HSTATUS_SPVP, 0)
    SET_SPVP(1)
    RUN_IN(PRV_S, .word ILLEGAL_OP)
    CHECK_HSTATUS_BIT(HSTATUS_SPVP, 1)
    // With hedeleg too: from VS-mode to VS-mode (vsepc, vscause, vstval, vsstatus.SPP = 1);
    // hstatus and the HS-level CSRs are left alone. (A breakpoint: see case 90.)
    li t0, 1 << CAUSE_BREAKPOINT
    csrw medeleg, t0
    csrw CSR_HEDELEG, t0
    CASE(12)
    csrw CSR_HSTATUS, zero
    li t0, HSTATUS_VSXL_64
    csrs CSR_HSTATUS, t0
    li t0, 0x55
    csrw scause, t0
    csrw sepc, zero
    csrw stval, zero
    RUN_IN_V(PRV_S, 4: ebreak)
    CHECK_MCAUSE(CAUSE_ECALL_VS)                // the VS handler's ecall
    CHECK_STRAP(CAUSE_BREAKPOINT, 4b)           // as the handler read them: vscause, vsepc
    CHECK_STRAP_SPP(1)                          // vsstatus.SPP
    CHECK_CSR(CSR_VSCAUSE, CAUSE_BREAKPOINT)
    la a0, 4b
    csrr a1, CSR_VSEPC
    CHECK_REG(a0, a1)
    csrr a1, CSR_VSTVAL                         // the pc, or 0
    beqz a1, 1f
    CHECK_REG(a0, a1)
1:  CHECK_CSR(scause, 0x55)
    CHECK_CSR(sepc, 0)
    CHECK_CSR(stval, 0)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 0)
    // From VU-mode: vsstatus.SPP = 0.
    CASE(13)
    RUN_IN_V(PRV_U, 5: ebreak)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    CHECK_STRAP(CAUSE_BREAKPOINT, 5b)
    CHECK_STRAP_SPP(0)
    CHECK_CSR(scause, 0x55)
    // hedeleg does not apply while V=0: HS-mode's trap stays in HS-mode.
    CASE(14)
    RUN_IN(PRV_S, ebreak)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_SCAUSE(CAUSE_BREAKPOINT)
    // A trap into VS-mode moves vsstatus.SIE to SPIE and clears SIE.
    CASE(15)
    li t0, MSTATUS_SIE
    csrw CSR_VSSTATUS, t0
    RUN_IN_V(PRV_S, ebreak)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    ld a0, strap_sstatus
    andi a0, a0, MSTATUS_SIE | MSTATUS_SPIE
    CHECK(a0, MSTATUS_SPIE)
    CHECK_CSR_FIELD(CSR_VSSTATUS, MSTATUS_SIE | MSTATUS_SPIE, MSTATUS_SPIE)
    csrw CSR_VSSTATUS, zero
#if TRAPEZE_ISA_VS_EXCEPTION_CAUSE_KEPT
    // An illegal instruction delegated to VS-mode keeps its cause 2 (only the VS-level
    // interrupts 2, 6, 10 are translated), vstval = the instruction.
    CASE(90)
    li t0, 1 << CAUSE_ILLEGAL_INSTRUCTION
    csrw medeleg, t0
    csrw CSR_HEDELEG, t0
    RUN_IN_V(PRV_S, 6: .word ILLEGAL_OP)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    CHECK_STRAP(CAUSE_ILLEGAL_INSTRUCTION, 6b)
    CHECK_STVAL_INSN(6b)
#endif
    // ecall from VU-mode delegated twice: VS-mode gets cause 8.
    CASE(16)
    li t0, (1 << CAUSE_ECALL_U)
    csrw medeleg, t0
    csrw CSR_HEDELEG, t0
    RUN_IN_V(PRV_U, 6: ecall)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    CHECK_STRAP(CAUSE_ECALL_U, 6b)
    // ecall from VS-mode (10) can go to HS-mode only: hedeleg[10] is read-only zero.
    CASE(17)
    li t0, (1 << CAUSE_ECALL_VS)
    csrw medeleg, t0
    li t0, -1
    csrw CSR_HEDELEG, t0
    RUN_IN_V(PRV_S, 7: ecall)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_STRAP(CAUSE_ECALL_VS, 7b)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 1)
    // Virtual instruction delegated: to HS-mode (hedeleg[22] is read-only zero), stval = it.
    CASE(18)
    li t0, (1 << CAUSE_VIRTUAL_INSTRUCTION)
    csrw medeleg, t0
    RUN_IN_V(PRV_S, 1: csrr a0, CSR_HSTATUS)
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_STRAP(CAUSE_VIRTUAL_INSTRUCTION, 1b)
    CHECK_STVAL_INSN(1b)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 1)
    csrw medeleg, zero
    csrw CSR_HEDELEG, zero

    // --- sret -------------------------------------------------------------------------------------
    // From HS-mode with SPV = 1: to VS-mode (SPP = 1) or VU-mode (SPP = 0); SPV is cleared.
    CASE(19)
    RUN_IN(PRV_S, la a1, 1f; csrw sepc, a1; li a1, HSTATUS_SPV; csrs CSR_HSTATUS, a1; \
           li a1, MSTATUS_SPP; csrs sstatus, a1; sret; 1: nop)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    CHECK_TRAP_MPV(1)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 0)
    CASE(20)
    RUN_IN(PRV_S, la a1, 2f; csrw sepc, a1; li a1, HSTATUS_SPV; csrs CSR_HSTATUS, a1; \
           li a1, MSTATUS_SPP; csrc sstatus, a1; sret; 2: nop)
    CHECK_MCAUSE(CAUSE_ECALL_U)
    CHECK_TRAP_MPV(1)
    // From M-mode (V=0 too): SPV selects V.
    CASE(21)
    ARM_TRAP(3f)
    la t0, 4f
    csrw sepc, t0
    li t0, HSTATUS_SPV
    csrs CSR_HSTATUS, t0
    li t0, MSTATUS_SPP
    csrs mstatus, t0
    sret
4:  ecall
3:  DISARM_TRAP
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 0)
    // In VS-mode: vsepc and vsstatus.SPP (0: VU-mode); vsstatus.SPP = 0, SPIE = 1 after.
    CASE(22)
    li t0, 0x1234
    csrw sepc, t0
    RUN_IN_V(PRV_S, la a1, 5f; csrw sepc, a1; li a1, MSTATUS_SPP; csrc sstatus, a1; sret; 5: nop)
    CHECK_MCAUSE(CAUSE_ECALL_U)
    CHECK_TRAP_MPV(1)
    CHECK_CSR_FIELD(CSR_VSSTATUS, MSTATUS_SPP | MSTATUS_SPIE, MSTATUS_SPIE)
    CHECK_CSR(sepc, 0x1234)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 0)
    // ...SPP = 1: stays in VS-mode, with SIE = SPIE.
    CASE(23)
    RUN_IN_V(PRV_S, la a1, 6f; csrw sepc, a1; li a1, MSTATUS_SPP | MSTATUS_SPIE; csrs sstatus, a1; \
             csrci sstatus, MSTATUS_SIE; sret; 6: csrr a0, sstatus)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    andi a0, a0, MSTATUS_SIE | MSTATUS_SPP
    CHECK(a0, MSTATUS_SIE)
    csrw CSR_VSSTATUS, zero
    // hstatus.VTSR = 1: sret in VS-mode raises virtual instruction.
    CASE(24)
    li t0, HSTATUS_VTSR
    csrs CSR_HSTATUS, t0
    RUN_IN_V(PRV_S, 7: sret)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(7b)
    TEST_NO_TRAP_IN(25, PRV_S, la a1, 1f; csrw sepc, a1; li a1, MSTATUS_SPP; csrs sstatus, a1; \
                    sret; 1: nop)               // VTSR does not affect HS-mode
    li t0, HSTATUS_VTSR
    csrc CSR_HSTATUS, t0
#if TRAPEZE_ISA_TVM_IGNORED_IN_VS
    // mstatus.TSR = 1 does not affect VS-mode...
    li t0, MSTATUS_TSR
    csrs mstatus, t0
    CASE(26)
    RUN_IN_V(PRV_S, la a1, 2f; csrw sepc, a1; li a1, MSTATUS_SPP; csrs sstatus, a1; sret; 2: nop)
    CHECK_MCAUSE(CAUSE_ECALL_VS)
    li t0, MSTATUS_TSR
    csrc mstatus, t0
#endif
    // sret in VU-mode: virtual instruction.
    CASE(27)
    RUN_IN_V(PRV_U, 3: sret)
    CHECK_MCAUSE(TRAPEZE_ISA_VU_SUPERVISOR_CAUSE)
    CHECK_MTVAL_INSN(3b)

    // --- wfi ------------------------------------------------------------------------------------------
    // hstatus.VTW = 1 (mstatus.TW = 0): wfi in VS-mode raises virtual instruction...
    li t0, HSTATUS_VTW
    csrs CSR_HSTATUS, t0
    CASE(28)
    RUN_IN_V(PRV_S, 1: wfi)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(1b)
    // ...mstatus.TW = 1 makes it an illegal instruction (TW affects every mode below M).
    CASE(29)
    li t0, MSTATUS_TW
    csrs mstatus, t0
    RUN_IN_V(PRV_S, 2: wfi)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(2b)
    li t0, MSTATUS_TW
    csrc mstatus, t0
    li t0, HSTATUS_VTW
    csrc CSR_HSTATUS, t0
    // wfi in VU-mode (TW = 0): virtual instruction.
    TEST_TRAP_IN_V(30, PRV_U, CAUSE_VIRTUAL_INSTRUCTION, wfi)
    // VTW = 0: wfi in VS-mode completes (here with a VS interrupt pending and enabled in vsie,
    // though vsstatus.SIE = 0, which wakes it without trapping).
    CASE(31)
    li t0, MIP_VSSIP
    csrw CSR_HIDELEG, t0
    csrw CSR_HIE, t0
    csrw CSR_HVIP, t0
    RUN_IN_V(PRV_S, wfi)
    CHECK_RAN_TO_END_V(PRV_S)
    csrw CSR_HVIP, zero
    csrw CSR_HIE, zero
    csrw CSR_HIDELEG, zero

    // --- sfence.vma -----------------------------------------------------------------------------------
#if TRAPEZE_ISA_VTVM_TRAPS_SFENCE
    li t0, HSTATUS_VTVM
    csrs CSR_HSTATUS, t0
    CASE(32)
    RUN_IN_V(PRV_S, 1: sfence.vma)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(1b)
    TEST_NO_TRAP_IN(33, PRV_S, sfence.vma)     // VTVM does not affect HS-mode
    li t0, HSTATUS_VTVM
    csrc CSR_HSTATUS, t0
#endif
    TEST_NO_TRAP_IN_V(34, PRV_S, sfence.vma; li a1, 0x1000; sfence.vma a1, zero)
#if TRAPEZE_ISA_TVM_IGNORED_IN_VS
    li t0, MSTATUS_TVM                          // TVM does not affect VS-mode
    csrs mstatus, t0
    TEST_NO_TRAP_IN_V(35, PRV_S, sfence.vma)
    li t0, MSTATUS_TVM
    csrc mstatus, t0
#endif
    TEST_TRAP_IN_V(36, PRV_U, TRAPEZE_ISA_VU_SUPERVISOR_CAUSE, sfence.vma)

    // --- hfence.vvma / hfence.gvma --------------------------------------------------------------------
    CASE(37)
    RUN_IN_V(PRV_S, 1: hfence.vvma)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(1b)
    CASE(38)
    RUN_IN_V(PRV_S, 2: hfence.gvma)
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    CHECK_MTVAL_INSN(2b)
    CASE(39)
    RUN_IN_V(PRV_U, hfence.vvma)
    CHECK_MCAUSE(TRAPEZE_ISA_VU_HFENCE_CAUSE)
    RUN_IN_V(PRV_U, hfence.gvma)
    CHECK_MCAUSE(TRAPEZE_ISA_VU_HFENCE_CAUSE)
    // U-mode (V=0): illegal instruction.
    CASE(40)
    RUN_IN(PRV_U, 3: hfence.vvma)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(3b)
    RUN_IN(PRV_U, hfence.gvma)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    // HS-mode and M-mode: fine, with or without operands.
    TEST_NO_TRAP_IN(41, PRV_S, hfence.vvma; hfence.gvma; li a1, 0x1000; li a2, 1; \
                    hfence.vvma a1, a2; hfence.gvma a1, a2)
    hfence.vvma
    hfence.gvma
    // mstatus.TVM = 1: hfence.gvma is illegal in HS-mode; hfence.vvma is not; M-mode may do both.
    li t0, MSTATUS_TVM
    csrs mstatus, t0
    CASE(42)
    RUN_IN(PRV_S, 4: hfence.gvma)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(4b)
    RUN_IN(PRV_S, hfence.vvma)
    CHECK_RAN_TO_END(PRV_S)
    hfence.gvma
    li t0, MSTATUS_TVM
    csrc mstatus, t0

    // --- who may use HLV/HLVX/HSV -----------------------------------------------------------------
    // V=1: virtual instruction.
    CASE(43)
    la a1, page_u
    RUN_IN_V(PRV_S, 1: hlv.d a0, (a1))
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
#if TRAPEZE_ISA_HLV_TRAP_MTVAL
    CHECK_MTVAL_INSN(1b)
#endif
    RUN_IN_V(PRV_S, hsv.d a0, (a1))
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    RUN_IN_V(PRV_U, hlvx.hu a0, (a1))
    CHECK_MCAUSE(CAUSE_VIRTUAL_INSTRUCTION)
    // U-mode with hstatus.HU = 0: illegal instruction.
    CASE(44)
    RUN_IN(PRV_U, 2: hlv.d a0, (a1))
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
#if TRAPEZE_ISA_HLV_TRAP_MTVAL
    CHECK_MTVAL_INSN(2b)
#endif
    RUN_IN(PRV_U, hsv.w a0, (a1))
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    // ...with HU = 1 (VS-stage and G-stage Bare: guest virtual = physical address): allowed.
    CASE(45)
    li t0, HSTATUS_HU
    csrs CSR_HSTATUS, t0
    SET_SPVP(0)
    li a0, 0
    RUN_IN(PRV_U, hlv.d a0, (a1))
    CHECK_RAN_TO_END(PRV_U)
    CHECK(a0, VALUE_U)
    li t0, HSTATUS_HU
    csrc CSR_HSTATUS, t0
    // HS-mode and M-mode.
    CASE(46)
    li a0, 0
    RUN_IN(PRV_S, hlv.d a0, (a1))
    CHECK_RAN_TO_END(PRV_S)
    CHECK(a0, VALUE_U)
    li a0, 0
    hlv.d a0, (a1)
    CHECK(a0, VALUE_U)

    // --- what HLV/HLVX/HSV access: VS-stage Sv39 (G-stage Bare) ------------------------------------------
    li a4, ((0x80000000 >> 12) << PTE_PPN_SHIFT) | RWXAD  // 0x80000000: the image, identity, not U
    la a5, vroot
    sd a4, 2 * 8(a5)
    SET_PTE(vroot, 1, vl1, PTE_V)
    SET_PTE(vl1, 0, vl0, PTE_V)
    SET_PTE(vl0, 0, page_u, RWAD | PTE_U)
    SET_PTE(vl0, 1, page_s, RWAD)
    SET_PTE(vl0, 2, xpage, PTE_V | PTE_X | PTE_A | PTE_U)
    SET_PTE(vl0, 3, page_u, PTE_V | PTE_R | PTE_A | PTE_U)
    li t0, SATP_MODE_SV39 << SATP_MODE_SHIFT
    la t1, vroot
    srli t1, t1, 12
    or t0, t0, t1
    csrw CSR_VSATP, t0
    hfence.vvma
    // SPVP = 0: accesses as VU-mode, to U pages only.
    SET_SPVP(0)
    CASE(47)
    li a1, VA_U
    hlv.d a0, (a1)
    CHECK(a0, VALUE_U)
    CASE(48)
    li a1, VA_S
    EXPECT_TRAP(TRAPEZE_ISA_HLV_PAGE_FAULT_CAUSE, hlv.d a0, (a1))
    CHECK_MTVAL(VA_S)
    CHECK_TRAP_MPV(0)                           // taken from M-mode...
    CHECK_TRAP_GVA(1)                           // ...with a guest virtual address in mtval
    CHECK_CSR(CSR_MTVAL2, 0)
    // SPVP = 1: as VS-mode, to S pages, and to U pages only with vsstatus.SUM.
    SET_SPVP(1)
    CASE(49)
    li a1, VA_S
    hlv.d a0, (a1)
    CHECK(a0, VALUE_S)
    li a1, VA_U
#if TRAPEZE_ISA_HLV_VS_NEEDS_SUM
    CASE(50)
    EXPECT_TRAP(CAUSE_LOAD_PAGE_FAULT, hlv.d a0, (a1))
    CHECK_MTVAL(VA_U)
#endif
    CASE(51)
    li t0, MSTATUS_SUM
    csrs CSR_VSSTATUS, t0
    hlv.d a0, (a1)
    CHECK(a0, VALUE_U)
    csrc CSR_VSSTATUS, t0
#if TRAPEZE_ISA_HLV_VS_NEEDS_SUM
    // The HS-level SUM does not apply.
    CASE(52)
    li t0, MSTATUS_SUM
    csrs mstatus, t0
    EXPECT_TRAP(CAUSE_LOAD_PAGE_FAULT, hlv.d a0, (a1))
    li t0, MSTATUS_SUM
    csrc mstatus, t0
#endif
    // hsv: stores through the same translation (and faults on a read-only page).
    SET_SPVP(0)
    CASE(53)
    li a1, VA_U
    li a0, 0x600d
    hsv.d a0, (a1)
    CHECK_MEM(page_u, 0x600d)
    la t0, page_u
    li t1, VALUE_U
    sd t1, 0(t0)
    CASE(54)
    li a1, VA_RO
    EXPECT_TRAP(TRAPEZE_ISA_HSV_PAGE_FAULT_CAUSE, hsv.d a0, (a1))
    CHECK_MTVAL(VA_RO)
    CHECK_TRAP_GVA(1)
    // hlvx needs execute permission instead of read: reads an execute-only page...
    li a1, VA_X
#if TRAPEZE_ISA_HLVX_NEEDS_X
    CASE(55)
    hlvx.hu a0, (a1)
    la t0, xpage
    lhu t0, 0(t0)
    CHECK_REG(a0, t0)
    hlvx.wu a0, (a1)
    la t0, xpage
    lwu t0, 0(t0)
    CHECK_REG(a0, t0)
#endif
    // ...which hlv may not read...
    CASE(56)
    EXPECT_TRAP(TRAPEZE_ISA_HLV_PAGE_FAULT_CAUSE, hlv.hu a0, (a1))
    CHECK_MTVAL(VA_X)
    // ...and faults on a page without X as a load (13), not as a fetch (12).
#if TRAPEZE_ISA_HLVX_NEEDS_X
    CASE(57)
    li a1, VA_U
    EXPECT_TRAP(TRAPEZE_ISA_HLV_PAGE_FAULT_CAUSE, hlvx.wu a0, (a1))
    CHECK_MTVAL(VA_U)
#endif
    // vsstatus.MXR makes the execute-only page readable by hlv...
    li a1, VA_X
#if TRAPEZE_ISA_HLV_VSSTATUS_MXR
    CASE(58)
    li t0, MSTATUS_MXR
    csrs CSR_VSSTATUS, t0
    hlv.wu a0, (a1)
    la t0, xpage
    lwu t0, 0(t0)
    CHECK_REG(a0, t0)
    li t0, MSTATUS_MXR
    csrc CSR_VSSTATUS, t0
#endif
    // ...and so does the HS-level MXR.
    CASE(59)
    li t0, MSTATUS_MXR
    csrs mstatus, t0
    hlv.wu a0, (a1)
    la t0, xpage
    lwu t0, 0(t0)
    CHECK_REG(a0, t0)
    li t0, MSTATUS_MXR
    csrc mstatus, t0
    // MPRV does not affect HLV: with MPRV = 1, MPV = 1, MPP = S (VS-level), hlv still acts as
    // SPVP = 0 (VU) says, and faults on the S page.
    CASE(60)
    li a1, VA_S
    li t0, MSTATUS_MPP
    csrc mstatus, t0
    li t0, MSTATUS_MPP_S | MSTATUS_MPV
    csrs mstatus, t0
    ARM_TRAP(1f)
    li t0, MSTATUS_MPRV
    csrs mstatus, t0
    hlv.d a0, (a1)
1:  DISARM_TRAP
    CHECK_MCAUSE(TRAPEZE_ISA_HLV_PAGE_FAULT_CAUSE)
    CHECK_MTVAL(VA_S)
    // ...while a plain load under the same MPRV is translated in two stages as VS-mode.
    CASE(61)
    li t0, MSTATUS_MPP
    csrc mstatus, t0
    li t0, MSTATUS_MPP_S | MSTATUS_MPV
    csrs mstatus, t0
    li t0, MSTATUS_MPRV
    csrs mstatus, t0
    ld a0, 0(a1)
    li t0, MSTATUS_MPRV
    csrc mstatus, t0
    CHECK(a0, VALUE_S)
    li t0, MSTATUS_MPP | MSTATUS_MPV
    csrs mstatus, t0
    li t0, MSTATUS_MPV
    csrc mstatus, t0
    // An HSV fault delegated to HS-mode: SPV = 0 (from HS-mode) but GVA = 1, stval = the address.
    li t0, 1 << TRAPEZE_ISA_HSV_PAGE_FAULT_CAUSE
    csrw medeleg, t0
    CASE(62)
    li a1, VA_RO
    RUN_IN(PRV_S, 2: hsv.d a0, (a1))
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_STRAP(TRAPEZE_ISA_HSV_PAGE_FAULT_CAUSE, 2b)
    CHECK_STVAL(VA_RO)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 0)
    CHECK_HSTATUS_BIT(HSTATUS_GVA, 1)
    CHECK_CSR(CSR_HTVAL, 0)                     // not a guest-page fault
    // ...and from U-mode with HU = 1.
    CASE(63)
    li t0, HSTATUS_HU
    csrs CSR_HSTATUS, t0
    RUN_IN(PRV_U, 3: hsv.w a0, (a1))
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_STRAP(TRAPEZE_ISA_HSV_PAGE_FAULT_CAUSE, 3b)
    CHECK_STRAP_SPP(0)
    CHECK_HSTATUS_BIT(HSTATUS_SPV, 0)
    CHECK_HSTATUS_BIT(HSTATUS_GVA, 1)
    li t0, HSTATUS_HU
    csrc CSR_HSTATUS, t0
    csrw medeleg, zero
    // Widths and sign extension of hlv.b/bu/h/hu/w/wu; hsv.b/h/w store only their width.
    CASE(64)
    li a1, VA_U + 8
    hlv.b a0, (a1)
    CHECK(a0, 0xffffffffffffff80)
    hlv.bu a0, (a1)
    CHECK(a0, 0x80)
    hlv.h a0, (a1)
    CHECK(a0, 0xffffffffffff8080)
    hlv.hu a0, (a1)
    CHECK(a0, 0x8080)
    CASE(65)
    hlv.w a0, (a1)
    CHECK(a0, 0xffffffff80808080)
    hlv.wu a0, (a1)
    CHECK(a0, 0x80808080)
    hlv.d a0, (a1)
    CHECK(a0, VALUE_SIGNED)
    CASE(66)
    li a0, 0x0102030405060708
    hsv.b a0, (a1)
    CHECK_MEM(page_u + 8, 0x8000000080808008)
    hsv.h a0, (a1)
    CHECK_MEM(page_u + 8, 0x8000000080800708)
    hsv.w a0, (a1)
    CHECK_MEM(page_u + 8, 0x8000000005060708)
    csrw CSR_VSATP, zero
    hfence.vvma
TEST_END

// An execute-only page (VA_X).
    .section .text.xpage, "ax", @progbits
    .balign 4096
xpage:
    li a0, 0x77
    ret
    .balign 4096

    .data
    .balign 4096
page_u:
    .dword VALUE_U
    .dword VALUE_SIGNED
    .balign 4096
page_s:
    .dword VALUE_S
    .balign 4096

    .bss
    .balign 4096
vroot: .space 4096
vl1: .space 4096
vl0: .space 4096
