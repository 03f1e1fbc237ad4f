// rv64i.S — RV64I base integer instructions (unpriv spec ch. 2 and 5): arithmetic, logic,
// shifts, the 32-bit word forms and their sign extension, loads/stores of every width,
// branches, jumps, lui/auipc, x0, and fence.i after code is rewritten (Zifencei).
#include "test_macros.h"

// rd = rs1 op rs2, with rs1 = a1 = v1, rs2 = a2 = v2.
#define TEST_RR(n, op, result, v1, v2) \
    TEST_CASE(n, a0, result, li a1, v1; li a2, v2; op a0, a1, a2)
// rd = rs1 op imm.
#define TEST_RI(n, op, result, v1, imm) \
    TEST_CASE(n, a0, result, li a1, v1; op a0, a1, imm)
// The same, with rd == rs1 (the source is read before the destination is written).
#define TEST_RR_SAME(n, op, result, v1, v2) \
    TEST_CASE(n, a1, result, li a1, v1; li a2, v2; op a1, a1, a2)

// The branch must be taken / not taken.
#define TEST_BR_TAKEN(n, op, v1, v2) \
    CASE(n);                         \
    li a1, v1;                       \
    li a2, v2;                       \
    op a1, a2, 7001f;                \
    j fail;                          \
    7001:
#define TEST_BR_NOT_TAKEN(n, op, v1, v2) \
    CASE(n);                             \
    li a1, v1;                           \
    li a2, v2;                           \
    op a1, a2, 7002f;                    \
    j 7003f;                             \
    7002: j fail;                        \
    7003:

TEST_BEGIN
    // --- add/sub and immediates ---------------------------------------------------------
    TEST_RR(1, add, 2, 1, 1)
    TEST_RR(2, add, 0x8000000000000000, 0x7fffffffffffffff, 1)
    TEST_RR(3, add, 0, -1, 1)
    TEST_RR(4, sub, -1, 0, 1)
    TEST_RR(5, sub, 0x7fffffffffffffff, 0x8000000000000000, 1)
    TEST_RR_SAME(6, sub, 0xfffffffffffffffe, 1, 3)
    TEST_RI(7, addi, -2048, 0, -2048)
    TEST_RI(8, addi, 0x800000000000007e, 0x7fffffffffffffff, 0x7f)
    TEST_RI(9, addi, 2047, 0, 2047)

    // --- comparisons ----------------------------------------------------------------------
    TEST_RR(10, slt, 1, -1, 1)
    TEST_RR(11, sltu, 0, -1, 1)
    TEST_RR(12, slt, 0, 5, 5)
    TEST_RR(13, sltu, 1, 0, 0x8000000000000000)
    TEST_RR(14, slt, 0, 0, 0x8000000000000000)
    TEST_RI(15, slti, 1, -5, -4)
    TEST_RI(16, sltiu, 1, 5, -1)               // the immediate is sign-extended, then unsigned
    TEST_RI(17, sltiu, 1, 0, 1)                // seqz
    TEST_RI(18, sltiu, 0, 7, 1)

    // --- logic ----------------------------------------------------------------------------
    TEST_RR(19, and, 0x0f000f000f000f00, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f)
    TEST_RR(20, or, 0xff0fff0fff0fff0f, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f)
    TEST_RR(21, xor, 0xf00ff00ff00ff00f, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f)
    TEST_RI(22, andi, 0x123456789abcdef0, 0x123456789abcdeff, -16)
    TEST_RI(23, ori, 0xfffffffffffff800 | 0x12, 0x12, -2048)
    TEST_RI(24, xori, 0xedcba98765432100, 0x123456789abcdeff, -1)   // not
    TEST_RI(25, andi, 0x7ff, -1, 0x7ff)

    // --- shifts: 6-bit amounts on RV64 ------------------------------------------------------
    TEST_RR(26, sll, 0x8000000000000000, 1, 63)
    TEST_RR(27, sll, 0x1234, 0x1234, 64)       // only rs2[5:0] counts
    TEST_RR(28, srl, 1, 0x8000000000000000, 63)
    TEST_RR(29, sra, -1, 0x8000000000000000, 63)
    TEST_RR(30, sra, 0xc000000000000000, 0x8000000000000000, 65)
    TEST_RR(31, srl, 0x00ff00ff00ff00ff, 0xff00ff00ff00ff00, 8)
    TEST_RI(32, slli, 0x8000000000000000, 1, 63)
    TEST_RI(33, srli, 0x0000000000000001, 0x8000000000000000, 63)
    TEST_RI(34, srai, 0xfffffffffffffff8, 0x8000000000000000, 60)
    TEST_RI(35, srai, 0x123456789abcdef0, 0x123456789abcdef0, 0)
    TEST_RI(36, srli, 0x0123456789abcdef, 0x123456789abcdef0, 4)

    // --- word operations: 32-bit results, sign-extended; upper source bits ignored --------------
    TEST_RR(37, addw, 0xffffffff80000000, 0x7fffffff, 1)
    TEST_RR(38, addw, 1, 0x100000001, 0)
    TEST_RR(39, addw, 0, 0xffffffff, 1)
    TEST_RR(40, subw, 0xffffffff80000000, 0, 0x80000000)
    TEST_RR(41, subw, 0x7fffffff, 0x80000000, 1)
    TEST_RI(42, addiw, 0xffffffff80000000, 0x80000000, 0)         // sext.w
    TEST_RI(43, addiw, 0x000000007fffffff, 0x123456787ffffff0, 0xf)
    TEST_RI(44, addiw, 0xfffffffffffff800, 0xffffffff00000000, -2048)
    TEST_RR(45, sllw, 0xffffffff80000000, 1, 31)
    TEST_RR(46, sllw, 0x12345678, 0xab12345678, 32)                // only rs2[4:0] counts
    TEST_RR(47, srlw, 1, 0xffffffff80000000, 31)
    TEST_RR(48, srlw, 0xffffffffffffffff, 0x00000000ffffffff, 0)  // result is sign-extended
    TEST_RR(49, srlw, 0x7fffffff, 0xffffffffffffffff, 33)
    TEST_RR(50, sraw, 0xffffffffffffffff, 0x80000000, 31)
    TEST_RR(51, sraw, 0xfffffffff8000000, 0x1280000000, 4)
    TEST_RI(52, slliw, 0xffffffff80000000, 0x1, 31)
    TEST_RI(53, slliw, 0, 0xffffffff00000000, 1)
    TEST_RI(54, srliw, 0xffffffffffffffff, 0xffffffff, 0)
    TEST_RI(55, srliw, 0x7fffffff, 0xffffffff, 1)
    TEST_RI(56, sraiw, 0xffffffffc0000000, 0x80000000, 1)
    TEST_RI(57, sraiw, 0x00000000007fffff, 0x7fffffff, 8)

    // --- lui / auipc ---------------------------------------------------------------------------
    TEST_CASE(58, a0, 0xffffffff80000000, lui a0, 0x80000)      // bit 31 is sign-extended
    TEST_CASE(59, a0, 0x7ffff000, lui a0, 0x7ffff)
    TEST_CASE(60, a0, 0xfffffffffffff000, lui a0, 0xfffff)
    CASE(61)
    la a1, 1f
