// paging.S — virtual memory (priv spec ch. 4.3–4.6): Sv39 with 4 KiB pages, 2 MiB and 1 GiB
// superpages, Sv48 (with a 512 GiB page) and Sv57 (with a 256 TiB page), A/D updates,
// permissions (R/W/X, U with SUM, MXR), the page faults of fetch/load/store (cause 12/13/15,
// mtval = the virtual address) for invalid, reserved, misaligned-superpage and non-canonical
// cases, sfence.vma after a PTE change, ASID-tagged translations, satp WARL behaviour, and
// M-mode loads translated through MPRV.
//
// Layout (Sv39; all tables and pages live in this image):
//   VA 0x80000000 (1 GiB)  = PA 0x80000000, RWX, not U: the image, identity (code, data, stacks)
//   VA 0xc0000000 (1 GiB)  = PA 0x80000000, RWX + U: where U-mode code runs (ALIAS)
//   VA 0x40000000 + n*4K   = l0[n], the 4 KiB cases below
//   VA 0x40200000 (2 MiB)  = PA 0x80400000, RW
//   VA 0x40400000 (2 MiB)  = misaligned superpage (PPN[0] != 0)
//   VA 0x100000000 (1 GiB) = misaligned superpage (PPN[1] != 0)
#include "test_macros.h"
#include "page_tables.h"

// Sv48/Sv57: 1 = the hart must accept the mode in satp (and translate with it); 0 = it must
// reject it (satp unchanged). trapeze supports both.
#ifndef TRAPEZE_ISA_SV48
#define TRAPEZE_ISA_SV48 1
#endif
#ifndef TRAPEZE_ISA_SV57
#define TRAPEZE_ISA_SV57 1
#endif
// 1 = the hart sets A and D itself (Svadu-like, as trapeze and QEMU 7.2 do); 0 = it raises a
// page fault when they need setting (Svade). Both are allowed by the priv spec (§4.3.1).
#ifndef TRAPEZE_ISA_HW_AD
#define TRAPEZE_ISA_HW_AD 1
#endif
// 1 = a leaf PTE with reserved bits (63:54) set causes a page fault (priv spec §4.3.2 step 3).
#ifndef TRAPEZE_ISA_PTE_RESERVED_FAULTS
#define TRAPEZE_ISA_PTE_RESERVED_FAULTS 1
#endif

#define ALIAS 0x40000000                        // VA 0xc0000000 - PA 0x80000000
#define VA_4K 0x40000000
#define VA(n) (VA_4K + (n) * 0x1000)
#define VA_2M 0x40200000
#define VA_2M_MISALIGNED 0x40400000
#define VA_1G_MISALIGNED 0x100000000


// satp = mode | asid | root, then a full sfence.vma (clobbers a4, a5).
#define SET_SATP(mode, asid, root)                 \
    li a4, ((mode) << SATP_MODE_SHIFT) | ((asid) << 44); \
    la a5, root;                                   \
    srli a5, a5, 12;                               \
    or a4, a4, a5;                                 \
    csrw satp, a4;                                 \
    sfence.vma

// RUN_IN, but entered through the U-accessible alias of the image (for U-mode code).
#define RUN_IN_ALIAS(mode, ...)        \
    ARM_TRAP(8886f);                   \
    li t6, MSTATUS_MPP | MSTATUS_MPIE; \
    csrc mstatus, t6;                  \
    li t6, ((mode) << 11);             \
    csrs mstatus, t6;                  \
    la t6, 8885f;                      \
    li t5, ALIAS;                      \
    add t6, t6, t5;                    \
    csrw mepc, t6;                     \
    mret;                              \
    8885:                              \
    __VA_ARGS__;                       \
    ecall;                             \
    8886:                              \
    DISARM_TRAP

// mtval must be the constant virtual address va.
#define CHECK_MTVAL_VA(va) CHECK_MTVAL(va)

// Case n: code in `mode` faults with `cause` and mtval = va.
#define TEST_FAULT(n, mode, cause, va, ...) \
    TEST_TRAP_IN(n, mode, cause, __VA_ARGS__); \
    CHECK_MTVAL(va)

