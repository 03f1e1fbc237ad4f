// rv64c.S — C extension on RV64 (unpriv spec ch. 16): every RV64 compressed form, spelled
// with its c. mnemonic so the assembler cannot pick another encoding; immediates at their
// extremes; the RV64 meaning of the RV32 c.jal encoding (c.addiw); compressed jumps and
// links (pc + 2); reserved encodings; and a 32-bit instruction that straddles a page end.
#include "test_macros.h"

TEST_BEGIN
    // --- constants -------------------------------------------------------------------------
    TEST_CASE(1, a0, -32, c.li a0, -32)
    TEST_CASE(2, a0, 31, c.li a0, 31)
    TEST_CASE(3, a0, 0x1f000, c.lui a0, 0x1f)
    TEST_CASE(4, a0, 0xfffffffffffe0000, c.lui a0, 0xfffe0)       // nzimm[17] is the sign
    TEST_CASE(5, a0, 0xfffffffffffff000, c.lui a0, 0xfffff)

    // --- immediate arithmetic ----------------------------------------------------------------
    TEST_CASE(6, a0, 68, li a0, 100; c.addi a0, -32)
    TEST_CASE(7, a0, 0x8000000000000000, li a0, 0x7fffffffffffffe1; c.addi a0, 31)
    TEST_CASE(8, a0, 0xffffffff80000000, li a0, 0x7fffffff; c.addiw a0, 1)
    TEST_CASE(9, a0, 0xffffffff80000000, li a0, 0x1280000000; c.addiw a0, 0)   // sext.w
    TEST_CASE(10, a0, 0xffffffffffffffe0, li a0, 0x100000000; c.addiw a0, -32)
    // The RV32 encoding of c.jal (funct3 001, quadrant 1) is c.addiw on RV64: a0 += 1, as a word.
    TEST_CASE(11, a0, 0xffffffff80000000, li a0, 0x7fffffff; .hword 0x2505)
    TEST_CASE(12, a0, 0x8000000000000000, li a0, 1; c.slli a0, 63)
    TEST_CASE(13, a0, 0x00000000ffffffff, li a0, -1; c.srli a0, 32)
    TEST_CASE(14, a0, 0xffffffffffffffff, li a0, 0x8000000000000000; c.srai a0, 63)
    TEST_CASE(15, a0, 0x0000000000000001, li a0, 0x8000000000000000; c.srli a0, 63)
    TEST_CASE(16, a0, 0xffffffffffffffe0 & 0x123456789abcdeff, li a0, 0x123456789abcdeff; c.andi a0, -32)
    TEST_CASE(17, a0, 0x1f, li a0, -1; c.andi a0, 31)

    // --- register-register ---------------------------------------------------------------------
    TEST_CASE(18, a0, 0x123456789abcdef0, li a1, 0x123456789abcdef0; li a0, 0; c.mv a0, a1)
    TEST_CASE(19, a0, 0, li a1, 1; li a0, -1; c.add a0, a1)
    TEST_CASE(20, a0, 0x7fffffffffffffff, li a1, 1; li a0, 0x8000000000000000; c.sub a0, a1)
    TEST_CASE(21, a0, 0xf0f0, li a1, 0xff00; li a0, 0x0ff0; c.xor a0, a1)
    TEST_CASE(22, a0, 0xfff0, li a1, 0xff00; li a0, 0x0ff0; c.or a0, a1)
    TEST_CASE(23, a0, 0x0f00, li a1, 0xff00; li a0, 0x0ff0; c.and a0, a1)
    TEST_CASE(24, a0, 0xffffffff80000000, li a1, 0x7fffffff; li a0, 0x100000001; c.addw a0, a1)
    TEST_CASE(25, a0, 0x7fffffff, li a1, 1; li a0, 0xffffffff80000000; c.subw a0, a1)
    TEST_CASE(26, s1, 0x55, li s0, 0x50; li s1, 5; c.add s1, s0)   // a register outside x8..x15 form

    // --- stack pointer forms ---------------------------------------------------------------------
    CASE(27)
    mv s0, sp
    c.addi16sp sp, -512
    sub a0, s0, sp
    CHECK(a0, 512)
    CASE(28)
    c.addi16sp sp, 496
    sub a0, s0, sp
    CHECK(a0, 16)
    c.addi16sp sp, -496                         // sp = s0 - 512 again
    CASE(29)
    c.addi4spn a0, sp, 1020
    sub a0, a0, sp
    CHECK(a0, 1020)
    CASE(30)
    c.addi4spn a1, sp, 4
    sub a1, a1, sp
    CHECK(a1, 4)
    CASE(31)
    li a2, 0x1122334455667788
    c.sdsp a2, 504(sp)
    ld a0, 504(sp)
    CHECK(a0, 0x1122334455667788)
    CASE(32)
    c.ldsp a3, 504(sp)
    CHECK(a3, 0x1122334455667788)
    CASE(33)
    li a2, 0x80000000
    c.swsp a2, 252(sp)
    c.lwsp a3, 252(sp)                          // sign-extended
    CHECK(a3, 0xffffffff80000000)
    CASE(34)
    li a2, 0x1122334455667788
    c.sdsp a2, 248(sp)
    c.lwsp a3, 252(sp)                          // its upper word
    CHECK(a3, 0x11223344)
    mv sp, s0

    // --- register-based loads and stores --------------------------------------------------------
    CASE(35)
    la a1, cdata
    li a2, 0x8877665544332211
    c.sd a2, 120(a1)
    c.ld a3, 120(a1)
    CHECK(a3, 0x8877665544332211)
    CASE(36)
    c.lw a3, 124(a1)                            // the upper word, sign-extended
    CHECK(a3, 0xffffffff88776655)
    CASE(37)
    li a2, 0x7fffffff
    c.sw a2, 124(a1)
    c.lw a4, 124(a1)
    CHECK(a4, 0x7fffffff)
    li a2, 0x0102030405060708
    c.sd a2, 248(a1)                            // the largest offsets
    c.ld a4, 248(a1)
    CHECK(a4, 0x0102030405060708)
    CASE(38)
    c.lw a4, 0(a1)
    CHECK(a4, 0xffffffffcafef00d)

    // --- floating-point loads and stores (FS must be on) ----------------------------------------
    li t0, MSTATUS_FS_INITIAL
    csrs mstatus, t0
    CASE(39)
    la a1, cdata
    li a2, 0x400921fb54442d18                   // pi
    sd a2, 8(a1)
    c.fld fa0, 8(a1)
    c.fsd fa0, 240(a1)
    ld a3, 240(a1)
    CHECK(a3, 0x400921fb54442d18)
    CASE(40)
    addi sp, sp, -512
    c.fsdsp fa0, 504(sp)
    c.fldsp fa1, 504(sp)
    fmv.x.d a3, fa1
    addi sp, sp, 512
    CHECK(a3, 0x400921fb54442d18)

    // --- jumps and branches ----------------------------------------------------------------------
    CASE(41)
    c.j 1f
    j fail
