// hyp_gstage.S — two-stage address translation (priv spec ch. "Hypervisor Extension", H v1.0,
// § "Two-Stage Address Translation", § hgatp, § "Guest-Page Faults", § "Transformed Instruction
// or Pseudoinstruction for mtinst or htinst"): G-stage Sv39x4 (16 KiB root, two extra GPA bits)
// with 4 KiB, 2 MiB and 1 GiB pages, G-stage PTEs needing U, guest-page faults for fetch/load/
// store-AMO (20/21/23) with mtval/stval = the guest virtual address and mtval2/htval = the guest
// physical address >> 2, to M-mode (MPV, GVA) or delegated to HS-mode (hstatus.SPV/SPVP/GVA;
// never to VS), faults of the VS-stage walk's implicit accesses (the PTE's address, the
// pseudoinstruction in mtinst/htinst: its reads, and the write of its A/D update, which the
// G-stage must permit; from V=1 and from HLV/HSV in M- and HS-mode), VS-stage Sv39 over G-stage
// with regular page faults going to VS through hedeleg, A/D updates in both stages, MXR at VS
// and HS level, hfence.gvma/hfence.vvma/sfence.vma after PTE changes, HLVX needing G-stage
// execute permission, and Sv48x4/Sv57x4.
//
// G-stage layout (Sv39x4, groot):
//   GPA 0x80000000 (1 GiB)       = PA 0x80000000, RWX U: the image, identity (VS code, data, VS tables)
//   GPA 0xc0000000 (1 GiB)       = PA 0x80000000, R U: read-only alias
//   GPA 0x8080000000 (1 GiB)     = PA 0x80000000, RW U: GPA bit 39 (root index 514, beyond Sv39)
//   GPA 0x10080000000 (1 GiB)    = PA 0x80000000, RW U: GPA bit 40 (root index 1026)
//   GPA 0x40000000 + n*4K        = gl0[n]: the 4 KiB cases (GPA(n) below)
//   GPA 0x40200000 (2 MiB)       = PA 0x80400000, RW U
// VS-stage layout (Sv39, vroot, used from case 22 on; VA = GPA elsewhere):
//   VA 0x80000000 (1 GiB) = GPA 0x80000000, RWX: the image
//   VA 0x40000000 + n*4K  = vl0[n]             VA 0x100000000: a pointer to GPA(3), G-invalid
//   VA 0x140000000 (2 MiB) = GPA_2M, a leaf in vl1_ad, which the walk reads through the
//                           G-stage read-only alias (cases 44-50)
//
//   cases  1-7, 42  translations         8-16  guest-page faults to M     17-19 delegated to HS
//         20-21  G-stage A/D          22-27 VS-stage over G-stage      28-30 VS-stage faults
//         31-33, 43  MXR                  34-36 fences                     37    HLVX
//         38-41  Sv48x4, Sv57x4             44-50 the VS-stage walk's implicit accesses from
//                                                    V=1 and from HLV/HSV in M- and HS-mode
#include "test_macros.h"
#include "page_tables.h"