TEST_BEGIN
    // --- build the Sv39 tables ------------------------------------------------------------------
    FILL_TEST_PAGES

    SET_PTE_PA(root39, 2, 0x80000000, RWXAD)
    SET_PTE_PA(root39, 3, 0x80000000, RWXAD | PTE_U)
    SET_PTR(root39, 1, l1_39)
    SET_PTE_PA(root39, 4, 0x80200000, RWAD)                 // misaligned 1 GiB page
    SET_PTR(l1_39, 0, l0_39)
    SET_PTE_PA(l1_39, 1, PA_2M, RWAD)
    SET_PTE_PA(l1_39, 2, PA_2M + 0x1000, RWAD)              // misaligned 2 MiB page
    SET_PTE(l0_39, 0, page0, RWAD)
    SET_PTE(l0_39, 1, page0, PTE_V | PTE_R | PTE_A)         // read-only alias of page0
    SET_PTE(l0_39, 2, page1, PTE_V | PTE_R | PTE_W)         // A = D = 0
    // l0[3] stays invalid
    SET_PTE(l0_39, 4, page2, RWAD | PTE_U)
    SET_PTE(l0_39, 5, xonly_page, PTE_V | PTE_X | PTE_A)    // execute-only
    SET_PTE(l0_39, 6, page0, PTE_V | PTE_W | PTE_A | PTE_D) // W without R: reserved
    SET_PTR(l0_39, 7, page0)                                // a pointer at the last level
    SET_PTE(l0_39, 9, page0, RWAD)                          // rewritten by the sfence cases
    SET_PTE(l0_39, 10, page1, PTE_V | PTE_R | PTE_W | PTE_A) // D = 0
    la a3, page0
    srli a4, a3, 12
    slli a4, a4, PTE_PPN_SHIFT
    ori a4, a4, RWAD
    li a5, 1 << 60                                          // a reserved bit
    or a4, a4, a5
    la a5, l0_39
    sd a4, 8 * 8(a5)

    // --- satp --------------------------------------------------------------------------------------
    CASE(1)
    SET_SATP(SATP_MODE_SV39, 0, root39)
    csrr a0, satp
    srli a0, a0, SATP_MODE_SHIFT
    CHECK(a0, SATP_MODE_SV39)
    // A reserved MODE: the whole write is ignored (priv spec §4.1.11).
    CASE(2)
    csrr a1, satp
    li a0, 1 << SATP_MODE_SHIFT
    csrw satp, a0
    csrr a0, satp
    CHECK_REG(a0, a1)
    // S-mode runs on the identity-mapped image.
    TEST_NO_TRAP_IN(3, PRV_S, nop)

    // --- 4 KiB pages -------------------------------------------------------------------------------------
    TEST_CASE(4, a0, PAGE0_VALUE, RUN_IN(PRV_S, li a1, VA(0); ld a0, 0(a1)))
    CHECK_RAN_TO_END(PRV_S)
    // A store through one VA is seen through the physical address and another VA.
    CASE(5)
    RUN_IN(PRV_S, li a1, VA(0); li a2, 0x5555; sd a2, 8(a1); li a1, VA(1); ld a0, 8(a1))
    CHECK_RAN_TO_END(PRV_S)
    CHECK(a0, 0x5555)
    CHECK_MEM(page0 + 8, 0x5555)
    // M-mode is never translated.
    CASE(6)
    la a1, page0
    ld a0, 0(a1)
    CHECK(a0, PAGE0_VALUE)

    // --- superpages ---------------------------------------------------------------------------------
    TEST_CASE(7, a0, VALUE_2M, RUN_IN(PRV_S, li a1, VA_2M + 0x1238; ld a0, 0(a1)))
    CHECK_RAN_TO_END(PRV_S)
    // 1 GiB: the U alias of the image, read from U-mode.
    CASE(8)
    RUN_IN_ALIAS(PRV_U, la a1, page2; ld a0, 0(a1))     // (la is pc-relative: an alias VA)
    CHECK_RAN_TO_END(PRV_U)
    CHECK(a0, PAGE2_VALUE)
    // Misaligned superpages fault with the cause of the access.
    TEST_FAULT(9, PRV_S, CAUSE_LOAD_PAGE_FAULT, VA_2M_MISALIGNED + 8, li a1, VA_2M_MISALIGNED; ld a0, 8(a1))
    TEST_FAULT(10, PRV_S, CAUSE_STORE_PAGE_FAULT, VA_2M_MISALIGNED, li a1, VA_2M_MISALIGNED; sd a0, 0(a1))
    TEST_FAULT(11, PRV_S, CAUSE_LOAD_PAGE_FAULT, VA_1G_MISALIGNED, li a1, VA_1G_MISALIGNED; ld a0, 0(a1))

    // --- page faults -------------------------------------------------------------------------------
    TEST_FAULT(12, PRV_S, CAUSE_LOAD_PAGE_FAULT, VA(3) + 16, li a1, VA(3); ld a0, 16(a1))   // V = 0
    TEST_FAULT(13, PRV_S, CAUSE_STORE_PAGE_FAULT, VA(3), li a1, VA(3); sw a0, 0(a1))
    TEST_FAULT(14, PRV_S, CAUSE_STORE_PAGE_FAULT, VA(1) + 4, li a1, VA(1); sw a0, 4(a1))    // read-only
    TEST_FAULT(15, PRV_S, CAUSE_STORE_PAGE_FAULT, VA(1), li a1, VA(1); amoadd.d a0, a0, (a1)) // AMO = store
    TEST_FAULT(16, PRV_S, CAUSE_LOAD_PAGE_FAULT, VA(6), li a1, VA(6); ld a0, 0(a1))        // W without R
    TEST_FAULT(17, PRV_S, CAUSE_STORE_PAGE_FAULT, VA(6), li a1, VA(6); sd a0, 0(a1))
    TEST_FAULT(18, PRV_S, CAUSE_LOAD_PAGE_FAULT, VA(7), li a1, VA(7); ld a0, 0(a1))        // pointer at level 0
