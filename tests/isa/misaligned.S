// misaligned.S — misaligned loads and stores (unpriv spec §2.6, priv spec §3.6.3): 2-, 4- and
// 8-byte integer and 4-/8-byte FP accesses at every misaligned offset, inside a page and
// across a page boundary, with sign/zero extension, stores that touch exactly their bytes, and
// the same from U-mode. The reference value of a load is assembled from byte loads (lbu).
#include "test_macros.h"

// TRAPEZE_ISA_MISALIGNED_COMPLETES (test_macros.h) = 1: every access must complete.
// 0: an access may instead trap with cause 4/6 and mtval = its address; either outcome is
// accepted, but it must be one of the two.

#define PATTERN_BYTES 64                        // pattern around each test address

#if TRAPEZE_ISA_MISALIGNED_COMPLETES
#define TRY_ACCESS(cause, ...) __VA_ARGS__
#else
// Runs the access; if it trapped, checks the trap and skips the value checks (to 8871).
#define TRY_ACCESS(cause, ...)       \
    ARM_TRAP(8870f);                 \
    __VA_ARGS__;                     \
    8870: DISARM_TRAP;               \
    ld t5, trap_mcause;              \
    li t6, -1;                       \
    beq t5, t6, 8872f;               \
    CHECK_MCAUSE(cause);             \
    ld t5, trap_mtval;               \
    CHECK_REG(t5, a1);               \
    j 8871f;                         \
    8872:
#endif
#if TRAPEZE_ISA_MISALIGNED_COMPLETES
#define END_CASE
#else
#define END_CASE 8871:
#endif

// Case n: the code loads `size` bytes (signed or not) from a1 = base + off into a0.
#define TEST_LOAD(n, base, off, size, sign, ...) \
    CASE(n);                                      \
    la a1, base + (off);                          \
    li a2, size;                                  \
    li a3, sign;                                  \
    call ref_load;                                \
    mv s1, a0;                                    \
    li a0, 0;                                     \
    TRY_ACCESS(CAUSE_MISALIGNED_LOAD, __VA_ARGS__); \
    CHECK_REG(a0, s1);                            \
    END_CASE

// Case n: the code stores `size` bytes of s2 at a1 = base + off; exactly those bytes change.
#define TEST_STORE(n, base, off, size, ...) \
    CASE(n);                                 \
    la a1, base + (off);                     \
    call fill_pattern;                       \
    TRY_ACCESS(CAUSE_MISALIGNED_STORE, __VA_ARGS__); \
    li a2, size;                             \
    call check_store;                        \
    END_CASE

#define VALUE 0x8877665544332211

TEST_BEGIN
    li t0, MSTATUS_FS_INITIAL
    csrs mstatus, t0
    li s2, VALUE
    fmv.d.x fs2, s2
    la a1, inpage
    call fill_pattern
    la a1, boundary
    call fill_pattern

    // --- loads inside a page ------------------------------------------------------------------------
    TEST_LOAD(1, inpage, 1, 2, 1, lh a0, 0(a1))
    TEST_LOAD(2, inpage, 3, 2, 0, lhu a0, 0(a1))
    TEST_LOAD(3, inpage, 1, 4, 1, lw a0, 0(a1))
    TEST_LOAD(4, inpage, 2, 4, 1, lw a0, 0(a1))
    TEST_LOAD(5, inpage, 3, 4, 0, lwu a0, 0(a1))
    TEST_LOAD(6, inpage, 1, 8, 0, ld a0, 0(a1))
    TEST_LOAD(7, inpage, 2, 8, 0, ld a0, 0(a1))
    TEST_LOAD(8, inpage, 3, 8, 0, ld a0, 0(a1))
    TEST_LOAD(9, inpage, 4, 8, 0, ld a0, 0(a1))
    TEST_LOAD(10, inpage, 5, 8, 0, ld a0, 0(a1))
    TEST_LOAD(11, inpage, 6, 8, 0, ld a0, 0(a1))
    TEST_LOAD(12, inpage, 7, 8, 0, ld a0, 0(a1))
    TEST_LOAD(13, inpage, 13, 4, 1, c.lw a0, 0(a1))      // compressed
    TEST_LOAD(14, inpage, 5, 4, 1, flw fa0, 0(a1); fmv.x.w a0, fa0)
    TEST_LOAD(15, inpage, 9, 8, 0, fld fa0, 0(a1); fmv.x.d a0, fa0)

    // --- loads across a page boundary -----------------------------------------------------------------
    TEST_LOAD(16, boundary, -1, 2, 1, lh a0, 0(a1))
    TEST_LOAD(17, boundary, -1, 4, 1, lw a0, 0(a1))
    TEST_LOAD(18, boundary, -2, 4, 0, lwu a0, 0(a1))
    TEST_LOAD(19, boundary, -3, 4, 1, lw a0, 0(a1))
    TEST_LOAD(20, boundary, -1, 8, 0, ld a0, 0(a1))
    TEST_LOAD(21, boundary, -4, 8, 0, ld a0, 0(a1))
    TEST_LOAD(22, boundary, -7, 8, 0, ld a0, 0(a1))
    TEST_LOAD(23, boundary, -2, 8, 0, fld fa0, 0(a1); fmv.x.d a0, fa0)
    TEST_LOAD(24, boundary, -3, 2, 0, lhu a0, 0(a1))     // (just before the boundary: control)

    // --- stores inside a page -----------------------------------------------------------------------
    TEST_STORE(25, inpage, 1, 2, sh s2, 0(a1))
    TEST_STORE(26, inpage, 1, 4, sw s2, 0(a1))
    TEST_STORE(27, inpage, 2, 4, sw s2, 0(a1))
    TEST_STORE(28, inpage, 3, 4, sw s2, 0(a1))
    TEST_STORE(29, inpage, 1, 8, sd s2, 0(a1))
    TEST_STORE(30, inpage, 4, 8, sd s2, 0(a1))
    TEST_STORE(31, inpage, 7, 8, sd s2, 0(a1))
    TEST_STORE(32, inpage, 6, 4, fsw fs2, 0(a1))
    TEST_STORE(33, inpage, 3, 8, fsd fs2, 0(a1))

    // --- stores across a page boundary -----------------------------------------------------------------
    TEST_STORE(34, boundary, -1, 2, sh s2, 0(a1))
    TEST_STORE(35, boundary, -1, 4, sw s2, 0(a1))
    TEST_STORE(36, boundary, -3, 4, sw s2, 0(a1))
    TEST_STORE(37, boundary, -1, 8, sd s2, 0(a1))
    TEST_STORE(38, boundary, -5, 8, sd s2, 0(a1))
    TEST_STORE(39, boundary, -6, 8, fsd fs2, 0(a1))

    // --- from U-mode ------------------------------------------------------------------------------------