1:  CASE(42)
    li a0, 0
    c.beqz a0, 2f
    j fail
2:  CASE(43)
    li a0, 1
    c.beqz a0, 3f
    c.bnez a0, 4f
3:  j fail
4:  CASE(44)
    li a0, 3                                    // a backward c.bnez loop
    li a1, 0
5:  c.addi a1, 2
    c.addi a0, -1
    c.bnez a0, 5b
    CHECK(a1, 6)
    CASE(45)
    la a1, 6f
    c.jr a1
    j fail
6:  CASE(46)
    la a1, callee
7:  c.jalr a1                                   // ra = 7b + 2
    la a2, 7b + 2
    CHECK_REG(ra, a2)
    CHECK(a0, 0x5a)

    // A 32-bit instruction at an address that is only 2-byte aligned, then a jump to one.
    CASE(47)
    c.nop
    li a0, 0x1234                               // lui + addi, at a 2-byte boundary
    addi a0, a0, 1
    CHECK(a0, 0x1235)
    CASE(48)
    la a1, odd_target
    jalr ra, 0(a1)
    CHECK(a0, 0x77)

    // A 32-bit instruction whose second half is on the next page.
    CASE(49)
    li a0, 41
    call straddle
    CHECK(a0, 42)

    // --- traps ---------------------------------------------------------------------------------
    CASE(50)
    EXPECT_TRAP(CAUSE_BREAKPOINT, 8: c.ebreak)
    CHECK_MEPC(8b)
    // All-zero parcel: defined to be illegal; mtval is the (zero) instruction.
    CASE(51)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, .hword 0x0000)
    CHECK_MTVAL(0)
    // c.addi16sp with a zero immediate is reserved; mtval = the 16 bits, zero-extended.
    CASE(52)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, .hword 0x6101)
    CHECK_MTVAL(0x6101)
    // c.lui with a zero immediate is reserved.
    CASE(53)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, .hword 0x6501)
    CHECK_MTVAL(0x6501)
    // c.ldsp into x0 is reserved.
    CASE(54)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, .hword 0x6002)
    CHECK_MTVAL(0x6002)
TEST_END

callee:
    li a0, 0x5a
    c.jr ra

    .align 2
    c.nop
odd_target:                                     // 2 mod 4
    li a0, 0x77
    ret

    .balign 4096
    .fill 2047, 2, 0x0001                       // c.nop up to the last parcel of the page
straddle:
    .option push
    .option norvc
    addi a0, a0, 1                              // bytes 0xffe..0x1001 of two pages
    .option pop
    c.jr ra

    .data
    .align 3
cdata:
    .word 0xcafef00d
    .fill 255, 4, 0