#if TRAPEZE_ISA_PTE_RESERVED_FAULTS
    TEST_FAULT(19, PRV_S, CAUSE_LOAD_PAGE_FAULT, VA(8), li a1, VA(8); ld a0, 0(a1))        // reserved bit 60
#endif
    // Fetch from a page without X: mepc = mtval = the target.
    TEST_FAULT(20, PRV_S, CAUSE_FETCH_PAGE_FAULT, VA(0), li a1, VA(0); jalr a1)
    ld a0, trap_mepc
    CHECK(a0, VA(0))
    // Non-canonical addresses (bits 63:39 must copy bit 38).
    TEST_FAULT(21, PRV_S, CAUSE_LOAD_PAGE_FAULT, 0x0000004000000000, li a1, 0x0000004000000000; ld a0, 0(a1))
    TEST_FAULT(22, PRV_S, CAUSE_STORE_PAGE_FAULT, 0xffffff8080000000, li a1, 0xffffff8080000000; sd a0, 0(a1))

    // --- A and D ------------------------------------------------------------------------------------
#if TRAPEZE_ISA_HW_AD
    // A load sets A, not D.
    CASE(23)
    RUN_IN(PRV_S, li a1, VA(2); ld a0, 0(a1))
    CHECK_RAN_TO_END(PRV_S)
    CHECK(a0, PAGE1_VALUE)
    GET_PTE(l0_39, 2)
    andi a0, a0, PTE_A | PTE_D
    CHECK(a0, PTE_A)
    // A store sets D.
    CASE(24)
    RUN_IN(PRV_S, li a1, VA(2); sd zero, 16(a1))
    CHECK_RAN_TO_END(PRV_S)
    GET_PTE(l0_39, 2)
    andi a0, a0, PTE_A | PTE_D
    CHECK(a0, PTE_A | PTE_D)
    // A store to a page that was only read (A = 1, D = 0, possibly cached as such) sets D.
    CASE(25)
    RUN_IN(PRV_S, li a1, VA(10); ld a0, 0(a1); sd a0, 8(a1))
    CHECK_RAN_TO_END(PRV_S)
    GET_PTE(l0_39, 10)
    andi a0, a0, PTE_D
    CHECK(a0, PTE_D)
#else
    TEST_FAULT(23, PRV_S, CAUSE_LOAD_PAGE_FAULT, VA(2), li a1, VA(2); ld a0, 0(a1))
    TEST_FAULT(24, PRV_S, CAUSE_STORE_PAGE_FAULT, VA(10) + 8, li a1, VA(10); ld a0, 0(a1); sd a0, 8(a1))