1:  auipc a0, 0
    CHECK_REG(a0, a1)
    CASE(62)
    la a1, 2f
2:  auipc a0, 1
    sub a0, a0, a1
    CHECK(a0, 0x1000)
    CASE(63)
    la a1, 3f
3:  auipc a0, 0xfffff                           // -4096
    sub a0, a1, a0
    CHECK(a0, 0x1000)

    // --- x0 is hard-wired to zero ---------------------------------------------------------------
    TEST_CASE(64, x0, 0, addi x0, x0, 5)
    TEST_CASE(65, x0, 0, lui x0, 0x12345)
    TEST_CASE(66, a0, 0, li a1, 7; add x0, a1, a1; mv a0, x0)

    // --- loads: sign and zero extension of every width ---------------------------------------------
    TEST_CASE(67, a0, 0xffffffffffffff80, la a1, ldata; lb a0, 0(a1))
    TEST_CASE(68, a0, 0x80, la a1, ldata; lbu a0, 0(a1))
    TEST_CASE(69, a0, 0xffffffffffff8080, la a1, ldata; lh a0, 0(a1))
    TEST_CASE(70, a0, 0x8080, la a1, ldata; lhu a0, 0(a1))
    TEST_CASE(71, a0, 0xffffffff80808080, la a1, ldata; lw a0, 0(a1))
    TEST_CASE(72, a0, 0x80808080, la a1, ldata; lwu a0, 0(a1))
    TEST_CASE(73, a0, 0x0123456780808080, la a1, ldata; ld a0, 0(a1))
    TEST_CASE(74, a0, 0x01234567, la a1, ldata + 8; lw a0, -4(a1))      // negative offset
    TEST_CASE(75, a0, 0x7f, la a1, ldata; lb a0, 8(a1))
    TEST_CASE(76, a0, 0xfffffffffffffffe, la a1, ldata; lw a0, 12(a1))
    TEST_CASE(77, a0, 0xfffffffe, la a1, ldata; lwu a0, 12(a1))
    // A load into its own base register.
    TEST_CASE(78, a1, 0x0123456780808080, la a1, ldata; ld a1, 0(a1))

    // --- stores: only the addressed bytes change -------------------------------------------------
    CASE(79)
    la a1, sdata
    li a0, -1
    sd a0, 0(a1)
    li a2, 0x1122334455667788
    sb a2, 1(a1)
    ld a0, 0(a1)
    CHECK(a0, 0xffffffffffff88ff)
    CASE(80)
    sh a2, 4(a1)
    ld a0, 0(a1)
    CHECK(a0, 0xffff7788ffff88ff)
    CASE(81)
    sw a2, 8(a1)
    ld a0, 8(a1)
    CHECK(a0, 0x0000000055667788)               // sdata+8 was zero
    CASE(82)
    sd a2, 16(a1)
    ld a0, 16(a1)
    CHECK(a0, 0x1122334455667788)
    CASE(83)
    addi a3, a1, 32
    sw a2, -4(a3)                               // negative offset
    lwu a0, 28(a1)
    CHECK(a0, 0x55667788)

    // --- jumps ----------------------------------------------------------------------------------
    CASE(84)
    li ra, 0
    jal ra, 1f