#ifndef TRAPEZE_ISA_SV48X4
#define TRAPEZE_ISA_SV48X4 1
#endif
#ifndef TRAPEZE_ISA_SV57X4
#define TRAPEZE_ISA_SV57X4 1
#endif
// 1 = the hart sets A and D itself in both stages (as trapeze does); 0 = it faults instead.
#ifndef TRAPEZE_ISA_HW_AD
#define TRAPEZE_ISA_HW_AD 1
#endif
// 1 = a guest-page fault of the VS-stage walk's implicit access that writes the PTE's guest
// physical address to mtval2/htval writes the pseudoinstruction (0x00003000 for a 64-bit read)
// to mtinst/htinst, as the spec requires (zero is not allowed then).
#ifndef TRAPEZE_ISA_TINST_PSEUDO
#define TRAPEZE_ISA_TINST_PSEUDO 1
#endif
// 1 = the VS-stage walk's update of A/D in a PTE is a store for the G-stage: where the G-stage
// maps the PTE's page read-only it is a guest-page fault (of the original access type), whose
// mtval2/htval is zero or the PTE's guest physical address >> 2, and then mtinst/htinst is the
// pseudoinstruction of a 64-bit write (0x00003020).
#ifndef TRAPEZE_ISA_WALK_AD_GSTAGE_WRITE
#define TRAPEZE_ISA_WALK_AD_GSTAGE_WRITE 1
#endif
// The cause of an AMO's guest-page fault: store/AMO (23).
#ifndef TRAPEZE_ISA_AMO_GUEST_PAGE_FAULT_CAUSE
#define TRAPEZE_ISA_AMO_GUEST_PAGE_FAULT_CAUSE CAUSE_STORE_GUEST_PAGE_FAULT
#endif
// 1 = a guest-page fault on the VS-stage walk's (read) access is reported for the original
// access type (store 23, fetch 20); 0 = as a load (21).
#ifndef TRAPEZE_ISA_WALK_GPF_ORIGINAL_TYPE
#define TRAPEZE_ISA_WALK_GPF_ORIGINAL_TYPE 1
#endif
#if TRAPEZE_ISA_WALK_GPF_ORIGINAL_TYPE
#define WALK_STORE_CAUSE CAUSE_STORE_GUEST_PAGE_FAULT
#define WALK_FETCH_CAUSE CAUSE_FETCH_GUEST_PAGE_FAULT
#else
#define WALK_STORE_CAUSE CAUSE_LOAD_GUEST_PAGE_FAULT
#define WALK_FETCH_CAUSE CAUSE_LOAD_GUEST_PAGE_FAULT
#endif
// 1 = vsstatus.MXR affects the VS-stage only (not G-stage execute-only pages).
#ifndef TRAPEZE_ISA_VSSTATUS_MXR_VS_STAGE_ONLY
#define TRAPEZE_ISA_VSSTATUS_MXR_VS_STAGE_ONLY 1
#endif
// 1 = the HS-level mstatus.MXR applies to both stages while V=1.
#ifndef TRAPEZE_ISA_HS_MXR_IN_V
#define TRAPEZE_ISA_HS_MXR_IN_V 1
#endif
// 1 = Sv39x4 translates a GPA with bit 40 set (a 41-bit GPA, not sign-extended from bit 40).
#ifndef TRAPEZE_ISA_GPA_BIT40
#define TRAPEZE_ISA_GPA_BIT40 1
#endif
// 1 = HLVX needs execute permission (here: at the G-stage).
#ifndef TRAPEZE_ISA_HLVX_NEEDS_X
#define TRAPEZE_ISA_HLVX_NEEDS_X 1
#endif

#define GPA(n) (0x40000000 + (n) * 0x1000)
#define VA(n) (0x40000000 + (n) * 0x1000)
#define GPA_2M 0x40200000
#define GPA_RO_ALIAS 0x40000000                 // + PA: GPA 0xc0000000 + (PA - 0x80000000)
#define GPA_BIT39 0x8000000000                  // + PA
#define GPA_BIT40 0x10000000000                 // + PA
#define VA_BAD_TABLE 0x100000000
#define VA_AD 0x140000000                       // vroot[5]: the table vl1_ad, read-only at G

#define URWAD (RWAD | PTE_U)

// hgatp = mode | root, then hfence.gvma.
#define SET_HGATP(mode, root)                \
    li a4, (mode) << HGATP_MODE_SHIFT;       \
    la a5, root;                             \
    srli a5, a5, 12;                         \
    or a4, a4, a5;                           \
    csrw CSR_HGATP, a4;                      \
    hfence.gvma
// vsatp = Sv39 with root vroot, then hfence.vvma.
#define SET_VSATP                            \
    li t0, SATP_MODE_SV39 << SATP_MODE_SHIFT; \
    la t1, vroot;                            \
    srli t1, t1, 12;                         \
    or t0, t0, t1;                           \
    csrw CSR_VSATP, t0;                      \
    hfence.vvma
// A guest-page fault taken to M-mode from V=1: cause, mtval = va, mtval2 = gpa >> 2.
#define CHECK_GPF_M(cause, va, gpa) \
    CHECK_MCAUSE(cause);            \
    CHECK_MTVAL(va);                \
    CHECK_CSR(CSR_MTVAL2, (gpa) >> 2); \
    CHECK_TRAP_MPV(1);              \
    CHECK_TRAP_GVA(1)
// After a guest-page fault of the update of vl1_ad[0]'s A/D (which the walk reads through the
// read-only alias): fails unless the CSR tval2 (mtval2/htval) is zero, or the PTE's guest
// physical address >> 2 with the CSR tinst (mtinst/htinst) = 0x3020 (clobbers t4, t5, t6).
#define CHECK_AD_GPF_INFO(tval2, tinst) \
    csrr t4, tval2;                     \
    beqz t4, 7001f;                     \
    la t5, vl1_ad;                      \
    li t6, GPA_RO_ALIAS;                \
    add t5, t5, t6;                     \
    srli t5, t5, 2;                     \
    CHECK_REG(t4, t5);                  \
    CHECK_CSR(tinst, 0x3020);           \
    7001:
// Fails unless vl1_ad[0] has A/D = ad (the refused update left the PTE as it was).
#define CHECK_AD_PTE_BITS(ad)    \
    GET_PTE(vl1_ad, 0);          \
    andi a0, a0, PTE_A | PTE_D;  \
    CHECK(a0, ad)