#endif

    // --- U and SUM ------------------------------------------------------------------------------------
    CASE(26)
    RUN_IN_ALIAS(PRV_U, li a1, VA(4); ld a0, 0(a1))    // U page from U
    CHECK_RAN_TO_END(PRV_U)
    CHECK(a0, PAGE2_VALUE)
    CASE(27)
    RUN_IN_ALIAS(PRV_U, li a1, VA(0); ld a0, 0(a1))    // S page from U
    CHECK_MCAUSE(CAUSE_LOAD_PAGE_FAULT)
    CHECK_MTVAL(VA(0))
    CASE(28)
    RUN_IN_ALIAS(PRV_U, la a1, 1f; li a2, ALIAS; sub a1, a1, a2; jalr a1; 1: nop)   // S code from U
    CHECK_MCAUSE(CAUSE_FETCH_PAGE_FAULT)
    TEST_FAULT(29, PRV_S, CAUSE_LOAD_PAGE_FAULT, VA(4), li a1, VA(4); ld a0, 0(a1))  // U page, SUM = 0
    TEST_FAULT(30, PRV_S, CAUSE_STORE_PAGE_FAULT, VA(4), li a1, VA(4); sd a0, 0(a1))
    li t0, MSTATUS_SUM
    csrs mstatus, t0
    CASE(31)
    RUN_IN(PRV_S, li a1, VA(4); ld a0, 0(a1); sd a0, 8(a1))                       // SUM = 1
    CHECK_RAN_TO_END(PRV_S)
    CHECK(a0, PAGE2_VALUE)
    // S-mode never executes from U pages, SUM or not.
    CASE(32)
    RUN_IN(PRV_S, la a1, 2f; li a2, ALIAS; add a1, a1, a2; jalr a1; 2: nop)
    CHECK_MCAUSE(CAUSE_FETCH_PAGE_FAULT)
    li t0, MSTATUS_SUM
    csrc mstatus, t0

    // --- X-only pages and MXR ------------------------------------------------------------------------
    CASE(33)
    RUN_IN(PRV_S, li a1, VA(5); jalr a1)                // executable...
    CHECK_RAN_TO_END(PRV_S)
    CHECK(a0, 0x77)
    TEST_FAULT(34, PRV_S, CAUSE_LOAD_PAGE_FAULT, VA(5), li a1, VA(5); lw a0, 0(a1))  // ...not readable
    li t0, MSTATUS_MXR
    csrs mstatus, t0
    CASE(35)
    RUN_IN(PRV_S, li a1, VA(5); lw a0, 0(a1))           // ...unless MXR
    CHECK_RAN_TO_END(PRV_S)
    la a1, xonly_page
    lw a1, 0(a1)
    CHECK_REG(a0, a1)
    TEST_FAULT(36, PRV_S, CAUSE_STORE_PAGE_FAULT, VA(5), li a1, VA(5); sw a0, 0(a1)) // MXR gives no W
    li t0, MSTATUS_MXR
    csrc mstatus, t0

    // --- sfence.vma makes a PTE change visible -----------------------------------------------------------
    TEST_CASE(37, a0, PAGE0_VALUE, RUN_IN(PRV_S, li a1, VA(9); ld a0, 0(a1)))
    CASE(38)
    SET_PTE(l0_39, 9, page1, RWAD)
    RUN_IN(PRV_S, li a1, VA(9); sfence.vma a1, zero; ld a0, 0(a1))   // one address
    CHECK_RAN_TO_END(PRV_S)
    CHECK(a0, PAGE1_VALUE)
    CASE(39)
    SET_PTE(l0_39, 9, page2, RWAD)
    RUN_IN(PRV_S, li a1, VA(9); sfence.vma; ld a0, 0(a1))             // everything
    CHECK_RAN_TO_END(PRV_S)
    CHECK(a0, PAGE2_VALUE)
    CASE(40)
    la a5, l0_39
    sd zero, 9 * 8(a5)
    sfence.vma                                                          // from M-mode
    RUN_IN(PRV_S, li a1, VA(9); ld a0, 0(a1))
    CHECK_MCAUSE(CAUSE_LOAD_PAGE_FAULT)
    // A superpage replaced by a pointer to a table (and back).
    CASE(41)
    SET_PTR(l1_39, 1, l0_39)
    sfence.vma
    RUN_IN(PRV_S, li a1, VA_2M; ld a0, 0(a1))         // now VA_2M = l0[0] = page0
    CHECK_RAN_TO_END(PRV_S)
    CHECK(a0, PAGE0_VALUE)
    SET_PTE_PA(l1_39, 1, PA_2M, RWAD)
    sfence.vma

    // --- MPRV: M-mode loads and stores translated as MPP ----------------------------------------------
    CASE(42)
    li t0, MSTATUS_MPP
    csrc mstatus, t0
    li t0, MSTATUS_MPP_S | MSTATUS_MPRV
    csrs mstatus, t0
    li a1, VA(0)
    ld a0, 0(a1)                                        // translated (and the fetch is not)
    li t0, MSTATUS_MPRV
    csrc mstatus, t0
    CHECK(a0, PAGE0_VALUE)
    // (Below, the trap is armed before MPRV is set: with MPRV, M-mode stores are translated.)
    CASE(43)
    li a1, VA(4)                                        // MPP = S: a U page needs SUM
    ARM_TRAP(1f)
    li t0, MSTATUS_MPRV
    csrs mstatus, t0
    ld a0, 0(a1)
