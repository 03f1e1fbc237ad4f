// fpu: IEEE 754 binary32/binary64 arithmetic exactly as RISC-V's F and D extensions
// specify it, as pure functions on raw bit patterns.
//
// Everything is computed in software with integer arithmetic, so the results and flags do
// not depend on the host's floating-point state and every rounding mode, including RMM
// (which x86 lacks), goes through the same code. RISC-V specifics built in:
//   * a NaN result is always the canonical NaN; payloads never propagate (unpriv spec §11.3);
//   * tininess is detected after rounding (unpriv spec §11.4);
//   * fmin/fmax are IEEE 754-2019 minimumNumber/maximumNumber (unpriv spec §11.6);
//   * float→integer conversions saturate (unpriv spec §11.7, table 11.4).
//
// Binary32 values are passed and returned in the low 32 bits; box_f32/unbox_f32 below apply
// the register file's NaN-boxing (unpriv spec §12.2). Thread: any; there is no state.
#pragma once

#include <cstdint>

namespace trapeze::rv64::fpu {

// The rm field / frm values that name a rounding mode — unpriv spec §11.2, table 11.1.
// Functions taking a RoundingMode require one of these five.
enum class RoundingMode : uint8_t {
    RNE = 0,  // to nearest, ties to even
    RTZ = 1,  // towards zero
    RDN = 2,  // down, towards -inf
    RUP = 3,  // up, towards +inf
    RMM = 4,  // to nearest, ties to max magnitude
};

// Accrued exception flags, laid out as fflags — unpriv spec §11.2, table 11.2.
inline constexpr uint8_t kFlagNX = 1u << 0;  // inexact
inline constexpr uint8_t kFlagUF = 1u << 1;  // underflow
inline constexpr uint8_t kFlagOF = 1u << 2;  // overflow
inline constexpr uint8_t kFlagDZ = 1u << 3;  // divide by zero
inline constexpr uint8_t kFlagNV = 1u << 4;  // invalid operation

inline constexpr uint32_t kCanonicalNaN32 = 0x7fc00000u;
inline constexpr uint64_t kCanonicalNaN64 = 0x7ff8000000000000ull;

// A result and the exception flags its operation raised. `bits` holds a float's bit pattern,
// an integer's two's-complement pattern at its own width (zero-extended), or 0/1 for
// comparisons.
struct FpResult {
    uint64_t bits;
    uint8_t flags;
};

// fclass result bits — unpriv spec §11.9, table 11.5.
inline constexpr uint16_t kClassNegInf = 1u << 0;
inline constexpr uint16_t kClassNegNormal = 1u << 1;
inline constexpr uint16_t kClassNegSubnormal = 1u << 2;
inline constexpr uint16_t kClassNegZero = 1u << 3;
inline constexpr uint16_t kClassPosZero = 1u << 4;
inline constexpr uint16_t kClassPosSubnormal = 1u << 5;
inline constexpr uint16_t kClassPosNormal = 1u << 6;
inline constexpr uint16_t kClassPosInf = 1u << 7;
inline constexpr uint16_t kClassSignalingNaN = 1u << 8;
inline constexpr uint16_t kClassQuietNaN = 1u << 9;

// --- NaN-boxing (unpriv spec §12.2) ------------------------------------------------------------
// A binary32 value in a 64-bit f register has its upper 32 bits all ones.
inline constexpr uint64_t box_f32(uint32_t v) {
    return 0xffffffff00000000ull | v;
}
// The binary32 operand a register holds: an improperly boxed value reads as the canonical NaN.
inline constexpr uint32_t unbox_f32(uint64_t reg) {
    return (reg >> 32) == 0xffffffffu ? static_cast<uint32_t>(reg) : kCanonicalNaN32;
}

// --- binary32 ---------------------------------------------------------------------------------
FpResult f32_add(uint32_t a, uint32_t b, RoundingMode rm);
FpResult f32_sub(uint32_t a, uint32_t b, RoundingMode rm);
FpResult f32_mul(uint32_t a, uint32_t b, RoundingMode rm);
FpResult f32_div(uint32_t a, uint32_t b, RoundingMode rm);
FpResult f32_sqrt(uint32_t a, RoundingMode rm);
// (±(a×b)) + (±c) with a single rounding; the fmadd/fmsub/fnmsub/fnmadd forms are below.
FpResult f32_muladd(uint32_t a, uint32_t b, uint32_t c, bool negate_product, bool negate_addend, RoundingMode rm);
FpResult f32_min(uint32_t a, uint32_t b);
FpResult f32_max(uint32_t a, uint32_t b);
FpResult f32_eq(uint32_t a, uint32_t b);  // quiet: NV only for a signaling NaN
FpResult f32_lt(uint32_t a, uint32_t b);  // signaling: NV for any NaN
FpResult f32_le(uint32_t a, uint32_t b);  // signaling: NV for any NaN
uint16_t f32_classify(uint32_t a);
FpResult f32_to_i32(uint32_t a, RoundingMode rm);
FpResult f32_to_u32(uint32_t a, RoundingMode rm);
FpResult f32_to_i64(uint32_t a, RoundingMode rm);
FpResult f32_to_u64(uint32_t a, RoundingMode rm);
FpResult i32_to_f32(int32_t v, RoundingMode rm);
FpResult u32_to_f32(uint32_t v, RoundingMode rm);
FpResult i64_to_f32(int64_t v, RoundingMode rm);
FpResult u64_to_f32(uint64_t v, RoundingMode rm);

// --- binary64 ---------------------------------------------------------------------------------
FpResult f64_add(uint64_t a, uint64_t b, RoundingMode rm);
FpResult f64_sub(uint64_t a, uint64_t b, RoundingMode rm);
FpResult f64_mul(uint64_t a, uint64_t b, RoundingMode rm);
FpResult f64_div(uint64_t a, uint64_t b, RoundingMode rm);
FpResult f64_sqrt(uint64_t a, RoundingMode rm);
FpResult f64_muladd(uint64_t a, uint64_t b, uint64_t c, bool negate_product, bool negate_addend, RoundingMode rm);
FpResult f64_min(uint64_t a, uint64_t b);
FpResult f64_max(uint64_t a, uint64_t b);
FpResult f64_eq(uint64_t a, uint64_t b);
FpResult f64_lt(uint64_t a, uint64_t b);
FpResult f64_le(uint64_t a, uint64_t b);
uint16_t f64_classify(uint64_t a);
FpResult f64_to_i32(uint64_t a, RoundingMode rm);
FpResult f64_to_u32(uint64_t a, RoundingMode rm);
FpResult f64_to_i64(uint64_t a, RoundingMode rm);
FpResult f64_to_u64(uint64_t a, RoundingMode rm);
FpResult i32_to_f64(int32_t v, RoundingMode rm);
FpResult u32_to_f64(uint32_t v, RoundingMode rm);
FpResult i64_to_f64(int64_t v, RoundingMode rm);
FpResult u64_to_f64(uint64_t v, RoundingMode rm);

// --- between formats ----------------------------------------------------------------------------
FpResult f32_to_f64(uint32_t a);  // exact; only a signaling NaN raises a flag
FpResult f64_to_f32(uint64_t a, RoundingMode rm);

// --- the fused multiply-add forms, named as the instructions (unpriv spec §11.6) ----------------
inline FpResult f32_fmadd(uint32_t a, uint32_t b, uint32_t c, RoundingMode rm) {
    return f32_muladd(a, b, c, false, false, rm);  // a×b + c
}
inline FpResult f32_fmsub(uint32_t a, uint32_t b, uint32_t c, RoundingMode rm) {
    return f32_muladd(a, b, c, false, true, rm);  // a×b − c
}
inline FpResult f32_fnmsub(uint32_t a, uint32_t b, uint32_t c, RoundingMode rm) {
    return f32_muladd(a, b, c, true, false, rm);  // −(a×b) + c
}
inline FpResult f32_fnmadd(uint32_t a, uint32_t b, uint32_t c, RoundingMode rm) {
    return f32_muladd(a, b, c, true, true, rm);  // −(a×b) − c
}
inline FpResult f64_fmadd(uint64_t a, uint64_t b, uint64_t c, RoundingMode rm) {
    return f64_muladd(a, b, c, false, false, rm);
}
inline FpResult f64_fmsub(uint64_t a, uint64_t b, uint64_t c, RoundingMode rm) {
    return f64_muladd(a, b, c, false, true, rm);
}
inline FpResult f64_fnmsub(uint64_t a, uint64_t b, uint64_t c, RoundingMode rm) {
    return f64_muladd(a, b, c, true, false, rm);
}
inline FpResult f64_fnmadd(uint64_t a, uint64_t b, uint64_t c, RoundingMode rm) {
    return f64_muladd(a, b, c, true, true, rm);
}

}  // namespace trapeze::rv64::fpu