TEST_BEGIN
    la t0, strap_vector
    csrw CSR_VSTVEC, t0
    li t0, HSTATUS_VSXL_64
    csrw CSR_HSTATUS, t0
    csrw CSR_VSATP, zero
    csrw CSR_VSSTATUS, zero
    // Page contents.
    FILL_TEST_PAGES
    // G-stage tables.
    SET_PTE_PA(groot, 2, 0x80000000, RWXAD | PTE_U)
    SET_PTE_PA(groot, 3, 0x80000000, PTE_V | PTE_R | PTE_A | PTE_U)
    SET_PTE_PA(groot, 514, 0x80000000, URWAD)
    SET_PTE_PA(groot, 1026, 0x80000000, URWAD)
    SET_PTE(groot, 1, gl1, PTE_V)
    SET_PTE(gl1, 0, gl0, PTE_V)
    SET_PTE_PA(gl1, 1, PA_2M, URWAD)
    SET_PTE(gl0, 0, page0, URWAD)                          // no X
    SET_PTE(gl0, 1, page0, PTE_V | PTE_R | PTE_A | PTE_U)  // read-only
    SET_PTE(gl0, 2, page0, RWAD)                           // no U
    // gl0[3] invalid
    SET_PTE(gl0, 4, xpage, PTE_V | PTE_X | PTE_A | PTE_U)  // execute-only
    SET_PTE(gl0, 5, page1, PTE_V | PTE_R | PTE_W | PTE_U)  // A = D = 0
    SET_PTE(gl0, 6, page2, URWAD)                          // remapped by the fence cases

    // --- translations --------------------------------------------------------------------------------
    CASE(1)
    SET_HGATP(HGATP_MODE_SV39X4, groot)
    csrr a0, CSR_HGATP
    srli a0, a0, HGATP_MODE_SHIFT
    CHECK(a0, HGATP_MODE_SV39X4)
    // VS-mode runs on the identity-mapped image (vsatp Bare: guest virtual = guest physical).
    TEST_NO_TRAP_IN_V(2, PRV_S, nop)
    // 4 KiB page: a load and a store, seen through the physical address.
    CASE(3)
    RUN_IN_V(PRV_S, li a1, GPA(0); ld a0, 0(a1); li a2, 0x5555; sd a2, 8(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, PAGE0_VALUE)
    CHECK_MEM(page0 + 8, 0x5555)
    // 2 MiB page.
    TEST_CASE(4, a0, VALUE_2M, RUN_IN_V(PRV_S, li a1, GPA_2M + 0x1238; ld a0, 0(a1)))
    // 1 GiB page (the read-only alias), from VU-mode too (G-stage accesses are all user-level).
    CASE(5)
    la a1, page0
    li a2, GPA_RO_ALIAS
    add a1, a1, a2
    RUN_IN_V(PRV_U, ld a0, 0(a1))
    CHECK_RAN_TO_END_V(PRV_U)
    CHECK(a0, PAGE0_VALUE)
    // GPA bit 39 (the first of the two bits beyond Sv39): root index 514, in the root's 2nd 4 KiB.
    CASE(6)
    la a1, page1
    li a2, GPA_BIT39
    add a1, a1, a2
    RUN_IN_V(PRV_S, ld a0, 0(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, PAGE1_VALUE)
#if TRAPEZE_ISA_GPA_BIT40
    // GPA bit 40 (the second): root index 1026, in the root's 3rd 4 KiB.
    CASE(42)
    la a1, page2
    li a2, GPA_BIT40
    add a1, a1, a2
    RUN_IN_V(PRV_S, ld a0, 0(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, PAGE2_VALUE)
#endif
    // Execute from a G-stage execute-only page.
    CASE(7)
    RUN_IN_V(PRV_S, li a1, GPA(4); jalr a1)
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, 0x77)

    // --- guest-page faults, taken to M-mode -----------------------------------------------------------
    CASE(8)
    RUN_IN_V(PRV_S, li a1, GPA(3); ld a0, 16(a1))            // invalid
    CHECK_GPF_M(CAUSE_LOAD_GUEST_PAGE_FAULT, GPA(3) + 16, GPA(3) + 16)
    CASE(9)
    RUN_IN_V(PRV_S, li a1, GPA(3); sd a0, 8(a1))
    CHECK_GPF_M(CAUSE_STORE_GUEST_PAGE_FAULT, GPA(3) + 8, GPA(3) + 8)
    CASE(10)
    RUN_IN_V(PRV_S, li a1, GPA(3); amoadd.d a0, a0, (a1))    // AMO = store
    CHECK_GPF_M(TRAPEZE_ISA_AMO_GUEST_PAGE_FAULT_CAUSE, GPA(3), GPA(3))
    CASE(11)
    RUN_IN_V(PRV_S, li a1, GPA(1); sw a0, 4(a1))             // read-only
    CHECK_GPF_M(CAUSE_STORE_GUEST_PAGE_FAULT, GPA(1) + 4, GPA(1) + 4)
    CASE(12)
    RUN_IN_V(PRV_S, li a1, GPA(2); ld a0, 0(a1))             // G-stage PTE without U
    CHECK_GPF_M(CAUSE_LOAD_GUEST_PAGE_FAULT, GPA(2), GPA(2))
    CASE(13)
    RUN_IN_V(PRV_S, li a1, GPA(0); jalr a1)                  // fetch without X: mepc = mtval
    CHECK_GPF_M(CAUSE_FETCH_GUEST_PAGE_FAULT, GPA(0), GPA(0))
    ld a0, trap_mepc
    CHECK(a0, GPA(0))
    CASE(14)
    RUN_IN_V(PRV_S, li a1, GPA(4); ld a0, 0(a1))             // execute-only
    CHECK_GPF_M(CAUSE_LOAD_GUEST_PAGE_FAULT, GPA(4), GPA(4))
    // A GPA beyond 41 bits (bits 63:41 must be zero).
    CASE(15)
    RUN_IN_V(PRV_S, li a1, 0x20000000000; ld a0, 0(a1))
    CHECK_GPF_M(CAUSE_LOAD_GUEST_PAGE_FAULT, 0x20000000000, 0x20000000000)
    // mtinst for an explicit load's guest-page fault: zero or the transformed load (the same
    // funct3/rd/opcode, address offset 0, no immediate).
    CASE(16)
    RUN_IN_V(PRV_S, li a1, GPA(3); 1: ld a0, 16(a1))
    CHECK_MCAUSE(CAUSE_LOAD_GUEST_PAGE_FAULT)
    csrr a0, CSR_MTINST
    beqz a0, 2f
    la a1, 1b
    lwu a1, 0(a1)
    li a2, 0x7fff
    and a1, a1, a2
    CHECK_REG(a0, a1)
2:

    // --- guest-page faults delegated to HS-mode (never further) ----------------------------------------
    li t0, (1 << CAUSE_FETCH_GUEST_PAGE_FAULT) | (1 << CAUSE_LOAD_GUEST_PAGE_FAULT) | \
           (1 << CAUSE_STORE_GUEST_PAGE_FAULT)
    csrw medeleg, t0
    li t0, -1
    csrw CSR_HEDELEG, t0                        // bits 20, 21, 23 are read-only zero
    CASE(17)
    RUN_IN_V(PRV_S, li a1, GPA(3); 1: ld a0, 24(a1))
    CHECK_MCAUSE(CAUSE_ECALL_S)                 // the HS handler's ecall
    CHECK_SCAUSE(CAUSE_LOAD_GUEST_PAGE_FAULT)
    CHECK_STVAL(GPA(3) + 24)
    CHECK_CSR(CSR_HTVAL, (GPA(3) + 24) >> 2)
    CHECK_CSR_FIELD(CSR_HSTATUS, HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA, \
                    HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA)
    ld a0, strap_sepc
    la a1, 1b
    CHECK_REG(a0, a1)
    // From VU-mode: SPVP = 0.
    CASE(18)
    RUN_IN_V(PRV_U, li a1, GPA(3); sd a0, 0(a1))
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_SCAUSE(CAUSE_STORE_GUEST_PAGE_FAULT)
    CHECK_CSR(CSR_HTVAL, GPA(3) >> 2)
    CHECK_CSR_FIELD(CSR_HSTATUS, HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA, \
                    HSTATUS_SPV | HSTATUS_GVA)
    // htinst likewise holds zero or the transformed store (rs2/funct3/opcode, no immediate).
    CASE(19)
    RUN_IN_V(PRV_S, li a1, GPA(3); 2: sd a0, 8(a1))
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_SCAUSE(CAUSE_STORE_GUEST_PAGE_FAULT)
    csrr a0, CSR_HTINST
    beqz a0, 3f
    la a1, 2b
    lwu a1, 0(a1)
    li a2, 0x01f07000 | 0x7f                    // rs2, funct3, opcode
    and a1, a1, a2
    CHECK_REG(a0, a1)
3:  csrw medeleg, zero
    csrw CSR_HEDELEG, zero

    // --- G-stage A and D --------------------------------------------------------------------------------
#if TRAPEZE_ISA_HW_AD
    CASE(20)
    RUN_IN_V(PRV_S, li a1, GPA(5); ld a0, 0(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, PAGE1_VALUE)
    GET_PTE(gl0, 5)
    andi a0, a0, PTE_A | PTE_D
    CHECK(a0, PTE_A)
    CASE(21)
    RUN_IN_V(PRV_S, li a1, GPA(5); sd zero, 8(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    GET_PTE(gl0, 5)
    andi a0, a0, PTE_A | PTE_D
    CHECK(a0, PTE_A | PTE_D)
#endif

    // --- VS-stage Sv39 over G-stage ---------------------------------------------------------------------
    SET_PTE_PA(vroot, 2, 0x80000000, RWXAD)
    SET_PTE(vroot, 1, vl1, PTE_V)
    SET_PTE_PA(vroot, 4, GPA(3), PTE_V)                    // a table at a G-invalid GPA
    SET_PTE(vl1, 0, vl0, PTE_V)
    SET_PTE_PA(vl0, 0, GPA(0), RWAD)
    SET_PTE_PA(vl0, 1, GPA(3), RWAD)                       // to a G-invalid GPA
    SET_PTE_PA(vl0, 2, GPA(5), PTE_V | PTE_R | PTE_W)      // VS A = D = 0, to G A = D = 0
    SET_PTE_PA(vl0, 3, GPA(4), RWAD)                       // RW here, execute-only at G
    SET_PTE_PA(vl0, 4, GPA(0), PTE_V | PTE_X | PTE_A)      // execute-only here, RW at G
    // vl0[5] invalid
    SET_PTE_PA(vl0, 6, GPA(0), PTE_V | PTE_R | PTE_X | PTE_A)  // RX here, no X at G
    SET_PTE(gl0, 5, page1, PTE_V | PTE_R | PTE_W | PTE_U)  // A = D = 0 again
    SET_VSATP
    hfence.gvma
    TEST_CASE(22, a0, PAGE0_VALUE, RUN_IN_V(PRV_S, li a1, VA(0); ld a0, 0(a1)))
    CHECK_RAN_TO_END_V(PRV_S)
    // The final GPA is G-invalid: mtval = the guest virtual address, mtval2 = the GPA.
    CASE(23)
    RUN_IN_V(PRV_S, li a1, VA(1); ld a0, 0x28(a1))
    CHECK_GPF_M(CAUSE_LOAD_GUEST_PAGE_FAULT, VA(1) + 0x28, GPA(3) + 0x28)
    // The VS-stage walk reads a PTE at a G-invalid GPA: a guest-page fault of the original
    // access type, mtval2 = the PTE's GPA (or 0), and then mtinst = the pseudoinstruction of a
    // 64-bit read (0x3000).
    CASE(24)
    RUN_IN_V(PRV_S, li a1, VA_BAD_TABLE; ld a0, 0x10(a1))
    CHECK_MCAUSE(CAUSE_LOAD_GUEST_PAGE_FAULT)
    CHECK_MTVAL(VA_BAD_TABLE + 0x10)
    CHECK_TRAP_GVA(1)
    csrr a0, CSR_MTVAL2
    beqz a0, 1f
    CHECK(a0, GPA(3) >> 2)                      // vroot[4] -> GPA(3), VPN[1] = 0
#if TRAPEZE_ISA_TINST_PSEUDO
    CHECK_CSR(CSR_MTINST, 0x3000)
#endif
1:
    CASE(25)
    RUN_IN_V(PRV_S, li a1, VA_BAD_TABLE; sd a0, 0(a1))
    CHECK_MCAUSE(WALK_STORE_CAUSE)  // as the original access: a store
    CHECK_MTVAL(VA_BAD_TABLE)
    csrr a0, CSR_MTVAL2
    beqz a0, 2f
    CHECK(a0, GPA(3) >> 2)
#if TRAPEZE_ISA_TINST_PSEUDO
    CHECK_CSR(CSR_MTINST, 0x3000)               // the implicit access is a read
#endif
2:
    CASE(26)
    RUN_IN_V(PRV_S, li a1, VA_BAD_TABLE; jalr a1)
    CHECK_MCAUSE(WALK_FETCH_CAUSE)
    CHECK_MTVAL(VA_BAD_TABLE)
#if TRAPEZE_ISA_HW_AD
    // A store through two stages whose PTEs have A = D = 0 sets both in both.
    CASE(27)
    RUN_IN_V(PRV_S, li a1, VA(2); sd zero, 16(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    GET_PTE(vl0, 2)
    andi a0, a0, PTE_A | PTE_D
    CHECK(a0, PTE_A | PTE_D)
    GET_PTE(gl0, 5)
    andi a0, a0, PTE_A | PTE_D
    CHECK(a0, PTE_A | PTE_D)
#endif

    // --- VS-stage page faults: to M, to HS (medeleg), to VS (medeleg and hedeleg) ---------------------
    CASE(28)
    csrw CSR_MTVAL2, zero
    RUN_IN_V(PRV_S, li a1, VA(5); ld a0, 8(a1))
    CHECK_MCAUSE(CAUSE_LOAD_PAGE_FAULT)
    CHECK_MTVAL(VA(5) + 8)
    CHECK_CSR(CSR_MTVAL2, 0)
    CHECK_TRAP_GVA(1)
    li t0, 1 << CAUSE_LOAD_PAGE_FAULT
    csrw medeleg, t0
    CASE(29)
    li t0, -1
    csrw CSR_HTVAL, t0
    RUN_IN_V(PRV_S, li a1, VA(5); ld a0, 8(a1))
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_SCAUSE(CAUSE_LOAD_PAGE_FAULT)
    CHECK_STVAL(VA(5) + 8)
    CHECK_CSR(CSR_HTVAL, 0)
    CHECK_CSR_FIELD(CSR_HSTATUS, HSTATUS_SPV | HSTATUS_GVA, HSTATUS_SPV | HSTATUS_GVA)
    CASE(30)
    li t0, 1 << CAUSE_LOAD_PAGE_FAULT
    csrw CSR_HEDELEG, t0
    li t0, 0x33
    csrw scause, t0
    RUN_IN_V(PRV_S, li a1, VA(5); ld a0, 8(a1))
    CHECK_MCAUSE(CAUSE_ECALL_VS)                // the VS handler's ecall
    CHECK_SCAUSE(CAUSE_LOAD_PAGE_FAULT)
    CHECK_STVAL(VA(5) + 8)
    CHECK_CSR(CSR_VSCAUSE, CAUSE_LOAD_PAGE_FAULT)
    CHECK_CSR(CSR_VSTVAL, VA(5) + 8)
    CHECK_CSR(scause, 0x33)
    csrw medeleg, zero
    csrw CSR_HEDELEG, zero

    // --- MXR ----------------------------------------------------------------------------------------------
    // A VS-stage execute-only page: a page fault, unless vsstatus.MXR.
    CASE(31)
    RUN_IN_V(PRV_S, li a1, VA(4); ld a0, 0(a1))
    CHECK_MCAUSE(CAUSE_LOAD_PAGE_FAULT)
    li t0, MSTATUS_MXR
    csrs CSR_VSSTATUS, t0
    RUN_IN_V(PRV_S, li a1, VA(4); ld a0, 0(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, PAGE0_VALUE)
#if TRAPEZE_ISA_VSSTATUS_MXR_VS_STAGE_ONLY
    // A G-stage execute-only page: vsstatus.MXR does not help (guest-page fault)...
    CASE(32)
    RUN_IN_V(PRV_S, li a1, VA(3); ld a0, 0(a1))
    CHECK_GPF_M(CAUSE_LOAD_GUEST_PAGE_FAULT, VA(3), GPA(4))
#endif
    li t0, MSTATUS_MXR
    csrc CSR_VSSTATUS, t0
    CASE(43)
    RUN_IN_V(PRV_S, li a1, VA(3); ld a0, 0(a1))       // (without MXR)
    CHECK_GPF_M(CAUSE_LOAD_GUEST_PAGE_FAULT, VA(3), GPA(4))
#if TRAPEZE_ISA_HS_MXR_IN_V
    // ...the HS-level MXR does, for both stages.
    CASE(33)
    li t0, MSTATUS_MXR
    csrs mstatus, t0
    RUN_IN_V(PRV_S, li a1, VA(3); lw a0, 0(a1); li a1, VA(4); ld a2, 0(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    la t0, xpage
    lw t0, 0(t0)
    CHECK_REG(a0, t0)
    CHECK(a2, PAGE0_VALUE)
    li t0, MSTATUS_MXR
    csrc mstatus, t0
#endif

    // --- fences after PTE changes -----------------------------------------------------------------------------
    // hfence.gvma after a G-stage change (vsatp Bare here: VA = GPA).
    CASE(34)
    csrw CSR_VSATP, zero
    hfence.vvma
    RUN_IN_V(PRV_S, li a1, GPA(6); ld a0, 0(a1))
    CHECK(a0, PAGE2_VALUE)
    SET_PTE(gl0, 6, page1, URWAD)
    hfence.gvma
    RUN_IN_V(PRV_S, li a1, GPA(6); ld a0, 0(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, PAGE1_VALUE)
    // hfence.vvma after a VS-stage change.
    SET_VSATP
    CASE(35)
    RUN_IN_V(PRV_S, li a1, VA(0); ld a0, 0(a1))
    CHECK(a0, PAGE0_VALUE)
    SET_PTE_PA(vl0, 0, GPA(6), RWAD)
    hfence.vvma
    RUN_IN_V(PRV_S, li a1, VA(0); ld a0, 0(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, PAGE1_VALUE)
    // sfence.vma in VS-mode after a VS-stage change.
    CASE(36)
    SET_PTE_PA(vl0, 0, GPA(0), RWAD)
    RUN_IN_V(PRV_S, sfence.vma; li a1, VA(0); ld a0, 0(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, PAGE0_VALUE)

#if TRAPEZE_ISA_HLVX_NEEDS_X
    // --- HLVX needs execute permission at the G-stage too: a load guest-page fault ----------------
    CASE(37)
    li a1, VA(6)
    EXPECT_TRAP(CAUSE_LOAD_GUEST_PAGE_FAULT, hlvx.wu a0, (a1))
    CHECK_MTVAL(VA(6))
    CHECK_CSR(CSR_MTVAL2, GPA(0) >> 2)
    CHECK_TRAP_GVA(1)
#endif

    // --- the VS-stage walk's implicit accesses: its A/D update, and HLV/HSV in M- and HS-mode ---------
    // vroot[5] points to vl1_ad at its G-stage read-only alias, so the walk can read vl1_ad[0]
    // (a 2 MiB leaf, A = D = 0) but not write it. HLV/HSV act as VS-mode (hstatus.SPVP = 1).
    la a3, vl1_ad
    li t0, GPA_RO_ALIAS
    add a3, a3, t0
    SET_PTE_REG(vroot, 5, a3, PTE_V)
    SET_PTE_PA(vl1_ad, 0, GPA_2M, PTE_V | PTE_R | PTE_W)
    hfence.vvma
    li t0, HSTATUS_SPVP
    csrs CSR_HSTATUS, t0
#if TRAPEZE_ISA_HW_AD && TRAPEZE_ISA_WALK_AD_GSTAGE_WRITE
    // Setting A is a store for the G-stage, which refuses it: a guest-page fault of the original
    // access type (a load here), mtval = the guest virtual address, mtval2/mtinst as
    // CHECK_AD_GPF_INFO says, and the PTE is left as it was.
    CASE(44)
    RUN_IN_V(PRV_S, li a1, VA_AD; ld a0, 0x238(a1))
    CHECK_MCAUSE(CAUSE_LOAD_GUEST_PAGE_FAULT)
    CHECK_MTVAL(VA_AD + 0x238)
    CHECK_TRAP_MPV(1)
    CHECK_TRAP_GVA(1)
    CHECK_AD_GPF_INFO(CSR_MTVAL2, CSR_MTINST)
    CHECK_AD_PTE_BITS(0)
    CASE(45)
    RUN_IN_V(PRV_S, li a1, VA_AD; sd zero, 0x238(a1))
    CHECK_MCAUSE(CAUSE_STORE_GUEST_PAGE_FAULT)
    CHECK_MTVAL(VA_AD + 0x238)
    CHECK_AD_GPF_INFO(CSR_MTVAL2, CSR_MTINST)
    CHECK_AD_PTE_BITS(0)
    // HLV in M-mode takes the same walk: mstatus.MPV = 0 (the trap came from V=0), GVA = 1.
    CASE(46)
    li a1, VA_AD + 0x238
    EXPECT_TRAP(CAUSE_LOAD_GUEST_PAGE_FAULT, hlv.d a0, (a1))
    CHECK_MTVAL(VA_AD + 0x238)
    CHECK_TRAP_MPV(0)
    CHECK_TRAP_GVA(1)
    CHECK_AD_GPF_INFO(CSR_MTVAL2, CSR_MTINST)
    CHECK_AD_PTE_BITS(0)
    // HSV in HS-mode, the guest-page fault delegated to HS-mode: scause, stval, htval, htinst,
    // hstatus.GVA = 1 and SPV = 0.
    CASE(47)
    li t0, (1 << CAUSE_LOAD_GUEST_PAGE_FAULT) | (1 << CAUSE_STORE_GUEST_PAGE_FAULT)
    csrw medeleg, t0
    li a1, VA_AD + 0x230
    RUN_IN(PRV_S, hsv.d zero, (a1))
    CHECK_MCAUSE(CAUSE_ECALL_S)                 // the HS handler's ecall
    CHECK_SCAUSE(CAUSE_STORE_GUEST_PAGE_FAULT)
    CHECK_STVAL(VA_AD + 0x230)
    CHECK_CSR_FIELD(CSR_HSTATUS, HSTATUS_SPV | HSTATUS_GVA, HSTATUS_GVA)
    CHECK_AD_GPF_INFO(CSR_HTVAL, CSR_HTINST)
    CHECK_AD_PTE_BITS(0)
    csrw medeleg, zero
#endif
    // With A = 1 a load needs no write: it reads through the read-only table, from V=1 and
    // from an HLV in M-mode.
    CASE(48)
    SET_PTE_PA(vl1_ad, 0, GPA_2M, PTE_V | PTE_R | PTE_W | PTE_A)
    hfence.vvma
    RUN_IN_V(PRV_S, li a1, VA_AD + 0x1238; ld a0, 0(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, VALUE_2M)
    li a1, VA_AD + 0x1238
    hlv.d a0, (a1)
    CHECK(a0, VALUE_2M)
#if TRAPEZE_ISA_HW_AD && TRAPEZE_ISA_WALK_AD_GSTAGE_WRITE
    // A store still needs D set: the same guest-page fault, from V=1 and from an HSV.
    CASE(49)
    RUN_IN_V(PRV_S, li a1, VA_AD; sw zero, 4(a1))
    CHECK_MCAUSE(CAUSE_STORE_GUEST_PAGE_FAULT)
    CHECK_MTVAL(VA_AD + 4)
    CHECK_AD_GPF_INFO(CSR_MTVAL2, CSR_MTINST)
    li a1, VA_AD + 8
    EXPECT_TRAP(CAUSE_STORE_GUEST_PAGE_FAULT, hsv.w zero, (a1))
    CHECK_MTVAL(VA_AD + 8)
    CHECK_AD_GPF_INFO(CSR_MTVAL2, CSR_MTINST)
    CHECK_AD_PTE_BITS(PTE_A)
#endif
    // HLV in HS-mode whose walk reads a PTE at a G-invalid GPA (vroot[4] -> GPA(3)), delegated
    // to HS-mode: scause/stval as for a load, htval = zero or that PTE's GPA >> 2, and then
    // htinst = the 64-bit read pseudoinstruction.
    CASE(50)
    li t0, 1 << CAUSE_LOAD_GUEST_PAGE_FAULT
    csrw medeleg, t0
    li a1, VA_BAD_TABLE + 0x18
    RUN_IN(PRV_S, hlv.w a0, (a1))
    CHECK_MCAUSE(CAUSE_ECALL_S)
    CHECK_SCAUSE(CAUSE_LOAD_GUEST_PAGE_FAULT)
    CHECK_STVAL(VA_BAD_TABLE + 0x18)
    CHECK_CSR_FIELD(CSR_HSTATUS, HSTATUS_SPV | HSTATUS_GVA, HSTATUS_GVA)
    csrr a0, CSR_HTVAL
    beqz a0, 1f
    CHECK(a0, GPA(3) >> 2)                      // vroot[4] -> GPA(3), VPN[1] = 0
#if TRAPEZE_ISA_TINST_PSEUDO
    CHECK_CSR(CSR_HTINST, 0x3000)
#endif
1:  csrw medeleg, zero
    csrw CSR_VSATP, zero
    hfence.vvma

    // --- Sv48x4 and Sv57x4 --------------------------------------------------------------------------------
    // Sv48x4: root[0] -> l2: GPA 0x80000000 (1 GiB) = the image; root[512] (GPA bit 48, beyond
    // Sv48) = a 512 GiB page at PA 0.
    SET_PTE(groot48, 0, gl2_48, PTE_V)
    SET_PTE_PA(gl2_48, 2, 0x80000000, RWXAD | PTE_U)
    SET_PTE_PA(groot48, 512, 0, URWAD)
#if TRAPEZE_ISA_SV48X4
    CASE(38)
    SET_HGATP(HGATP_MODE_SV48X4, groot48)
    la a1, page0
    li a2, 1 << 48
    add a1, a1, a2
    RUN_IN_V(PRV_S, ld a0, 0(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, PAGE0_VALUE)
    CASE(39)
    RUN_IN_V(PRV_S, li a1, 1 << 50; ld a0, 0(a1))            // beyond 50 bits
    CHECK_GPF_M(CAUSE_LOAD_GUEST_PAGE_FAULT, 1 << 50, 1 << 50)
#endif
    // Sv57x4: root[0] -> l3[0] -> the Sv48 l2; root[512] (GPA bit 57) = a 256 TiB page at PA 0.
    SET_PTE(groot57, 0, gl3_57, PTE_V)
    SET_PTE(gl3_57, 0, gl2_48, PTE_V)
    SET_PTE_PA(groot57, 512, 0, URWAD)
#if TRAPEZE_ISA_SV57X4
    CASE(40)
    SET_HGATP(HGATP_MODE_SV57X4, groot57)
    la a1, page2
    li a2, 1 << 57
    add a1, a1, a2
    RUN_IN_V(PRV_S, ld a0, 0(a1))
    CHECK_RAN_TO_END_V(PRV_S)
    CHECK(a0, PAGE2_VALUE)
    CASE(41)
    RUN_IN_V(PRV_S, li a1, 1 << 59; ld a0, 0(a1))            // beyond 59 bits
    CHECK_GPF_M(CAUSE_LOAD_GUEST_PAGE_FAULT, 1 << 59, 1 << 59)
#endif
    csrw CSR_HGATP, zero
    hfence.gvma
TEST_END

// A page of its own, mapped execute-only at GPA(4).
    .section .text.xpage, "ax", @progbits
    .balign 4096
xpage:
    li a0, 0x77
    ret
    .balign 4096

    .bss
    .balign 16384
groot: .space 16384
groot48: .space 16384
groot57: .space 16384
gl1: .space 4096
gl0: .space 4096
gl2_48: .space 4096
gl3_57: .space 4096
vroot: .space 4096
vl1: .space 4096
vl0: .space 4096
vl1_ad: .space 4096
page0: .space 4096
page1: .space 4096
page2: .space 4096
