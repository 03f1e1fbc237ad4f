// rv64m.S — M extension (unpriv spec ch. 7): products of every signedness, the high halves,
// division rounding toward zero, division by zero and the INT_MIN / -1 overflow (which
// never trap: table 7.1 fixes their results), and the 32-bit word forms.
#include "test_macros.h"

#define TEST_RR(n, op, result, v1, v2) \
    TEST_CASE(n, a0, result, li a1, v1; li a2, v2; op a0, a1, a2)
#define TEST_RR_SAME(n, op, result, v1, v2) \
    TEST_CASE(n, a1, result, li a1, v1; li a2, v2; op a1, a1, a2)

#define INT64_MIN 0x8000000000000000
#define INT32_MIN_SX 0xffffffff80000000

TEST_BEGIN
    // --- mul: the low 64 bits ---------------------------------------------------------------
    TEST_RR(1, mul, 21, 3, 7)
    TEST_RR(2, mul, 1, -1, -1)
    TEST_RR(3, mul, INT64_MIN, INT64_MIN, -1)
    TEST_RR(4, mul, 0xfffffffffffffffe, 0x7fffffffffffffff, 2)
    TEST_RR(5, mul, 0xf258bf1568abeef1, 0x123456789abcdef1, 0x0000000100000001 + 0x1000)
    TEST_RR_SAME(6, mul, -12, 3, -4)

    // --- mulh (signed x signed), mulhu, mulhsu (signed rs1 x unsigned rs2) -----------------------
    TEST_RR(7, mulh, 0, -1, -1)
    TEST_RR(8, mulh, 0x4000000000000000, INT64_MIN, INT64_MIN)
    TEST_RR(9, mulh, -1, -1, 1)
    TEST_RR(10, mulh, 0xc000000000000000, INT64_MIN, 0x7fffffffffffffff)
    TEST_RR(11, mulh, 0, 0x7fffffffffffffff, 1)
    TEST_RR(12, mulhu, 0xfffffffffffffffe, -1, -1)
    TEST_RR(13, mulhu, 1, INT64_MIN, 2)
    TEST_RR(14, mulhu, 0, 0xffffffff, 0xffffffff)
    TEST_RR(15, mulhsu, -1, -1, -1)                    // -1 * (2^64 - 1)
    TEST_RR(16, mulhsu, INT64_MIN, INT64_MIN, -1)      // -2^63 * (2^64 - 1)
    TEST_RR(17, mulhsu, 1, 2, -1)                      // 2 * (2^64 - 1)
    TEST_RR(18, mulhsu, 0xffffffffffffffff, -2, 1)
    TEST_RR(19, mulhsu, 0, 2, 1)

    // --- mulw: low 32 bits of the product, sign-extended; upper source bits ignored -------------
    TEST_RR(20, mulw, 0xfffffffffffffffe, 0x7fffffff, 2)
    TEST_RR(21, mulw, 15, 0x100000003, 0x700000005)
    TEST_RR(22, mulw, INT32_MIN_SX, 0x80000000, -1)
    TEST_RR(23, mulw, 0x00000000366176f8, 0x12345678, 0x9abcdef1 - 0x100000000)

    // --- div/rem: rounding toward zero, remainder has the dividend's sign --------------------------
    TEST_RR(24, div, 3, 20, 6)
    TEST_RR(25, div, -3, -20, 6)
    TEST_RR(26, div, -3, 20, -6)
    TEST_RR(27, div, 3, -20, -6)
    TEST_RR(28, rem, 2, 20, 6)
    TEST_RR(29, rem, -2, -20, 6)
    TEST_RR(30, rem, 2, 20, -6)
    TEST_RR(31, rem, -2, -20, -6)
    TEST_RR(32, divu, 0x7fffffffffffffff, -1, 2)
    TEST_RR(33, remu, 1, -1, 2)
    TEST_RR(34, divu, 0, 5, -1)
    TEST_RR(35, remu, 5, 5, -1)
    TEST_RR_SAME(36, div, -7, -21, 3)

    // --- division by zero: quotient all ones, remainder = dividend ---------------------------------
    TEST_RR(37, div, -1, 20, 0)
    TEST_RR(38, div, -1, -20, 0)
    TEST_RR(39, divu, 0xffffffffffffffff, 20, 0)
    TEST_RR(40, rem, -20, -20, 0)
    TEST_RR(41, remu, 20, 20, 0)
    TEST_RR(42, rem, INT64_MIN, INT64_MIN, 0)

    // --- signed overflow: INT64_MIN / -1 = INT64_MIN, remainder 0 ------------------------------------
    TEST_RR(43, div, INT64_MIN, INT64_MIN, -1)
    TEST_RR(44, rem, 0, INT64_MIN, -1)
    TEST_RR(45, divu, 0, INT64_MIN, -1)
    TEST_RR(46, remu, INT64_MIN, INT64_MIN, -1)

    // --- word forms: 32-bit operands (upper bits ignored), sign-extended results -----------------------
    TEST_RR(47, divw, -3, -20, 6)
    TEST_RR(48, divw, -3, 0xffffffec, 6)                        // 0xffffffec is -20 as a word
    TEST_RR(49, remw, -2, -20, 6)
    TEST_RR(50, divuw, 0x7fffffff, 0xffffffff, 2)
    TEST_RR(51, divuw, 0xffffffffffffffff, 0xffffffff, 1)       // 0xffffffff / 1 is sign-extended
    TEST_RR(52, remuw, 0xf, 0xffffffff, 0x10)
    TEST_RR(53, divuw, 8, 0x100000010, 0x100000002)
    TEST_RR(54, divw, INT32_MIN_SX, 0x80000000, -1)              // overflow
    TEST_RR(55, remw, 0, 0x80000000, -1)
    TEST_RR(56, divw, -1, 20, 0)                                 // by zero
    TEST_RR(57, divuw, -1, 20, 0)
    TEST_RR(58, remw, INT32_MIN_SX, 0x80000000, 0)
    TEST_RR(59, remuw, INT32_MIN_SX, 0x80000000, 0)
    TEST_RR(60, remw, 7, 0x1234500000007, 0x100000000)           // divisor is 0 as a word
    TEST_RR(61, divw, 1, 0x700000007, 0x300000007)
TEST_END
