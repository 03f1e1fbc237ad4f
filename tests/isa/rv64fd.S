// rv64fd.S — F and D extensions (unpriv spec ch. 11–13), a selection: arithmetic with its
// exception flags, fused multiply-add (one rounding; inf*0 is invalid even with a NaN addend),
// conversions with saturation and every rounding mode, fmin/fmax and comparisons with NaNs,
// fclass, sign injection, NaN-boxing of single values (§12.2), fflags accumulation, frm and
// static rounding modes, reserved rounding modes, and mstatus.FS (off traps, writes dirty).
//
// Values are written as bit patterns; register results are compared as all 64 bits, so a
// single-precision result must also be properly NaN-boxed.
#include "test_macros.h"

#define BOX(bits) (0xffffffff00000000 | (bits))   // a single value as it sits in an f register

#define D_ONE 0x3ff0000000000000
#define D_TWO 0x4000000000000000
#define D_THREE 0x4008000000000000
#define D_MINUS_ONE 0xbff0000000000000
#define D_ZERO 0x0000000000000000
#define D_MINUS_ZERO 0x8000000000000000
#define D_INF 0x7ff0000000000000
#define D_MINUS_INF 0xfff0000000000000
#define D_QNAN 0x7ff8000000000000              // also the canonical NaN
#define D_SNAN 0x7ff0000000000001
#define D_QNAN_PAYLOAD 0xfff8000000000123
#define S_ONE 0x3f800000
#define S_TWO 0x40000000
#define S_QNAN 0x7fc00000                      // also the canonical NaN
#define S_SNAN 0x7f800001

#define FLAG_NX 0x01
#define FLAG_UF 0x02
#define FLAG_OF 0x04
#define FLAG_DZ 0x08
#define FLAG_NV 0x10

#define RM_RNE 0
#define RM_RTZ 1
#define RM_RDN 2
#define RM_RUP 3
#define RM_RMM 4

// fa1, fa2, fa3 = x1, x2, x3 (raw 64-bit patterns); fflags cleared; run the code; then
// a0 = raw fa0 and a5 = fflags are checked.
#define LOAD_F(fr, bits) \
    li a4, bits;         \
    fmv.d.x fr, a4

#define TEST_F3(n, result, flags, x1, x2, x3, ...) \
    CASE(n);                                       \
    LOAD_F(fa1, x1);                               \
    LOAD_F(fa2, x2);                               \
    LOAD_F(fa3, x3);                               \
    fsflags zero;                                  \
    __VA_ARGS__;                                   \
    fmv.x.d a0, fa0;                               \
    frflags a5;                                    \
    CHECK(a0, result);                             \
    CHECK(a5, flags)

#define TEST_F1(n, op, result, flags, x1) TEST_F3(n, result, flags, x1, 0, 0, op fa0, fa1)
#define TEST_F2(n, op, result, flags, x1, x2) TEST_F3(n, result, flags, x1, x2, 0, op fa0, fa1, fa2)
#define TEST_FMA(n, op, result, flags, x1, x2, x3) \
    TEST_F3(n, result, flags, x1, x2, x3, op fa0, fa1, fa2, fa3)

// Code reading fa1 (and fa2) and writing integer a0: the result in a0 and fflags.
#define TEST_F_TO_X(n, result, flags, x1, x2, ...) \
    CASE(n);                                       \
    LOAD_F(fa1, x1);                               \
    LOAD_F(fa2, x2);                               \
    fsflags zero;                                  \
    __VA_ARGS__;                                   \
    frflags a5;                                    \
    CHECK(a0, result);                             \
    CHECK(a5, flags)
#define TEST_CVT_TO_X(n, result, flags, x1, ...) TEST_F_TO_X(n, result, flags, x1, 0, __VA_ARGS__)
#define TEST_CMP(n, op, result, flags, x1, x2) TEST_F_TO_X(n, result, flags, x1, x2, op a0, fa1, fa2)

// Code reading integer a1 and writing fa0.
#define TEST_X_TO_F(n, result, flags, v1, ...) \
    TEST_F3(n, result, flags, 0, 0, 0, li a1, v1; __VA_ARGS__)