1:  DISARM_TRAP                                         // (the handler cleared MPRV)
    CHECK_MCAUSE(CAUSE_LOAD_PAGE_FAULT)
    CHECK_MTVAL(VA(4))
    CASE(44)
    li t0, MSTATUS_MPP                                  // MPP = U: an S page faults
    csrc mstatus, t0
    li a1, VA(0)
    ARM_TRAP(2f)
    li t0, MSTATUS_MPRV
    csrs mstatus, t0
    ld a0, 0(a1)
2:  DISARM_TRAP
    CHECK_MCAUSE(CAUSE_LOAD_PAGE_FAULT)
    CASE(45)
    li t0, MSTATUS_MPP_S                                // MPP = S: a read-only page
    csrs mstatus, t0
    li a1, VA(1)
    ARM_TRAP(3f)
    li t0, MSTATUS_MPRV
    csrs mstatus, t0
    sd a0, 0(a1)
3:  DISARM_TRAP
    CHECK_MCAUSE(CAUSE_STORE_PAGE_FAULT)
    CHECK_MTVAL(VA(1))
    li t0, MSTATUS_MPP
    csrs mstatus, t0

    // --- ASIDs: two address spaces, switched without sfence -------------------------------------------
    // Address space B maps VA(0) to page1 instead of page0.
    SET_PTE_PA(root39b, 2, 0x80000000, RWXAD)
    SET_PTR(root39b, 1, l1_39b)
    SET_PTR(l1_39b, 0, l0_39b)
    SET_PTE(l0_39b, 0, page1, RWAD)
    CASE(46)
    SET_SATP(SATP_MODE_SV39, 0xffff, root39)            // find ASIDLEN: the ASID bits that stick
    csrr s1, satp
    slli s1, s1, 4
    srli s1, s1, 48                                     // s1 = the ASID mask
    SET_SATP(SATP_MODE_SV39, 1, root39)
    TEST_CASE(47, a0, PAGE0_VALUE, RUN_IN(PRV_S, li a1, VA(0); ld a0, 0(a1)))
    CASE(48)
    li a0, (SATP_MODE_SV39 << SATP_MODE_SHIFT) | (2 << 44)
    la a1, root39b
    srli a1, a1, 12
    or a0, a0, a1
    csrw satp, a0
    andi a2, s1, 3
    li a3, 3
    beq a2, a3, 1f
    sfence.vma                                          // without two distinct ASIDs it is needed
1:  RUN_IN(PRV_S, li a1, VA(0); ld a0, 0(a1))
    CHECK(a0, PAGE1_VALUE)
    CASE(49)
    li a0, (SATP_MODE_SV39 << SATP_MODE_SHIFT) | (1 << 44)
    la a1, root39
    srli a1, a1, 12
    or a0, a0, a1
    csrw satp, a0
    andi a2, s1, 3
    li a3, 3
    beq a2, a3, 2f
    sfence.vma