4:  j fail
1:  la a0, 4b
    CHECK_REG(ra, a0)                           // link = address of the next instruction
    CASE(85)
    la a1, 2f
    .option push
    .option norvc                               // fixed 4-byte instructions: 8(a1) is exact
1:  jalr a0, 8(a1)                              // target = rs1 + imm
2:  j fail
    j fail
    .option pop
    la a2, 1b
    addi a2, a2, 4
    CHECK_REG(a0, a2)
    CASE(86)
    la a1, 3f
    addi a1, a1, 1
    jalr zero, 0(a1)                            // bit 0 of the target is cleared
    j fail
    .align 2
3:  CASE(87)
    la a0, 5f
4:  jalr a0, 0(a0)                              // rd == rs1: the old value is the target
    j fail
5:  la a1, 4b
    addi a1, a1, 4
    CHECK_REG(a0, a1)
    CASE(88)
    li a0, 0
    call 7f                                     // auipc + jalr, returning with ret
    addi a0, a0, 1
    CHECK(a0, 2)
    j 8f
7:  addi a0, a0, 1
    ret
8:

    // --- branches -----------------------------------------------------------------------------
    TEST_BR_TAKEN(89, beq, 5, 5)
    TEST_BR_NOT_TAKEN(90, beq, 5, 6)
    TEST_BR_TAKEN(91, bne, 0, 0x8000000000000000)
    TEST_BR_NOT_TAKEN(92, bne, -1, -1)
    TEST_BR_TAKEN(93, blt, -1, 1)
    TEST_BR_NOT_TAKEN(94, blt, 1, -1)
    TEST_BR_NOT_TAKEN(95, blt, 3, 3)
    TEST_BR_TAKEN(96, bge, 3, 3)
    TEST_BR_TAKEN(97, bge, 1, -1)
    TEST_BR_NOT_TAKEN(98, bge, 0x8000000000000000, 0x7fffffffffffffff)
    TEST_BR_TAKEN(99, bltu, 1, -1)
    TEST_BR_NOT_TAKEN(100, bltu, -1, 1)
    TEST_BR_NOT_TAKEN(101, bltu, 0, 0)
    TEST_BR_TAKEN(102, bgeu, 0, 0)
    TEST_BR_TAKEN(103, bgeu, -1, 1)
    TEST_BR_NOT_TAKEN(104, bgeu, 0x7fffffffffffffff, 0x8000000000000000)
    // A backward branch loop runs its body the right number of times.
    CASE(105)
    li a0, 0
    li a1, 10
1:  addi a0, a0, 3
    addi a1, a1, -1
    bnez a1, 1b
    CHECK(a0, 30)

    // --- fence.i: rewritten code runs in its new form (Zifencei) --------------------------------
    // The routine at `patch` is `addi a0, zero, <imm>; ret`; the immediate is rewritten.
    CASE(106)
    la a1, patch
    li a2, 0x02a00513                           // addi a0, zero, 42
    sw a2, 0(a1)
    li a2, 0x00008067                           // jalr zero, 0(ra)
    sw a2, 4(a1)
    fence.i
    li a0, 0
    jalr ra, 0(a1)
    CHECK(a0, 42)
    CASE(107)
    li a2, 0x02b00513                           // addi a0, zero, 43
    sw a2, 0(a1)
    fence.i
    jalr ra, 0(a1)
    CHECK(a0, 43)
    // ...also when the code was run many times before (a JIT has surely translated it).
    CASE(108)
    li a3, 200
1:  jalr ra, 0(a1)
    addi a3, a3, -1
    bnez a3, 1b
    li a2, 0x06300513                           // addi a0, zero, 99
    sw a2, 0(a1)
    fence.i
    jalr ra, 0(a1)
    CHECK(a0, 99)

    // --- fence / nop: execute without effect ------------------------------------------------------
    TEST_CASE(109, a0, 9, li a0, 9; fence; fence rw, rw; fence r, w; nop)
TEST_END

    .data
    .align 3
ldata:
    .dword 0x0123456780808080
    .dword 0xfffffffe0000007f
sdata:
    .dword 0, 0, 0, 0
    .align 3
patch:
    .word 0, 0