TEST_BEGIN
    li t0, MSTATUS_FS
    csrc mstatus, t0
    li t0, MSTATUS_FS_INITIAL
    csrs mstatus, t0
    fsrm zero                                   // round to nearest, ties to even

    // --- double arithmetic and its flags ------------------------------------------------------
    TEST_F2(1, fadd.d, D_THREE, 0, D_ONE, D_TWO)
    TEST_F2(2, fadd.d, D_ONE, FLAG_NX, D_ONE, 0x3c30000000000000)          // 1 + 2^-60
    TEST_F2(3, fsub.d, D_QNAN, FLAG_NV, D_INF, D_INF)                     // inf - inf
    TEST_F2(4, fmul.d, D_INF, FLAG_OF | FLAG_NX, 0x7e37e43c8800759c, 0x7e37e43c8800759c)
    TEST_F2(5, fmul.d, D_ZERO, FLAG_UF | FLAG_NX, 0x01a56e1fc2f8f359, 0x01a56e1fc2f8f359)
    TEST_F2(6, fdiv.d, D_INF, FLAG_DZ, D_ONE, D_ZERO)
    TEST_F2(7, fdiv.d, D_MINUS_INF, FLAG_DZ, D_ONE, D_MINUS_ZERO)
    TEST_F2(8, fdiv.d, D_QNAN, FLAG_NV, D_ZERO, D_ZERO)
    TEST_F2(9, fdiv.d, 0x3fd5555555555555, FLAG_NX, D_ONE, D_THREE)
    TEST_F1(10, fsqrt.d, 0x3ff6a09e667f3bcd, FLAG_NX, D_TWO)
    TEST_F1(11, fsqrt.d, D_QNAN, FLAG_NV, D_MINUS_ONE)
    TEST_F1(12, fsqrt.d, D_MINUS_ZERO, 0, D_MINUS_ZERO)
    TEST_F2(13, fsub.d, D_ZERO, 0, D_ONE, D_ONE)                          // x - x = +0 (RNE)
    // NaN inputs give the canonical NaN; only a signaling one raises NV.
    TEST_F2(14, fadd.d, D_QNAN, 0, D_QNAN_PAYLOAD, D_ONE)
    TEST_F2(15, fadd.d, D_QNAN, FLAG_NV, D_ONE, D_SNAN)
    TEST_F2(16, fmul.d, D_MINUS_ZERO, 0, D_MINUS_ONE, D_ZERO)
    // The smallest subnormal survives (no flush to zero).
    TEST_F2(17, fadd.d, 0x0000000000000002, 0, 0x0000000000000001, 0x0000000000000001)

    // --- fused multiply-add ------------------------------------------------------------------
    TEST_FMA(18, fmadd.d, 0x401c000000000000, 0, D_TWO, D_THREE, D_ONE)     // 2*3+1 = 7
    TEST_FMA(19, fmsub.d, 0x4014000000000000, 0, D_TWO, D_THREE, D_ONE)     // 2*3-1 = 5
    TEST_FMA(20, fnmsub.d, 0xc014000000000000, 0, D_TWO, D_THREE, D_ONE)    // -(2*3)+1 = -5
    TEST_FMA(21, fnmadd.d, 0xc01c000000000000, 0, D_TWO, D_THREE, D_ONE)    // -(2*3)-1 = -7
    // (1 + 2^-30)(1 - 2^-30) - 1 = -2^-60 exactly; rounding the product first would give 0.
    TEST_FMA(22, fmadd.d, 0xbc30000000000000, 0, 0x3ff0000000400000, 0x3fefffffff800000, D_MINUS_ONE)
    // inf * 0 + qNaN is invalid (unpriv spec §11.6), unlike qNaN inputs elsewhere.
    TEST_FMA(23, fmadd.d, D_QNAN, FLAG_NV, D_INF, D_ZERO, D_QNAN)
    TEST_FMA(24, fmadd.d, D_QNAN, 0, D_ONE, D_QNAN, D_ONE)

    // --- single precision, and NaN-boxing ------------------------------------------------------
    TEST_F2(25, fadd.s, BOX(0x40700000), 0, BOX(0x3fc00000), BOX(0x40100000))     // 1.5+2.25
    TEST_F2(26, fdiv.s, BOX(0x3eaaaaab), FLAG_NX, BOX(S_ONE), BOX(0x40400000))   // 1/3
    TEST_F1(27, fsqrt.s, BOX(0x3fb504f3), FLAG_NX, BOX(S_TWO))
    TEST_FMA(28, fmadd.s, BOX(0x40e00000), 0, BOX(S_TWO), BOX(0x40400000), BOX(S_ONE))
    TEST_F2(29, fmul.s, BOX(0x7f800000), FLAG_OF | FLAG_NX, BOX(0x7f000000), BOX(0x7f000000))
    // An improperly boxed operand reads as the canonical NaN: no NV, canonical result.
    TEST_F2(30, fadd.s, BOX(S_QNAN), 0, 0x000000003f800000, BOX(S_ONE))
    TEST_F2(31, fmin.s, BOX(S_ONE), 0, 0x7fffffff3f800000, BOX(S_ONE))
    // flw, fmv.w.x and fcvt.s.d box their results.
    CASE(32)
    la a1, fdata
    flw fa0, 0(a1)
    fmv.x.d a0, fa0
    CHECK(a0, BOX(0x3f800000))
    CASE(33)
    li a1, 0x12345678c0000000                  // upper bits of the source are ignored
    fmv.w.x fa0, a1
    fmv.x.d a0, fa0
    CHECK(a0, BOX(0xc0000000))
    TEST_F1(34, fcvt.s.d, BOX(0x3eaaaaab), FLAG_NX, 0x3fd5555555555555)
    TEST_F1(35, fcvt.s.d, BOX(0x7f800000), FLAG_OF | FLAG_NX, 0x7e37e43c8800759c)
    TEST_F1(36, fcvt.d.s, D_QNAN, FLAG_NV, BOX(S_SNAN))
    TEST_F1(37, fcvt.d.s, 0x3ff8000000000000, 0, BOX(0x3fc00000))
    // fmv.x.w sign-extends bit 31; fsw stores the low word only.
    TEST_CVT_TO_X(38, 0xffffffff80000000, 0, BOX(0x80000000), fmv.x.w a0, fa1)
    CASE(39)
    LOAD_F(fa1, 0xaaaaaaaa3f800000)
    la a1, fdata
    li a2, -1
    sd a2, 8(a1)
    fsw fa1, 8(a1)
    ld a0, 8(a1)
    CHECK(a0, 0xffffffff3f800000)
    // fld/fsd move all 64 bits, signaling NaNs included (no canonicalisation).
    CASE(40)
    li a2, D_SNAN
    sd a2, 8(a1)
    fld fa0, 8(a1)
    fsd fa0, 16(a1)
    ld a0, 16(a1)
    CHECK(a0, D_SNAN)
    TEST_F1(41, fmv.d, D_SNAN, 0, D_SNAN)       // fsgnj.d: no flags, no canonicalisation

    // --- conversions to integers: rounding modes (static) and saturation ----------------------------
    TEST_CVT_TO_X(42, 3, FLAG_NX, 0x400d99999999999a, fcvt.w.d a0, fa1, rtz)        // 3.7
    TEST_CVT_TO_X(43, 4, FLAG_NX, 0x400d99999999999a, fcvt.w.d a0, fa1, rne)
    TEST_CVT_TO_X(44, -4, FLAG_NX, 0xc00c000000000000, fcvt.w.d a0, fa1, rdn)        // -3.5
    TEST_CVT_TO_X(45, -3, FLAG_NX, 0xc00c000000000000, fcvt.w.d a0, fa1, rup)
    TEST_CVT_TO_X(46, 3, FLAG_NX, 0x4004000000000000, fcvt.w.d a0, fa1, rmm)         // 2.5
    TEST_CVT_TO_X(47, 2, FLAG_NX, 0x4004000000000000, fcvt.w.d a0, fa1, rne)
    TEST_CVT_TO_X(48, -3, FLAG_NX, 0xc004000000000000, fcvt.w.d a0, fa1, rmm)        // -2.5
    TEST_CVT_TO_X(49, 0x7fffffff, FLAG_NV, 0x4202a05f20000000, fcvt.w.d a0, fa1, rtz)           // 1e10
    TEST_CVT_TO_X(50, 0xffffffff80000000, FLAG_NV, 0xc202a05f20000000, fcvt.w.d a0, fa1, rtz)   // -1e10
    TEST_CVT_TO_X(51, 0x7fffffff, FLAG_NV, D_QNAN, fcvt.w.d a0, fa1, rtz)
    TEST_CVT_TO_X(52, 0x7fffffff, FLAG_NV, D_INF, fcvt.w.d a0, fa1, rtz)
    TEST_CVT_TO_X(53, 0xffffffff80000000, FLAG_NV, D_MINUS_INF, fcvt.w.d a0, fa1, rtz)
    TEST_CVT_TO_X(54, 0, FLAG_NV, D_MINUS_ONE, fcvt.wu.d a0, fa1, rtz)
    TEST_CVT_TO_X(55, 0, FLAG_NX, 0xbfe0000000000000, fcvt.wu.d a0, fa1, rtz)        // -0.5 -> 0
    TEST_CVT_TO_X(56, 0xffffffffffffffff, FLAG_NV, 0x4202a05f20000000, fcvt.wu.d a0, fa1, rtz) // sign-extended
    TEST_CVT_TO_X(57, 0xffffffffffffffff, FLAG_NV, D_QNAN, fcvt.wu.d a0, fa1, rtz)
    TEST_CVT_TO_X(58, 0xffffffffffffffff, 0, 0x41efffffffe00000, fcvt.wu.d a0, fa1, rtz)     // 2^32-1
    TEST_CVT_TO_X(59, 0x7fffffffffffffff, FLAG_NV, 0x43e0000000000000, fcvt.l.d a0, fa1, rtz)  // 2^63
    TEST_CVT_TO_X(60, 0x8000000000000000, 0, 0xc3e0000000000000, fcvt.l.d a0, fa1, rtz)        // -2^63
    TEST_CVT_TO_X(61, 0x7fffffffffffffff, FLAG_NV, D_QNAN, fcvt.l.d a0, fa1, rtz)
    TEST_CVT_TO_X(62, 0x8000000000000000, FLAG_NV, D_MINUS_INF, fcvt.l.d a0, fa1, rtz)
    TEST_CVT_TO_X(63, 0, FLAG_NV, D_MINUS_ONE, fcvt.lu.d a0, fa1, rtz)
    TEST_CVT_TO_X(64, 0xffffffffffffffff, FLAG_NV, 0x43f0000000000000, fcvt.lu.d a0, fa1, rtz) // 2^64
    TEST_CVT_TO_X(65, 0x8000000000000000, 0, 0x43e0000000000000, fcvt.lu.d a0, fa1, rtz)
    TEST_CVT_TO_X(66, 0xffffffff80000000, FLAG_NV, BOX(0xcf800000), fcvt.w.s a0, fa1, rtz)    // -2^32
    TEST_CVT_TO_X(67, 0xffffffff00000000, 0, BOX(0xcf800000), fcvt.l.s a0, fa1, rtz)
    TEST_CVT_TO_X(68, 0xffffffffffffffff, FLAG_NV, BOX(S_SNAN), fcvt.wu.s a0, fa1, rtz)

    // --- conversions from integers -----------------------------------------------------------------
    TEST_X_TO_F(69, 0x43e0000000000000, FLAG_NX, 0x7fffffffffffffff, fcvt.d.l fa0, a1)
    TEST_X_TO_F(70, D_MINUS_ONE, 0, -1, fcvt.d.w fa0, a1)
    TEST_X_TO_F(71, D_MINUS_ONE, 0, 0x12345678ffffffff, fcvt.d.w fa0, a1)       // upper bits ignored
    TEST_X_TO_F(72, 0x41efffffffe00000, 0, 0xffffffffffffffff, fcvt.d.wu fa0, a1)
    TEST_X_TO_F(73, 0x43dfffffffffffff, FLAG_NX, 0x7fffffffffffffff, fcvt.d.l fa0, a1, rtz)
    TEST_X_TO_F(74, 0x43f0000000000000, FLAG_NX, 0xffffffffffffffff, fcvt.d.lu fa0, a1)
    TEST_X_TO_F(75, BOX(0x4f000000), FLAG_NX, 0x7fffffff, fcvt.s.w fa0, a1)
    TEST_X_TO_F(76, BOX(0x4effffff), FLAG_NX, 0x7fffffff, fcvt.s.w fa0, a1, rdn)
    TEST_X_TO_F(77, BOX(0xcf000000), 0, 0xffffffff80000000, fcvt.s.l fa0, a1)

    // --- fmin / fmax ----------------------------------------------------------------------------------
    TEST_F2(78, fmin.d, D_ONE, 0, D_ONE, D_QNAN)              // one NaN: the other operand
    TEST_F2(79, fmax.d, D_ONE, 0, D_QNAN_PAYLOAD, D_ONE)
    TEST_F2(80, fmin.d, D_ONE, FLAG_NV, D_ONE, D_SNAN)        // ...signaling: also NV
    TEST_F2(81, fmax.d, D_QNAN, 0, D_QNAN_PAYLOAD, D_QNAN_PAYLOAD)  // two NaNs: canonical NaN
    TEST_F2(82, fmin.d, D_MINUS_ZERO, 0, D_ZERO, D_MINUS_ZERO) // -0 < +0
    TEST_F2(83, fmax.d, D_ZERO, 0, D_MINUS_ZERO, D_ZERO)
    TEST_F2(84, fmin.d, D_MINUS_INF, 0, D_MINUS_INF, D_ONE)
    TEST_F2(85, fmax.s, BOX(S_TWO), 0, BOX(S_ONE), BOX(S_TWO))
    TEST_F2(86, fmin.s, BOX(S_ONE), FLAG_NV, BOX(S_SNAN), BOX(S_ONE))
    TEST_F2(87, fmax.s, BOX(S_QNAN), FLAG_NV, BOX(S_SNAN), BOX(S_SNAN))

    // --- comparisons: feq is quiet, flt/fle signal on any NaN --------------------------------------------
    TEST_CMP(88, feq.d, 0, 0, D_QNAN, D_ONE)
    TEST_CMP(89, feq.d, 0, FLAG_NV, D_SNAN, D_ONE)
    TEST_CMP(90, flt.d, 0, FLAG_NV, D_QNAN, D_ONE)
    TEST_CMP(91, fle.d, 0, FLAG_NV, D_ONE, D_QNAN)
    TEST_CMP(92, feq.d, 1, 0, D_MINUS_ZERO, D_ZERO)
    TEST_CMP(93, flt.d, 0, 0, D_MINUS_ZERO, D_ZERO)
    TEST_CMP(94, fle.d, 1, 0, D_MINUS_ZERO, D_ZERO)
    TEST_CMP(95, flt.d, 1, 0, D_MINUS_INF, D_ONE)
    TEST_CMP(96, flt.s, 1, 0, BOX(S_ONE), BOX(S_TWO))
    TEST_CMP(97, feq.s, 0, 0, 0x000000003f800000, 0x000000003f800000)   // unboxed: NaN != NaN

    // --- fclass: one bit per class ------------------------------------------------------------------------
    TEST_CVT_TO_X(98, 1 << 0, 0, D_MINUS_INF, fclass.d a0, fa1)
    TEST_CVT_TO_X(99, 1 << 1, 0, D_MINUS_ONE, fclass.d a0, fa1)
    TEST_CVT_TO_X(100, 1 << 2, 0, 0x8000000000000001, fclass.d a0, fa1)
    TEST_CVT_TO_X(101, 1 << 3, 0, D_MINUS_ZERO, fclass.d a0, fa1)
    TEST_CVT_TO_X(102, 1 << 4, 0, D_ZERO, fclass.d a0, fa1)
    TEST_CVT_TO_X(103, 1 << 5, 0, 0x000fffffffffffff, fclass.d a0, fa1)
    TEST_CVT_TO_X(104, 1 << 6, 0, D_ONE, fclass.d a0, fa1)
    TEST_CVT_TO_X(105, 1 << 7, 0, D_INF, fclass.d a0, fa1)
    TEST_CVT_TO_X(106, 1 << 8, 0, D_SNAN, fclass.d a0, fa1)
    TEST_CVT_TO_X(107, 1 << 9, 0, D_QNAN_PAYLOAD, fclass.d a0, fa1)
    TEST_CVT_TO_X(108, 1 << 8, 0, BOX(S_SNAN), fclass.s a0, fa1)
    TEST_CVT_TO_X(109, 1 << 5, 0, BOX(0x00000001), fclass.s a0, fa1)
    TEST_CVT_TO_X(110, 1 << 9, 0, 0x00000000ff800000, fclass.s a0, fa1)  // unboxed: canonical NaN

    // --- sign injection: bit operations, NaNs pass through --------------------------------------------------
    TEST_F2(111, fsgnj.d, 0xfff0000000000001, 0, D_SNAN, D_MINUS_ONE)
    TEST_F2(112, fsgnjn.d, 0x3ff0000000000000, 0, D_MINUS_ONE, D_MINUS_ONE)   // fneg
    TEST_F2(113, fsgnjx.d, 0x3ff0000000000000, 0, D_MINUS_ONE, D_MINUS_ONE)   // fabs
    TEST_F2(114, fsgnjx.d, 0xbff0000000000000, 0, D_ONE, D_MINUS_ZERO)
    TEST_F2(115, fsgnjn.s, BOX(0xbf800000), 0, BOX(S_ONE), BOX(S_ONE))
    TEST_F2(116, fsgnjn.s, BOX(0xffc00000), 0, 0x0000000000000000, 0x0000000000000000) // unboxed

    // --- fflags accumulate until cleared ------------------------------------------------------------------
    CASE(117)
    fsflags zero
    LOAD_F(fa1, D_ONE)
    LOAD_F(fa2, D_THREE)
    LOAD_F(fa3, D_ZERO)
    fdiv.d fa0, fa1, fa2                       // NX
    fdiv.d fa0, fa1, fa3                       // DZ
    fadd.d fa0, fa1, fa1                       // none: the flags stay
    frflags a0
    CHECK(a0, FLAG_NX | FLAG_DZ)
    CASE(118)
    li a1, FLAG_OF
    fsflags a2, a1                             // swap: old value out, new in
    CHECK(a2, FLAG_NX | FLAG_DZ)
    fsqrt.d fa0, fa2                           // NX on top of OF
    frflags a0
    CHECK(a0, FLAG_OF | FLAG_NX)

    // --- rounding: frm for dyn, the static rm overrides it -----------------------------------------------------
    // 2/3 = 0x3fe5555555555555 + 1/3 ulp: rounds down to nearest, up with RUP.
    CASE(119)
    LOAD_F(fa1, D_TWO)
    LOAD_F(fa2, D_THREE)
    li a1, RM_RUP
    fsrm a1
    fdiv.d fa0, fa1, fa2                       // dyn = RUP
    fmv.x.d a0, fa0
    CHECK(a0, 0x3fe5555555555556)
    CASE(120)
    fdiv.d fa0, fa1, fa2, rne                  // static RNE
    fmv.x.d a0, fa0
    CHECK(a0, 0x3fe5555555555555)
    CASE(121)
    fneg.d fa1, fa1
    li a1, RM_RDN
    fsrm a1
    fdiv.d fa0, fa1, fa2                       // -2/3 rounded down: away from zero
    fmv.x.d a0, fa0
    CHECK(a0, 0xbfe5555555555556)
    CASE(122)
    fdiv.d fa0, fa1, fa2, rtz
    fmv.x.d a0, fa0
    CHECK(a0, 0xbfe5555555555555)
    CASE(123)
    li a1, RM_RTZ
    fsrm a1
    LOAD_F(fa1, 0x7e37e43c8800759c)
    fmul.d fa0, fa1, fa1                       // overflow toward zero: the largest finite
    fmv.x.d a0, fa0
    CHECK(a0, 0x7fefffffffffffff)
    CASE(124)
    LOAD_F(fa1, 0x400d99999999999a)            // 3.7
    fcvt.w.d a0, fa1, dyn                      // RTZ from frm
    CHECK(a0, 3)
    fsrm zero

    // Reserved rounding modes are illegal: in frm (with dyn), and in the instruction.
    CASE(125)
    li a1, 5
    fsrm a1
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, fadd.d fa0, fa1, fa2)
    CASE(126)
    li a1, 7
    fsrm a1
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, fsqrt.d fa0, fa1)
    fsrm zero
    CASE(127)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, .word 0x02c5d553)    // fadd.d fa0, fa1, fa2 with rm 5
    CHECK_MTVAL(0x02c5d553)
    CASE(128)
    fadd.d fa0, fa1, fa2                       // frm valid again: no trap

    // --- mstatus.FS ---------------------------------------------------------------------------------------
    // Writing an f register or fflags makes FS dirty (and SD reads 1).
    CASE(129)
    li t0, MSTATUS_FS
    csrc mstatus, t0
    li t0, MSTATUS_FS_INITIAL
    csrs mstatus, t0
    li a1, 1
    fmv.d.x fa0, a1
    csrr a0, mstatus
    li a2, MSTATUS_FS
    and a3, a0, a2
    CHECK(a3, MSTATUS_FS_DIRTY)
    srli a4, a0, 63                            // SD
    CHECK(a4, 1)
    // With FS off, FP instructions and the FP CSRs are illegal.
    CASE(130)
    li t0, MSTATUS_FS
    csrc mstatus, t0
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, fadd.d fa0, fa1, fa2)
    CASE(131)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, fld fa0, 0(sp))
    CASE(132)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, frflags a0)
    CASE(133)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, fmv.x.d a0, fa0)
    CASE(134)
    csrr a0, mstatus                           // SD follows FS
    srli a4, a0, 63
    CHECK(a4, 0)
    li t0, MSTATUS_FS_INITIAL
    csrs mstatus, t0
TEST_END

    .data
    .align 3
fdata:
    .word 0x3f800000, 0
    .dword 0, 0