#if TRAPEZE_ISA_MISALIGNED_COMPLETES
    CASE(40)
    la a1, boundary - 3
    li a2, 8
    li a3, 0
    call ref_load
    mv s1, a0
    la a1, boundary - 3
    RUN_IN(PRV_U, ld a0, 0(a1))
    CHECK_RAN_TO_END(PRV_U)
    CHECK_REG(a0, s1)
    CASE(41)
    la a1, inpage + 5
    call fill_pattern
    RUN_IN(PRV_U, sw s2, 0(a1))
    CHECK_RAN_TO_END(PRV_U)
    li a2, 4
    call check_store
#endif
TEST_END

// a0 = the `a2`-byte little-endian value at a1, sign-extended if a3 != 0, from byte loads.
// Clobbers t0-t2.
ref_load:
    li a0, 0
    add t0, a1, a2
1:  addi t0, t0, -1
    lbu t1, 0(t0)
    slli a0, a0, 8
    or a0, a0, t1
    bne t0, a1, 1b
    beqz a3, 2f
    li t1, 8
    sub t1, t1, a2
    slli t1, t1, 3                              // 64 - 8 * size
    sll a0, a0, t1
    sra a0, a0, t1
2:  ret

// Fills PATTERN_BYTES / 2 bytes either side of a1 with byte(x) = low byte of x * 37 + 0x83
// where x is the address. Clobbers t0-t2.
fill_pattern:
    addi t0, a1, -(PATTERN_BYTES / 2)
    addi t2, a1, PATTERN_BYTES / 2
1:  li t1, 37
    mul t1, t0, t1
    addi t1, t1, 0x83
    sb t1, 0(t0)
    addi t0, t0, 1
    bltu t0, t2, 1b
    ret

// Checks the a2 bytes at a1 hold the low bytes of s2, and that the bytes around still hold
// the pattern of fill_pattern. Fails the running case otherwise. Clobbers t0-t4.
check_store:
    addi t0, a1, -(PATTERN_BYTES / 2)
    addi t2, a1, PATTERN_BYTES / 2
    add t3, a1, a2                              // end of the stored bytes
    mv t4, s2
1:  lbu t1, 0(t0)
    bltu t0, a1, 2f
    bgeu t0, t3, 2f
    andi t5, t4, 0xff                           // a stored byte
    srli t4, t4, 8
    bne t1, t5, 3f
    j 4f
2:  li t5, 37                                   // a pattern byte
    mul t5, t0, t5
    addi t5, t5, 0x83
    andi t5, t5, 0xff
    bne t1, t5, 3f
4:  addi t0, t0, 1
    bltu t0, t2, 1b
    ret
3:  j fail

    .data
    .balign 4096
    .space 64
inpage:                                         // 8-byte aligned, far from page ends
    .space 1024
    .balign 4096
    .space 4096 - 64
    .space 64
boundary:                                       // a page boundary
    .space 128
