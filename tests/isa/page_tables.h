// page_tables.h — page-table building for the ISA programs that translate (paging.S,
// hyp_gstage.S): PTE flag sets, the test pages' contents, and macros that write a PTE.
#pragma once

#define RWXAD (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define RWAD (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

// What the programs' page0/page1/page2 and the 2 MiB page at PA_2M (+ 0x1238) hold.
#define PA_2M 0x80400000
#define PAGE0_VALUE 0x1111111111111111
#define PAGE1_VALUE 0x2222222222222222
#define PAGE2_VALUE 0x3333333333333333
#define VALUE_2M 0x4444444444444444
// Writes those values (clobbers a0, a1).
#define FILL_TEST_PAGES       \
    la a0, page0;             \
    li a1, PAGE0_VALUE;       \
    sd a1, 0(a0);             \
    la a0, page1;             \
    li a1, PAGE1_VALUE;       \
    sd a1, 0(a0);             \
    la a0, page2;             \
    li a1, PAGE2_VALUE;       \
    sd a1, 0(a0);             \
    li a0, PA_2M + 0x1238;    \
    li a1, VALUE_2M;          \
    sd a1, 0(a0)

// table[index] = leaf or pointer to the (physical or guest physical) address in register pa
// (clobbers a4, a5, t4; index may exceed a load offset's reach: the x4 roots have 2048 entries).
#define SET_PTE_REG(table, index, pa, flags) \
    srli a4, pa, 12;                         \
    slli a4, a4, PTE_PPN_SHIFT;              \
    li a5, flags;                            \
    or a4, a4, a5;                           \
    la a5, table;                            \
    li t4, (index) * 8;                      \
    add a5, a5, t4;                          \
    sd a4, 0(a5)
// ...to the address of a symbol / to a constant address (clobber a3 as well).
#define SET_PTE(table, index, sym, flags) \
    la a3, sym;                           \
    SET_PTE_REG(table, index, a3, flags)
#define SET_PTE_PA(table, index, pa_const, flags) \
    li a3, pa_const;                              \
    SET_PTE_REG(table, index, a3, flags)
#define SET_PTR(table, index, next) SET_PTE(table, index, next, PTE_V)
// a0 = table[index] (clobbers a5).
#define GET_PTE(table, index) \
    la a5, table;             \
    ld a0, (index) * 8(a5)