2:  RUN_IN(PRV_S, li a1, VA(0); ld a0, 0(a1))
    CHECK(a0, PAGE0_VALUE)
    // sfence.vma for one ASID drops that address space's translations.
    CASE(50)
    SET_PTE(l0_39, 0, page2, RWAD)
    li a0, 1
    sfence.vma zero, a0
    RUN_IN(PRV_S, li a1, VA(0); ld a0, 0(a1))
    CHECK(a0, PAGE2_VALUE)
    SET_PTE(l0_39, 0, page0, RWAD)
    sfence.vma
    csrw satp, zero

    // --- Sv48 -----------------------------------------------------------------------------------------
    // root48[0] -> l2[2] = the image, identity; root48[1] = a 512 GiB page at PA 0.
    SET_PTR(root48, 0, l2_48)
    SET_PTE_PA(l2_48, 2, 0x80000000, RWXAD)
    SET_PTE_PA(root48, 1, 0, RWAD)
    SET_PTE_PA(root48, 2, 0x80000000, RWAD)             // misaligned 512 GiB page
    CASE(51)
    csrw satp, zero
    SET_SATP(SATP_MODE_SV48, 0, root48)
    csrr a0, satp
    srli a0, a0, SATP_MODE_SHIFT
#if TRAPEZE_ISA_SV48
    CHECK(a0, SATP_MODE_SV48)
    CASE(52)
    la a1, page0
    li a2, 0x8000000000
    add a1, a1, a2
    RUN_IN(PRV_S, ld a0, 0(a1))
    CHECK_RAN_TO_END(PRV_S)
    CHECK(a0, PAGE0_VALUE)
    TEST_FAULT(53, PRV_S, CAUSE_LOAD_PAGE_FAULT, 0x0000800000000000, li a1, 0x0000800000000000; ld a0, 0(a1))
    TEST_FAULT(54, PRV_S, CAUSE_LOAD_PAGE_FAULT, 0x10000000000, li a1, 0x10000000000; ld a0, 0(a1))
    TEST_FAULT(55, PRV_S, CAUSE_LOAD_PAGE_FAULT, 0x40000000, li a1, 0x40000000; ld a0, 0(a1))   // unmapped here
#else
    CHECK(a0, 0)                                        // rejected: satp unchanged (bare)
#endif
    csrw satp, zero

    // --- Sv57 -----------------------------------------------------------------------------------------
    // root57[0] -> l3[0] -> the Sv48 l2; root57[1] = a 256 TiB page at PA 0.
    SET_PTR(root57, 0, l3_57)
    SET_PTR(l3_57, 0, l2_48)
    SET_PTE_PA(root57, 1, 0, RWAD)
    CASE(56)
    SET_SATP(SATP_MODE_SV57, 0, root57)
    csrr a0, satp
    srli a0, a0, SATP_MODE_SHIFT
#if TRAPEZE_ISA_SV57
    CHECK(a0, SATP_MODE_SV57)
    CASE(57)
    la a1, page0
    li a2, 1 << 48
    add a1, a1, a2
    RUN_IN(PRV_S, ld a0, 0(a1))
    CHECK_RAN_TO_END(PRV_S)
    CHECK(a0, PAGE0_VALUE)
    TEST_FAULT(58, PRV_S, CAUSE_LOAD_PAGE_FAULT, 0x0100000000000000, li a1, 0x0100000000000000; ld a0, 0(a1))
    TEST_FAULT(59, PRV_S, CAUSE_STORE_PAGE_FAULT, 0x0002000000000000, li a1, 0x0002000000000000; sd a0, 0(a1))
#else
    CHECK(a0, 0)
#endif
    csrw satp, zero
    sfence.vma
TEST_END

// A page of its own, mapped execute-only at VA(5).
    .section .text.xonly, "ax", @progbits
    .balign 4096
xonly_page:
    li a0, 0x77
    ret
    .balign 4096

    .bss
    .balign 4096
root39: .space 4096
l1_39: .space 4096
l0_39: .space 4096
root39b: .space 4096
l1_39b: .space 4096
l0_39b: .space 4096
root48: .space 4096
l2_48: .space 4096
root57: .space 4096
l3_57: .space 4096
page0: .space 4096
page1: .space 4096
page2: .space 4096
