// Tests for rv64/fpu: the corner cases the RISC-V F and D chapters and IEEE 754 call out, as
// tables whose expected values follow from the specifications, and a differential run against
// the host's SSE unit, which rounds exactly and detects tininess after rounding as RISC-V does.
#include "rv64/fpu/fpu.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <tuple>

namespace trapeze::rv64::fpu {

// Found by argument-dependent lookup, so outside the anonymous namespace.
bool operator==(const FpResult& a, const FpResult& b) {
    return a.bits == b.bits && a.flags == b.flags;
}

std::string flag_names(uint8_t flags) {
    std::string s;
    const char* names[] = {"NX", "UF", "OF", "DZ", "NV"};
    for (int i = 4; i >= 0; --i) {
        if ((flags & (1u << i)) == 0) continue;
        if (!s.empty()) s += "|";
        s += names[i];
    }
    return s.empty() ? "none" : s;
}

void PrintTo(const FpResult& r, std::ostream* os) {  // NOLINT(readability-identifier-naming): GoogleTest's name
    *os << "{0x" << std::hex << r.bits << std::dec << ", " << flag_names(r.flags) << "}";
}

namespace {

constexpr RoundingMode RNE = RoundingMode::RNE;
constexpr RoundingMode RTZ = RoundingMode::RTZ;
constexpr RoundingMode RDN = RoundingMode::RDN;
constexpr RoundingMode RUP = RoundingMode::RUP;
constexpr RoundingMode RMM = RoundingMode::RMM;
constexpr RoundingMode kAllModes[] = {RNE, RTZ, RDN, RUP, RMM};

constexpr uint8_t NONE = 0;
constexpr uint8_t NX = kFlagNX;
constexpr uint8_t UF = kFlagUF;
constexpr uint8_t OF = kFlagOF;
constexpr uint8_t DZ = kFlagDZ;
constexpr uint8_t NV = kFlagNV;

constexpr uint32_t b32(float f) {
    return std::bit_cast<uint32_t>(f);
}
constexpr uint64_t b64(double d) {
    return std::bit_cast<uint64_t>(d);
}
constexpr FpResult r32(float f, uint8_t flags = NONE) {
    return {b32(f), flags};
}
constexpr FpResult r64(double d, uint8_t flags = NONE) {
    return {b64(d), flags};
}

// binary32 landmarks.
constexpr uint32_t kPosZero32 = 0x00000000;
constexpr uint32_t kNegZero32 = 0x80000000;
constexpr uint32_t kPosInf32 = 0x7f800000;
constexpr uint32_t kNegInf32 = 0xff800000;
constexpr uint32_t kQNaN32 = 0x7fc00000;         // the canonical NaN
constexpr uint32_t kQNaNPayload32 = 0xffc12345;  // a quiet NaN with sign and payload
constexpr uint32_t kSNaN32 = 0x7f800001;
constexpr uint32_t kMaxFinite32 = 0x7f7fffff;
constexpr uint32_t kMinNormal32 = 0x00800000;
constexpr uint32_t kMaxSubnormal32 = 0x007fffff;
constexpr uint32_t kMinSubnormal32 = 0x00000001;
constexpr uint32_t kOne32 = 0x3f800000;

// binary64 landmarks.
constexpr uint64_t kPosZero64 = 0x0000000000000000;
constexpr uint64_t kNegZero64 = 0x8000000000000000;
constexpr uint64_t kPosInf64 = 0x7ff0000000000000;
constexpr uint64_t kNegInf64 = 0xfff0000000000000;
constexpr uint64_t kQNaN64 = 0x7ff8000000000000;
constexpr uint64_t kQNaNPayload64 = 0xfff8000000012345;
constexpr uint64_t kSNaN64 = 0x7ff0000000000001;
constexpr uint64_t kMaxFinite64 = 0x7fefffffffffffff;
constexpr uint64_t kMinNormal64 = 0x0010000000000000;
constexpr uint64_t kMaxSubnormal64 = 0x000fffffffffffff;
constexpr uint64_t kMinSubnormal64 = 0x0000000000000001;
constexpr uint64_t kOne64 = 0x3ff0000000000000;

// ================================================================================================
// Corner cases, from the RISC-V F/D chapters (unpriv spec ch. 11, 12) and IEEE 754-2008.
// ================================================================================================

// --- NaNs (unpriv spec §11.3): results are canonical, only signaling NaNs and invalid operations
//     raise NV ------------------------------------------------------------------------------------

TEST(FpuNaN, ArithmeticOnAQuietNaNGivesTheCanonicalNaNWithoutFlags) {
    for (const RoundingMode rm : kAllModes) {
        EXPECT_EQ(f32_add(kQNaNPayload32, kOne32, rm), (FpResult{kQNaN32, NONE}));
        EXPECT_EQ(f32_sub(kOne32, kQNaNPayload32, rm), (FpResult{kQNaN32, NONE}));
        EXPECT_EQ(f32_mul(kQNaNPayload32, kOne32, rm), (FpResult{kQNaN32, NONE}));
        EXPECT_EQ(f32_div(kOne32, kQNaNPayload32, rm), (FpResult{kQNaN32, NONE}));
        EXPECT_EQ(f32_sqrt(kQNaNPayload32, rm), (FpResult{kQNaN32, NONE}));
        EXPECT_EQ(f32_fmadd(kOne32, kOne32, kQNaNPayload32, rm), (FpResult{kQNaN32, NONE}));
        EXPECT_EQ(f64_add(kQNaNPayload64, kOne64, rm), (FpResult{kQNaN64, NONE}));
        EXPECT_EQ(f64_mul(kOne64, kQNaNPayload64, rm), (FpResult{kQNaN64, NONE}));
        EXPECT_EQ(f64_div(kQNaNPayload64, kOne64, rm), (FpResult{kQNaN64, NONE}));
        EXPECT_EQ(f64_sqrt(kQNaNPayload64, rm), (FpResult{kQNaN64, NONE}));
        EXPECT_EQ(f64_fnmadd(kQNaNPayload64, kOne64, kOne64, rm), (FpResult{kQNaN64, NONE}));
    }
}

TEST(FpuNaN, ArithmeticOnASignalingNaNRaisesInvalidAndGivesTheCanonicalNaN) {
    EXPECT_EQ(f32_add(kOne32, kSNaN32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_mul(kSNaN32, kQNaNPayload32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_div(kSNaN32, kOne32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_sqrt(kSNaN32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_fmsub(kOne32, kOne32, kSNaN32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f64_sub(kSNaN64, kOne64, RNE), (FpResult{kQNaN64, NV}));
    EXPECT_EQ(f64_sqrt(kSNaN64 | kNegZero64, RNE), (FpResult{kQNaN64, NV}));
    EXPECT_EQ(f64_fmadd(kOne64, kSNaN64, kOne64, RNE), (FpResult{kQNaN64, NV}));
}

TEST(FpuNaN, InvalidOperationsGiveThePositiveCanonicalNaN) {
    EXPECT_EQ(f32_add(kPosInf32, kNegInf32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_sub(kNegInf32, kNegInf32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_mul(kNegZero32, kPosInf32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_div(kPosZero32, kNegZero32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_div(kNegInf32, kPosInf32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_sqrt(b32(-1.0f), RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_sqrt(kNegInf32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_sqrt(kMinSubnormal32 | kNegZero32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f64_add(kNegInf64, kPosInf64, RNE), (FpResult{kQNaN64, NV}));
    EXPECT_EQ(f64_mul(kPosInf64, kPosZero64, RNE), (FpResult{kQNaN64, NV}));
    EXPECT_EQ(f64_div(kNegZero64, kPosZero64, RNE), (FpResult{kQNaN64, NV}));
    EXPECT_EQ(f64_sqrt(b64(-2.0), RNE), (FpResult{kQNaN64, NV}));
}

TEST(FpuNaN, FusedMultiplyAddOfInfinityTimesZeroIsInvalidEvenWithAQuietNaNAddend) {
    // unpriv spec §11.6.
    EXPECT_EQ(f32_fmadd(kPosInf32, kPosZero32, kQNaNPayload32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_fnmadd(kNegZero32, kNegInf32, kQNaN32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f64_fmadd(kPosZero64, kNegInf64, kQNaNPayload64, RNE), (FpResult{kQNaN64, NV}));
    EXPECT_EQ(f64_fmsub(kPosInf64, kPosZero64, kOne64, RNE), (FpResult{kQNaN64, NV}));
    // ∞ × finite + (−∞) is ∞ − ∞.
    EXPECT_EQ(f64_fmadd(kPosInf64, b64(2.0), kNegInf64, RNE), (FpResult{kQNaN64, NV}));
    EXPECT_EQ(f64_fmadd(kPosInf64, b64(2.0), kPosInf64, RNE), (FpResult{kPosInf64, NONE}));
}

TEST(FpuNaN, FormatConversionsGiveTheCanonicalNaNAndFlagOnlySignalingNaNs) {
    EXPECT_EQ(f32_to_f64(kQNaNPayload32), (FpResult{kQNaN64, NONE}));
    EXPECT_EQ(f32_to_f64(kSNaN32), (FpResult{kQNaN64, NV}));
    EXPECT_EQ(f64_to_f32(kQNaNPayload64, RNE), (FpResult{kQNaN32, NONE}));
    EXPECT_EQ(f64_to_f32(kSNaN64, RNE), (FpResult{kQNaN32, NV}));
}

// --- NaN-boxing (unpriv spec §12.2) ---------------------------------------------------------------

TEST(FpuNaNBoxing, SingleResultsAreWrittenWithTheUpperHalfAllOnes) {
    EXPECT_EQ(box_f32(kOne32), 0xffffffff3f800000ull);
    EXPECT_EQ(box_f32(kNegZero32), 0xffffffff80000000ull);
}

TEST(FpuNaNBoxing, AProperlyBoxedRegisterReadsAsItsLowHalf) {
    EXPECT_EQ(unbox_f32(0xffffffff3f800000ull), kOne32);
    EXPECT_EQ(unbox_f32(0xffffffff7f800001ull), kSNaN32);
}

TEST(FpuNaNBoxing, AnImproperlyBoxedRegisterReadsAsTheCanonicalNaN) {
    EXPECT_EQ(unbox_f32(0x000000003f800000ull), kQNaN32);
    EXPECT_EQ(unbox_f32(0xfffffffe3f800000ull), kQNaN32);
    EXPECT_EQ(unbox_f32(kOne64), kQNaN32);  // a double where a single is expected
    // ... and computes as one: 1 + NaN is NaN without NV.
    EXPECT_EQ(f32_add(unbox_f32(kOne64), kOne32, RNE), (FpResult{kQNaN32, NONE}));
}

// --- fmin/fmax: IEEE 754-2019 minimumNumber/maximumNumber (unpriv spec §11.6) ----------------------

TEST(FpuMinMax, NegativeZeroIsLessThanPositiveZero) {
    EXPECT_EQ(f32_min(kPosZero32, kNegZero32), (FpResult{kNegZero32, NONE}));
    EXPECT_EQ(f32_min(kNegZero32, kPosZero32), (FpResult{kNegZero32, NONE}));
    EXPECT_EQ(f32_max(kNegZero32, kPosZero32), (FpResult{kPosZero32, NONE}));
    EXPECT_EQ(f32_max(kPosZero32, kNegZero32), (FpResult{kPosZero32, NONE}));
    EXPECT_EQ(f64_min(kPosZero64, kNegZero64), (FpResult{kNegZero64, NONE}));
    EXPECT_EQ(f64_max(kNegZero64, kPosZero64), (FpResult{kPosZero64, NONE}));
}

TEST(FpuMinMax, OrdersNumbersIncludingInfinitiesAndSubnormals) {
    EXPECT_EQ(f32_min(b32(-1.0f), b32(2.0f)), r32(-1.0f));
    EXPECT_EQ(f32_max(b32(-1.0f), b32(-2.0f)), r32(-1.0f));
    EXPECT_EQ(f32_max(kNegInf32, kMaxFinite32 | kNegZero32), (FpResult{kMaxFinite32 | kNegZero32, NONE}));
    EXPECT_EQ(f64_min(kMinSubnormal64, kPosZero64), (FpResult{kPosZero64, NONE}));
    EXPECT_EQ(f64_max(kPosInf64, kMaxFinite64), (FpResult{kPosInf64, NONE}));
}

TEST(FpuMinMax, AQuietNaNOperandGivesTheOtherOperandWithoutFlags) {
    EXPECT_EQ(f32_min(kQNaNPayload32, kOne32), (FpResult{kOne32, NONE}));
    EXPECT_EQ(f32_max(b32(-3.0f), kQNaN32), r32(-3.0f));
    EXPECT_EQ(f64_min(kNegZero64, kQNaNPayload64), (FpResult{kNegZero64, NONE}));
    EXPECT_EQ(f64_max(kQNaN64, kNegInf64), (FpResult{kNegInf64, NONE}));
}

TEST(FpuMinMax, ASignalingNaNOperandGivesTheOtherOperandAndRaisesInvalid) {
    EXPECT_EQ(f32_min(kSNaN32, kOne32), (FpResult{kOne32, NV}));
    EXPECT_EQ(f32_max(kOne32, kSNaN32), (FpResult{kOne32, NV}));
    EXPECT_EQ(f64_min(kOne64, kSNaN64), (FpResult{kOne64, NV}));
    EXPECT_EQ(f64_max(kSNaN64, kNegZero64), (FpResult{kNegZero64, NV}));
}

TEST(FpuMinMax, TwoNaNOperandsGiveTheCanonicalNaN) {
    EXPECT_EQ(f32_min(kQNaNPayload32, kQNaNPayload32), (FpResult{kQNaN32, NONE}));
    EXPECT_EQ(f32_max(kQNaNPayload32, kSNaN32), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f64_min(kSNaN64, kQNaNPayload64), (FpResult{kQNaN64, NV}));
    EXPECT_EQ(f64_max(kQNaNPayload64, kQNaNPayload64), (FpResult{kQNaN64, NONE}));
}

// --- comparisons (unpriv spec §11.8): feq is quiet, flt/fle signal on any NaN ----------------------

TEST(FpuCompare, FeqWithAQuietNaNIsFalseWithoutFlags) {
    EXPECT_EQ(f32_eq(kQNaN32, kQNaN32), (FpResult{0, NONE}));
    EXPECT_EQ(f32_eq(kOne32, kQNaNPayload32), (FpResult{0, NONE}));
    EXPECT_EQ(f64_eq(kQNaNPayload64, kOne64), (FpResult{0, NONE}));
}

TEST(FpuCompare, FeqWithASignalingNaNIsFalseAndRaisesInvalid) {
    EXPECT_EQ(f32_eq(kSNaN32, kOne32), (FpResult{0, NV}));
    EXPECT_EQ(f64_eq(kOne64, kSNaN64), (FpResult{0, NV}));
}

TEST(FpuCompare, FltAndFleWithAnyNaNAreFalseAndRaiseInvalid) {
    EXPECT_EQ(f32_lt(kQNaN32, kOne32), (FpResult{0, NV}));
    EXPECT_EQ(f32_le(kOne32, kQNaN32), (FpResult{0, NV}));
    EXPECT_EQ(f32_lt(kSNaN32, kOne32), (FpResult{0, NV}));
    EXPECT_EQ(f64_lt(kOne64, kQNaNPayload64), (FpResult{0, NV}));
    EXPECT_EQ(f64_le(kQNaN64, kQNaN64), (FpResult{0, NV}));
}

TEST(FpuCompare, ZerosOfEitherSignAreEqual) {
    EXPECT_EQ(f32_eq(kPosZero32, kNegZero32), (FpResult{1, NONE}));
    EXPECT_EQ(f32_lt(kNegZero32, kPosZero32), (FpResult{0, NONE}));
    EXPECT_EQ(f32_le(kPosZero32, kNegZero32), (FpResult{1, NONE}));
    EXPECT_EQ(f64_eq(kNegZero64, kPosZero64), (FpResult{1, NONE}));
    EXPECT_EQ(f64_lt(kPosZero64, kNegZero64), (FpResult{0, NONE}));
    EXPECT_EQ(f64_le(kNegZero64, kPosZero64), (FpResult{1, NONE}));
}

TEST(FpuCompare, OrdersNegativeNumbersSubnormalsAndInfinities) {
    EXPECT_EQ(f32_lt(b32(-2.0f), b32(-1.0f)), (FpResult{1, NONE}));
    EXPECT_EQ(f32_lt(b32(-1.0f), b32(-2.0f)), (FpResult{0, NONE}));
    EXPECT_EQ(f32_lt(kOne32, kOne32), (FpResult{0, NONE}));
    EXPECT_EQ(f32_le(kOne32, kOne32), (FpResult{1, NONE}));
    EXPECT_EQ(f64_lt(kNegInf64, kMaxFinite64 | kNegZero64), (FpResult{1, NONE}));
    EXPECT_EQ(f64_lt(kPosZero64, kMinSubnormal64), (FpResult{1, NONE}));
    EXPECT_EQ(f64_le(kPosInf64, kMaxFinite64), (FpResult{0, NONE}));
}

// --- fclass (unpriv spec §11.9, table 11.5) ----------------------------------------------------------

TEST(FpuClassify, SetsExactlyOneOfTheTenClassBits) {
    EXPECT_EQ(f32_classify(kNegInf32), kClassNegInf);
    EXPECT_EQ(f32_classify(b32(-1.0f)), kClassNegNormal);
    EXPECT_EQ(f32_classify(kMaxSubnormal32 | kNegZero32), kClassNegSubnormal);
    EXPECT_EQ(f32_classify(kNegZero32), kClassNegZero);
    EXPECT_EQ(f32_classify(kPosZero32), kClassPosZero);
    EXPECT_EQ(f32_classify(kMinSubnormal32), kClassPosSubnormal);
    EXPECT_EQ(f32_classify(kMinNormal32), kClassPosNormal);
    EXPECT_EQ(f32_classify(kPosInf32), kClassPosInf);
    EXPECT_EQ(f32_classify(kSNaN32), kClassSignalingNaN);
    EXPECT_EQ(f32_classify(kQNaNPayload32), kClassQuietNaN);

    EXPECT_EQ(f64_classify(kNegInf64), 1u << 0);
    EXPECT_EQ(f64_classify(kMaxFinite64 | kNegZero64), 1u << 1);
    EXPECT_EQ(f64_classify(kMinSubnormal64 | kNegZero64), 1u << 2);
    EXPECT_EQ(f64_classify(kNegZero64), 1u << 3);
    EXPECT_EQ(f64_classify(kPosZero64), 1u << 4);
    EXPECT_EQ(f64_classify(kMaxSubnormal64), 1u << 5);
    EXPECT_EQ(f64_classify(kOne64), 1u << 6);
    EXPECT_EQ(f64_classify(kPosInf64), 1u << 7);
    EXPECT_EQ(f64_classify(0xfff4000000000000ull), 1u << 8);  // signaling, even with the sign set
    EXPECT_EQ(f64_classify(kQNaN64), 1u << 9);
}

// --- float to integer (unpriv spec §11.7, table 11.4) ------------------------------------------------

TEST(FpuToInteger, NaNOfEitherSignGivesTheLargestValueAndInvalid) {
    for (const uint32_t nan : {kQNaN32, kQNaNPayload32, kSNaN32}) {
        EXPECT_EQ(f32_to_i32(nan, RNE), (FpResult{0x7fffffff, NV}));
        EXPECT_EQ(f32_to_u32(nan, RNE), (FpResult{0xffffffff, NV}));
        EXPECT_EQ(f32_to_i64(nan, RNE), (FpResult{0x7fffffffffffffff, NV}));
        EXPECT_EQ(f32_to_u64(nan, RNE), (FpResult{0xffffffffffffffff, NV}));
    }
    EXPECT_EQ(f64_to_i32(kQNaNPayload64, RTZ), (FpResult{0x7fffffff, NV}));
    EXPECT_EQ(f64_to_u64(kSNaN64, RTZ), (FpResult{0xffffffffffffffff, NV}));
}

TEST(FpuToInteger, InfinitiesSaturateByTheirSignWithInvalid) {
    EXPECT_EQ(f32_to_i32(kPosInf32, RNE), (FpResult{0x7fffffff, NV}));
    EXPECT_EQ(f32_to_i32(kNegInf32, RNE), (FpResult{0x80000000, NV}));
    EXPECT_EQ(f32_to_u32(kNegInf32, RNE), (FpResult{0, NV}));
    EXPECT_EQ(f64_to_i64(kPosInf64, RNE), (FpResult{0x7fffffffffffffff, NV}));
    EXPECT_EQ(f64_to_i64(kNegInf64, RNE), (FpResult{0x8000000000000000, NV}));
    EXPECT_EQ(f64_to_u64(kPosInf64, RNE), (FpResult{0xffffffffffffffff, NV}));
    EXPECT_EQ(f64_to_u64(kNegInf64, RNE), (FpResult{0, NV}));
}

TEST(FpuToInteger, SignedResultsSaturateJustOutsideTheirRange) {
    EXPECT_EQ(f64_to_i32(b64(2147483647.0), RNE), (FpResult{0x7fffffff, NONE}));
    EXPECT_EQ(f64_to_i32(b64(2147483648.0), RTZ), (FpResult{0x7fffffff, NV}));
    EXPECT_EQ(f64_to_i32(b64(-2147483648.0), RNE), (FpResult{0x80000000, NONE}));
    EXPECT_EQ(f64_to_i32(b64(-2147483649.0), RUP), (FpResult{0x80000000, NV}));
    // Range is checked after rounding: 2^31 − 0.5 fits only when rounded down.
    EXPECT_EQ(f64_to_i32(b64(2147483647.5), RTZ), (FpResult{0x7fffffff, NX}));
    EXPECT_EQ(f64_to_i32(b64(2147483647.5), RNE), (FpResult{0x7fffffff, NV}));
    EXPECT_EQ(f64_to_i32(b64(-2147483648.5), RNE), (FpResult{0x80000000, NX}));  // tie to even
    EXPECT_EQ(f64_to_i32(b64(-2147483648.5), RMM), (FpResult{0x80000000, NV}));  // tie away
    EXPECT_EQ(f32_to_i32(b32(0x1p31f), RNE), (FpResult{0x7fffffff, NV}));
    EXPECT_EQ(f32_to_i32(b32(-0x1p31f), RNE), (FpResult{0x80000000, NONE}));
    EXPECT_EQ(f64_to_i64(b64(0x1p63), RNE), (FpResult{0x7fffffffffffffff, NV}));
    EXPECT_EQ(f64_to_i64(b64(-0x1p63), RNE), (FpResult{0x8000000000000000, NONE}));
    EXPECT_EQ(f64_to_i64(0x43dfffffffffffffull, RNE), (FpResult{0x7ffffffffffffc00, NONE}));  // 2^63 − 1024
    EXPECT_EQ(f32_to_i64(b32(-0x1p63f), RNE), (FpResult{0x8000000000000000, NONE}));
    EXPECT_EQ(f32_to_i64(b32(0x1p63f), RNE), (FpResult{0x7fffffffffffffff, NV}));
}

TEST(FpuToInteger, UnsignedResultsSaturateAtZeroAndTheirMaximum) {
    EXPECT_EQ(f64_to_u32(b64(4294967295.0), RNE), (FpResult{0xffffffff, NONE}));
    EXPECT_EQ(f64_to_u32(b64(4294967296.0), RNE), (FpResult{0xffffffff, NV}));
    EXPECT_EQ(f64_to_u32(b64(4294967295.5), RTZ), (FpResult{0xffffffff, NX}));
    EXPECT_EQ(f64_to_u32(b64(4294967295.5), RNE), (FpResult{0xffffffff, NV}));
    EXPECT_EQ(f64_to_u32(b64(-1.0), RTZ), (FpResult{0, NV}));
    EXPECT_EQ(f64_to_u64(b64(0x1p64), RNE), (FpResult{0xffffffffffffffff, NV}));
    EXPECT_EQ(f64_to_u64(0x43efffffffffffffull, RNE), (FpResult{0xfffffffffffff800, NONE}));  // 2^64 − 2048
    EXPECT_EQ(f32_to_u64(b32(-1.0f), RUP), (FpResult{0, NV}));
    EXPECT_EQ(f32_to_u32(kNegZero32, RNE), (FpResult{0, NONE}));
}

TEST(FpuToInteger, MinusOneHalfToUnsignedIsZeroOrInvalidDependingOnTheRoundingMode) {
    // −0.5 rounds to −0 (in range: 0, inexact) or to −1 (out of range: 0, invalid).
    EXPECT_EQ(f32_to_u32(b32(-0.5f), RNE), (FpResult{0, NX}));
    EXPECT_EQ(f32_to_u32(b32(-0.5f), RTZ), (FpResult{0, NX}));
    EXPECT_EQ(f32_to_u32(b32(-0.5f), RDN), (FpResult{0, NV}));
    EXPECT_EQ(f32_to_u32(b32(-0.5f), RUP), (FpResult{0, NX}));
    EXPECT_EQ(f32_to_u32(b32(-0.5f), RMM), (FpResult{0, NV}));
    EXPECT_EQ(f64_to_u64(b64(-0.5), RNE), (FpResult{0, NX}));
    EXPECT_EQ(f64_to_u64(b64(-0.5), RMM), (FpResult{0, NV}));
}

TEST(FpuToInteger, RoundsTiesAndNearTiesInEachMode) {
    struct Row {
        double value;
        RoundingMode rm;
        int32_t expected;
    };
    // clang-format off
    const Row rows[] = {
        {2.5, RNE, 2},   {2.5, RTZ, 2},   {2.5, RDN, 2},   {2.5, RUP, 3},   {2.5, RMM, 3},
        {-2.5, RNE, -2}, {-2.5, RTZ, -2}, {-2.5, RDN, -3}, {-2.5, RUP, -2}, {-2.5, RMM, -3},
        {3.5, RNE, 4},   {3.5, RMM, 4},   {0.5, RNE, 0},   {0.5, RMM, 1},   {-0.5, RMM, -1},
        {2.4999999999999996, RNE, 2},  {2.4999999999999996, RMM, 2},  {2.5000000000000004, RNE, 3},
        {-1.0000000000000002, RTZ, -1}, {-1.0000000000000002, RDN, -2},
        {0x1p-1074, RUP, 1}, {-0x1p-1074, RDN, -1}, {-0x1p-1074, RNE, 0},
    };
    // clang-format on
    for (const Row& row : rows) {
        SCOPED_TRACE(testing::Message() << row.value << " rm " << static_cast<int>(row.rm));
        EXPECT_EQ(f64_to_i32(b64(row.value), row.rm), (FpResult{static_cast<uint32_t>(row.expected), NX}));
    }
    EXPECT_EQ(f32_to_i32(b32(-2.5f), RMM), (FpResult{0xfffffffd, NX}));
    EXPECT_EQ(f32_to_i64(b32(2.5f), RNE), (FpResult{2, NX}));
    EXPECT_EQ(f32_to_u64(b32(2.5f), RMM), (FpResult{3, NX}));
}

// --- integer to float (unpriv spec §11.7) -------------------------------------------------------------

TEST(FpuFromInteger, RoundsTiesInEachMode) {
    // 2^24 + 1 lies halfway between the binary32 values 2^24 and 2^24 + 2.
    EXPECT_EQ(i32_to_f32(16777217, RNE), (FpResult{0x4b800000, NX}));
    EXPECT_EQ(i32_to_f32(16777217, RTZ), (FpResult{0x4b800000, NX}));
    EXPECT_EQ(i32_to_f32(16777217, RDN), (FpResult{0x4b800000, NX}));
    EXPECT_EQ(i32_to_f32(16777217, RUP), (FpResult{0x4b800001, NX}));
    EXPECT_EQ(i32_to_f32(16777217, RMM), (FpResult{0x4b800001, NX}));
    EXPECT_EQ(i32_to_f32(-16777217, RNE), (FpResult{0xcb800000, NX}));
    EXPECT_EQ(i32_to_f32(-16777217, RDN), (FpResult{0xcb800001, NX}));
    EXPECT_EQ(i32_to_f32(-16777217, RUP), (FpResult{0xcb800000, NX}));
    EXPECT_EQ(i32_to_f32(-16777217, RMM), (FpResult{0xcb800001, NX}));
    // 2^24 + 3: the even neighbour is the upper one, so RNE and RMM agree.
    EXPECT_EQ(u32_to_f32(16777219, RNE), (FpResult{0x4b800002, NX}));
    EXPECT_EQ(u32_to_f32(16777219, RMM), (FpResult{0x4b800002, NX}));
    EXPECT_EQ(i64_to_f64((int64_t{1} << 53) + 1, RNE), (FpResult{0x4340000000000000, NX}));
    EXPECT_EQ(i64_to_f64((int64_t{1} << 53) + 1, RMM), (FpResult{0x4340000000000001, NX}));
}

TEST(FpuFromInteger, ConvertsTheExtremesOfEachIntegerType) {
    EXPECT_EQ(i32_to_f32(0, RDN), (FpResult{kPosZero32, NONE}));  // +0 even when rounding down
    EXPECT_EQ(i64_to_f64(0, RDN), (FpResult{kPosZero64, NONE}));
    EXPECT_EQ(i32_to_f32(std::numeric_limits<int32_t>::min(), RNE), r32(-0x1p31f));
    EXPECT_EQ(i64_to_f32(std::numeric_limits<int64_t>::min(), RNE), r32(-0x1p63f));
    EXPECT_EQ(i64_to_f64(std::numeric_limits<int64_t>::max(), RNE), r64(0x1p63, NX));
    EXPECT_EQ(i64_to_f64(std::numeric_limits<int64_t>::max(), RTZ), (FpResult{0x43dfffffffffffff, NX}));
    EXPECT_EQ(u64_to_f32(~uint64_t{0}, RNE), r32(0x1p64f, NX));
    EXPECT_EQ(u64_to_f32(~uint64_t{0}, RTZ), (FpResult{0x5f7fffff, NX}));
    EXPECT_EQ(u64_to_f64(~uint64_t{0}, RUP), r64(0x1p64, NX));
    EXPECT_EQ(u64_to_f64(~uint64_t{0}, RDN), (FpResult{0x43efffffffffffff, NX}));
    // Every 32-bit integer is exact in binary64.
    EXPECT_EQ(i32_to_f64(std::numeric_limits<int32_t>::min(), RNE), r64(-2147483648.0));
    EXPECT_EQ(u32_to_f64(0xffffffffu, RNE), r64(4294967295.0));
}

// --- rounding of arithmetic results in each mode ---------------------------------------------------

TEST(FpuRounding, AnExactTieRoundsPerMode) {
    // 1 + 2^-24 lies halfway between 1 and its binary32 successor.
    const uint32_t half_ulp = b32(0x1p-24f);
    EXPECT_EQ(f32_add(kOne32, half_ulp, RNE), (FpResult{0x3f800000, NX}));
    EXPECT_EQ(f32_add(kOne32, half_ulp, RTZ), (FpResult{0x3f800000, NX}));
    EXPECT_EQ(f32_add(kOne32, half_ulp, RDN), (FpResult{0x3f800000, NX}));
    EXPECT_EQ(f32_add(kOne32, half_ulp, RUP), (FpResult{0x3f800001, NX}));
    EXPECT_EQ(f32_add(kOne32, half_ulp, RMM), (FpResult{0x3f800001, NX}));
    // The same tie below zero.
    const uint32_t minus_one = b32(-1.0f), minus_half_ulp = b32(-0x1p-24f);
    EXPECT_EQ(f32_add(minus_one, minus_half_ulp, RNE), (FpResult{0xbf800000, NX}));
    EXPECT_EQ(f32_add(minus_one, minus_half_ulp, RTZ), (FpResult{0xbf800000, NX}));
    EXPECT_EQ(f32_add(minus_one, minus_half_ulp, RDN), (FpResult{0xbf800001, NX}));
    EXPECT_EQ(f32_add(minus_one, minus_half_ulp, RUP), (FpResult{0xbf800000, NX}));
    EXPECT_EQ(f32_add(minus_one, minus_half_ulp, RMM), (FpResult{0xbf800001, NX}));
    // A tie whose lower neighbour is odd: RNE goes up too.
    EXPECT_EQ(f32_add(0x3f800001, half_ulp, RNE), (FpResult{0x3f800002, NX}));
    EXPECT_EQ(f32_add(0x3f800001, half_ulp, RMM), (FpResult{0x3f800002, NX}));
    EXPECT_EQ(f32_add(0x3f800001, half_ulp, RTZ), (FpResult{0x3f800001, NX}));
    // binary64: 1 + 2^-53.
    EXPECT_EQ(f64_add(kOne64, b64(0x1p-53), RNE), (FpResult{0x3ff0000000000000, NX}));
    EXPECT_EQ(f64_add(kOne64, b64(0x1p-53), RMM), (FpResult{0x3ff0000000000001, NX}));
    EXPECT_EQ(f64_sub(b64(-1.0), b64(0x1p-53), RMM), (FpResult{0xbff0000000000001, NX}));
    EXPECT_EQ(f64_sub(b64(-1.0), b64(0x1p-53), RUP), (FpResult{0xbff0000000000000, NX}));
    // A product that is a tie: (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24 in binary32.
    EXPECT_EQ(f32_mul(0x3f800800, 0x3f800800, RNE), (FpResult{0x3f801000, NX}));
    EXPECT_EQ(f32_mul(0x3f800800, 0x3f800800, RMM), (FpResult{0x3f801001, NX}));
}

TEST(FpuRounding, NearTiesRoundToTheNearerNeighbourInBothNearestModes) {
    const uint32_t just_above_half_ulp = 0x33800001;  // 2^-24 × (1 + 2^-23)
    const uint32_t just_below_half_ulp = 0x337fffff;  // 2^-24 × (1 − 2^-24)
    for (const RoundingMode rm : {RNE, RMM}) {
        EXPECT_EQ(f32_add(kOne32, just_above_half_ulp, rm), (FpResult{0x3f800001, NX}));
        EXPECT_EQ(f32_add(kOne32, just_below_half_ulp, rm), (FpResult{0x3f800000, NX}));
    }
    EXPECT_EQ(f32_add(kOne32, just_below_half_ulp, RUP), (FpResult{0x3f800001, NX}));
    EXPECT_EQ(f32_add(kOne32, just_above_half_ulp, RDN), (FpResult{0x3f800000, NX}));
}

TEST(FpuRounding, AnInexactQuotientRoundsPerMode) {
    // 1/3 = 0x3eaaaaaa.aaa...: above the midpoint, so nearest rounds up.
    EXPECT_EQ(f32_div(kOne32, b32(3.0f), RNE), (FpResult{0x3eaaaaab, NX}));
    EXPECT_EQ(f32_div(kOne32, b32(3.0f), RMM), (FpResult{0x3eaaaaab, NX}));
    EXPECT_EQ(f32_div(kOne32, b32(3.0f), RTZ), (FpResult{0x3eaaaaaa, NX}));
    EXPECT_EQ(f32_div(kOne32, b32(3.0f), RDN), (FpResult{0x3eaaaaaa, NX}));
    EXPECT_EQ(f32_div(kOne32, b32(3.0f), RUP), (FpResult{0x3eaaaaab, NX}));
    EXPECT_EQ(f64_div(b64(-1.0), b64(3.0), RDN), (FpResult{0xbfd5555555555556, NX}));
    EXPECT_EQ(f64_div(b64(-1.0), b64(3.0), RUP), (FpResult{0xbfd5555555555555, NX}));
}

TEST(FpuRounding, ExactCancellationGivesPlusZeroExceptNegativeZeroInRdn) {
    // IEEE 754-2008 §6.3.
    for (const RoundingMode rm : {RNE, RTZ, RUP, RMM}) {
        EXPECT_EQ(f32_add(kOne32, b32(-1.0f), rm), (FpResult{kPosZero32, NONE}));
        EXPECT_EQ(f32_add(kPosZero32, kNegZero32, rm), (FpResult{kPosZero32, NONE}));
        EXPECT_EQ(f64_sub(kOne64, kOne64, rm), (FpResult{kPosZero64, NONE}));
        EXPECT_EQ(f64_fmadd(kOne64, kOne64, b64(-1.0), rm), (FpResult{kPosZero64, NONE}));
    }
    EXPECT_EQ(f32_add(kOne32, b32(-1.0f), RDN), (FpResult{kNegZero32, NONE}));
    EXPECT_EQ(f32_add(kPosZero32, kNegZero32, RDN), (FpResult{kNegZero32, NONE}));
    EXPECT_EQ(f64_sub(kOne64, kOne64, RDN), (FpResult{kNegZero64, NONE}));
    EXPECT_EQ(f64_fmadd(kOne64, kOne64, b64(-1.0), RDN), (FpResult{kNegZero64, NONE}));
    // Zeros of the same sign keep it in every mode.
    EXPECT_EQ(f32_add(kNegZero32, kNegZero32, RNE), (FpResult{kNegZero32, NONE}));
    EXPECT_EQ(f64_sub(kPosZero64, kNegZero64, RDN), (FpResult{kPosZero64, NONE}));
}

// --- division by zero (IEEE 754-2008 §7.3) --------------------------------------------------------

TEST(FpuDivision, AFiniteNonzeroDividedByZeroGivesSignedInfinityAndDZ) {
    EXPECT_EQ(f32_div(kOne32, kPosZero32, RNE), (FpResult{kPosInf32, DZ}));
    EXPECT_EQ(f32_div(kOne32, kNegZero32, RNE), (FpResult{kNegInf32, DZ}));
    EXPECT_EQ(f32_div(b32(-1.0f), kPosZero32, RTZ), (FpResult{kNegInf32, DZ}));
    EXPECT_EQ(f32_div(kMinSubnormal32, kNegZero32, RNE), (FpResult{kNegInf32, DZ}));
    EXPECT_EQ(f64_div(b64(-3.0), kNegZero64, RDN), (FpResult{kPosInf64, DZ}));
}

TEST(FpuDivision, ZeroOverZeroAndInfinityOverInfinityAreInvalid) {
    EXPECT_EQ(f32_div(kPosZero32, kPosZero32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f32_div(kPosInf32, kNegInf32, RNE), (FpResult{kQNaN32, NV}));
    EXPECT_EQ(f64_div(kNegZero64, kNegZero64, RNE), (FpResult{kQNaN64, NV}));
    EXPECT_EQ(f64_div(kNegInf64, kNegInf64, RNE), (FpResult{kQNaN64, NV}));
}

TEST(FpuDivision, InfinityOverZeroAndZeroOrFiniteOverInfinityAreExact) {
    EXPECT_EQ(f32_div(kPosInf32, kNegZero32, RNE), (FpResult{kNegInf32, NONE}));  // no DZ: not finite
    EXPECT_EQ(f32_div(kPosZero32, kNegInf32, RNE), (FpResult{kNegZero32, NONE}));
    EXPECT_EQ(f64_div(b64(-1.0), kPosInf64, RNE), (FpResult{kNegZero64, NONE}));
    EXPECT_EQ(f64_div(kPosZero64, b64(5.0), RNE), (FpResult{kPosZero64, NONE}));
}

// --- overflow (IEEE 754-2008 §7.4): infinity or the largest finite value, by mode and sign ---------

TEST(FpuOverflow, GivesInfinityOrTheLargestFiniteValueDependingOnTheRoundingMode) {
    const uint32_t two = b32(2.0f), minus_two = b32(-2.0f);
    EXPECT_EQ(f32_mul(kMaxFinite32, two, RNE), (FpResult{kPosInf32, OF | NX}));
    EXPECT_EQ(f32_mul(kMaxFinite32, two, RTZ), (FpResult{kMaxFinite32, OF | NX}));
    EXPECT_EQ(f32_mul(kMaxFinite32, two, RDN), (FpResult{kMaxFinite32, OF | NX}));
    EXPECT_EQ(f32_mul(kMaxFinite32, two, RUP), (FpResult{kPosInf32, OF | NX}));
    EXPECT_EQ(f32_mul(kMaxFinite32, two, RMM), (FpResult{kPosInf32, OF | NX}));
    const uint32_t neg_max = kMaxFinite32 | kNegZero32;
    EXPECT_EQ(f32_mul(kMaxFinite32, minus_two, RNE), (FpResult{kNegInf32, OF | NX}));
    EXPECT_EQ(f32_mul(kMaxFinite32, minus_two, RTZ), (FpResult{neg_max, OF | NX}));
    EXPECT_EQ(f32_mul(kMaxFinite32, minus_two, RDN), (FpResult{kNegInf32, OF | NX}));
    EXPECT_EQ(f32_mul(kMaxFinite32, minus_two, RUP), (FpResult{neg_max, OF | NX}));
    EXPECT_EQ(f32_mul(kMaxFinite32, minus_two, RMM), (FpResult{kNegInf32, OF | NX}));
    EXPECT_EQ(f64_add(kMaxFinite64, kMaxFinite64, RNE), (FpResult{kPosInf64, OF | NX}));
    EXPECT_EQ(f64_add(kMaxFinite64, kMaxFinite64, RTZ), (FpResult{kMaxFinite64, OF | NX}));
    EXPECT_EQ(f64_div(kMaxFinite64 | kNegZero64, b64(0.5), RUP), (FpResult{kMaxFinite64 | kNegZero64, OF | NX}));
}

TEST(FpuOverflow, IsDecidedAfterRoundingTheLargestFiniteValuePlusHalfAnUlp) {
    // max + 2^103 is halfway between max and 2^128: the nearest modes round to 2^128, which
    // overflows; the others stay at max, which is inexact but no overflow.
    const uint32_t half_ulp_of_max = b32(0x1p103f);
    EXPECT_EQ(f32_add(kMaxFinite32, half_ulp_of_max, RNE), (FpResult{kPosInf32, OF | NX}));
    EXPECT_EQ(f32_add(kMaxFinite32, half_ulp_of_max, RMM), (FpResult{kPosInf32, OF | NX}));
    EXPECT_EQ(f32_add(kMaxFinite32, half_ulp_of_max, RTZ), (FpResult{kMaxFinite32, NX}));
    EXPECT_EQ(f32_add(kMaxFinite32, half_ulp_of_max, RDN), (FpResult{kMaxFinite32, NX}));
    EXPECT_EQ(f32_add(kMaxFinite32, b32(0x1p102f), RNE), (FpResult{kMaxFinite32, NX}));
    EXPECT_EQ(f32_add(kMaxFinite32, b32(0x1p102f), RUP), (FpResult{kPosInf32, OF | NX}));
    EXPECT_EQ(f64_add(kMaxFinite64, b64(0x1p970), RNE), (FpResult{kPosInf64, OF | NX}));
    EXPECT_EQ(f64_add(kMaxFinite64, b64(0x1p970), RTZ), (FpResult{kMaxFinite64, NX}));
}

// --- underflow (unpriv spec §11.4: tininess after rounding; IEEE 754-2008 §7.5: UF needs both
//     tiny and inexact) ------------------------------------------------------------------------------

TEST(FpuUnderflow, AnExactSubnormalResultRaisesNoFlags) {
    EXPECT_EQ(f32_mul(kMinNormal32, b32(0.5f), RNE), (FpResult{0x00400000, NONE}));
    EXPECT_EQ(f32_add(kMinSubnormal32, kMinSubnormal32, RNE), (FpResult{0x00000002, NONE}));
    EXPECT_EQ(f32_sub(kMinNormal32, kMinSubnormal32, RNE), (FpResult{kMaxSubnormal32, NONE}));
    EXPECT_EQ(f64_div(kMinNormal64, b64(4.0), RNE), (FpResult{0x0004000000000000, NONE}));
}

TEST(FpuUnderflow, ATinyInexactResultRaisesUnderflowAndInexact) {
    // Half the smallest subnormal: a tie between 0 and 2^-149.
    const uint32_t half = b32(0.5f);
    EXPECT_EQ(f32_mul(kMinSubnormal32, half, RNE), (FpResult{kPosZero32, UF | NX}));
    EXPECT_EQ(f32_mul(kMinSubnormal32, half, RTZ), (FpResult{kPosZero32, UF | NX}));
    EXPECT_EQ(f32_mul(kMinSubnormal32, half, RUP), (FpResult{kMinSubnormal32, UF | NX}));
    EXPECT_EQ(f32_mul(kMinSubnormal32, half, RMM), (FpResult{kMinSubnormal32, UF | NX}));
    EXPECT_EQ(f32_mul(kMinSubnormal32, b32(-0.5f), RDN), (FpResult{kMinSubnormal32 | kNegZero32, UF | NX}));
    // 1.5 × 2^-149: a tie between 2^-149 and 2^-148; the even one is 2^-148.
    EXPECT_EQ(f32_mul(0x00000003, half, RNE), (FpResult{0x00000002, UF | NX}));
    EXPECT_EQ(f64_mul(kMinSubnormal64, b64(0.25), RUP), (FpResult{kMinSubnormal64, UF | NX}));
    EXPECT_EQ(f64_div(kMinNormal64, b64(3.0), RNE), (FpResult{0x0005555555555555, UF | NX}));
}

TEST(FpuUnderflow, AResultThatRoundsToTheSmallestNormalIsNotTinyIfUnboundedRoundingGetsThereToo) {
    // (1 − 2^-23) × 2^-126 × (1 + 2^-23) = 2^-126 × (1 − 2^-46): rounding it to 24 bits with an
    // unbounded exponent already gives 2^-126, so it is not tiny: NX without UF. Rounded towards
    // zero it stays below 2^-126: tiny, and the result is the largest subnormal.
    const uint32_t a = 0x3f7ffffe, b = 0x00800001;
    EXPECT_EQ(f32_mul(a, b, RNE), (FpResult{kMinNormal32, NX}));
    EXPECT_EQ(f32_mul(a, b, RUP), (FpResult{kMinNormal32, NX}));
    EXPECT_EQ(f32_mul(a, b, RMM), (FpResult{kMinNormal32, NX}));
    EXPECT_EQ(f32_mul(a, b, RTZ), (FpResult{kMaxSubnormal32, UF | NX}));
    EXPECT_EQ(f32_mul(a, b, RDN), (FpResult{kMaxSubnormal32, UF | NX}));
    // binary64: 2^-1022 × (1 − 2^-104).
    const uint64_t c = 0x3feffffffffffffe, e = 0x0010000000000001;
    EXPECT_EQ(f64_mul(c, e, RNE), (FpResult{kMinNormal64, NX}));
    EXPECT_EQ(f64_mul(c, e, RTZ), (FpResult{kMaxSubnormal64, UF | NX}));
    EXPECT_EQ(f64_fmadd(c, e, kNegZero64, RUP), (FpResult{kMinNormal64, NX}));
}

TEST(FpuUnderflow, AResultThatRoundsToTheSmallestNormalIsTinyIfItHasFullPrecisionBelowIt) {
    // (1 − 2^-24) × 2^-126 has 24 significant bits: with an unbounded exponent it is exact and
    // below 2^-126, so it is tiny. Among subnormals it is a tie, and RNE picks 2^-126 (even):
    // the result is normal, yet UF is raised.
    const uint32_t a = 0x3f7fffff;
    EXPECT_EQ(f32_mul(a, kMinNormal32, RNE), (FpResult{kMinNormal32, UF | NX}));
    EXPECT_EQ(f32_mul(a, kMinNormal32, RMM), (FpResult{kMinNormal32, UF | NX}));
    EXPECT_EQ(f32_mul(a, kMinNormal32, RUP), (FpResult{kMinNormal32, UF | NX}));
    EXPECT_EQ(f32_mul(a, kMinNormal32, RTZ), (FpResult{kMaxSubnormal32, UF | NX}));
    EXPECT_EQ(f64_mul(0x3fefffffffffffff, kMinNormal64, RNE), (FpResult{kMinNormal64, UF | NX}));
}

// --- square root --------------------------------------------------------------------------------

TEST(FpuSqrt, ExactRootsRaiseNoFlags) {
    EXPECT_EQ(f32_sqrt(b32(4.0f), RNE), r32(2.0f));
    EXPECT_EQ(f32_sqrt(0x00000002, RNE), r32(0x1p-74f));  // of a subnormal, 2^-148
    EXPECT_EQ(f64_sqrt(b64(0x1p-1074), RNE), r64(0x1p-537));
    EXPECT_EQ(f64_sqrt(b64(6.25), RDN), r64(2.5));
}

TEST(FpuSqrt, InexactRootsRaiseInexactAndRoundPerMode) {
    // sqrt(2) = 0x3fb504f3.3c...(binary32): nearest is below.
    EXPECT_EQ(f32_sqrt(b32(2.0f), RNE), (FpResult{0x3fb504f3, NX}));
    EXPECT_EQ(f32_sqrt(b32(2.0f), RTZ), (FpResult{0x3fb504f3, NX}));
    EXPECT_EQ(f32_sqrt(b32(2.0f), RUP), (FpResult{0x3fb504f4, NX}));
    // binary64: nearest is above.
    EXPECT_EQ(f64_sqrt(b64(2.0), RNE), (FpResult{0x3ff6a09e667f3bcd, NX}));
    EXPECT_EQ(f64_sqrt(b64(2.0), RMM), (FpResult{0x3ff6a09e667f3bcd, NX}));
    EXPECT_EQ(f64_sqrt(b64(2.0), RDN), (FpResult{0x3ff6a09e667f3bcc, NX}));
}

TEST(FpuSqrt, SignedZeroAndInfinityAreTheirOwnRoots) {
    EXPECT_EQ(f32_sqrt(kNegZero32, RNE), (FpResult{kNegZero32, NONE}));
    EXPECT_EQ(f32_sqrt(kPosZero32, RNE), (FpResult{kPosZero32, NONE}));
    EXPECT_EQ(f64_sqrt(kNegZero64, RDN), (FpResult{kNegZero64, NONE}));
    EXPECT_EQ(f64_sqrt(kPosInf64, RNE), (FpResult{kPosInf64, NONE}));
}

// --- fused multiply-add (unpriv spec §11.6) -----------------------------------------------------------

TEST(FpuFusedMultiplyAdd, TheFourFormsNegateProductAndAddend) {
    const uint32_t two = b32(2.0f), three = b32(3.0f), one = kOne32;
    EXPECT_EQ(f32_fmadd(two, three, one, RNE), r32(7.0f));    //  (2×3) + 1
    EXPECT_EQ(f32_fmsub(two, three, one, RNE), r32(5.0f));    //  (2×3) − 1
    EXPECT_EQ(f32_fnmsub(two, three, one, RNE), r32(-5.0f));  // −(2×3) + 1
    EXPECT_EQ(f32_fnmadd(two, three, one, RNE), r32(-7.0f));  // −(2×3) − 1
    EXPECT_EQ(f64_fmadd(b64(2.0), b64(3.0), kOne64, RNE), r64(7.0));
    EXPECT_EQ(f64_fmsub(b64(2.0), b64(3.0), kOne64, RNE), r64(5.0));
    EXPECT_EQ(f64_fnmsub(b64(2.0), b64(3.0), kOne64, RNE), r64(-5.0));
    EXPECT_EQ(f64_fnmadd(b64(2.0), b64(3.0), kOne64, RNE), r64(-7.0));
}

TEST(FpuFusedMultiplyAdd, RoundsOnlyOnce) {
    // (1 + 2^-23)^2 = 1 + 2^-22 + 2^-46, which a separate multiply rounds to 1 + 2^-22; the
    // fused form keeps the 2^-46.
    const uint32_t a = 0x3f800001;
    EXPECT_EQ(f32_fmsub(a, a, 0x3f800002, RNE), r32(0x1p-46f));
    EXPECT_EQ(f32_fnmadd(a, a, 0xbf800002, RNE), r32(-0x1p-46f));
    const uint64_t c = 0x3ff0000000000001;  // 1 + 2^-52
    EXPECT_EQ(f64_fmsub(c, c, 0x3ff0000000000002, RNE), r64(0x1p-104));
}

TEST(FpuFusedMultiplyAdd, DirectedRoundingAppliesToTheNegatedResult) {
    // −(1 × 1) − 2^-30 = −(1 + 2^-30): RDN goes away from zero, RUP towards it.
    EXPECT_EQ(f32_fnmadd(kOne32, kOne32, b32(0x1p-30f), RDN), (FpResult{0xbf800001, NX}));
    EXPECT_EQ(f32_fnmadd(kOne32, kOne32, b32(0x1p-30f), RUP), (FpResult{0xbf800000, NX}));
    // −(1 × 1) + 2^-60 = −(1 − 2^-60): RDN goes to −1, RUP and RTZ to the next value up.
    EXPECT_EQ(f64_fnmsub(kOne64, kOne64, b64(0x1p-60), RDN), (FpResult{0xbff0000000000000, NX}));
    EXPECT_EQ(f64_fnmsub(kOne64, kOne64, b64(0x1p-60), RUP), (FpResult{0xbfefffffffffffff, NX}));
    EXPECT_EQ(f64_fnmsub(kOne64, kOne64, b64(0x1p-60), RTZ), (FpResult{0xbfefffffffffffff, NX}));
    EXPECT_EQ(f64_fnmsub(kOne64, kOne64, b64(0x1p-60), RNE), (FpResult{0xbff0000000000000, NX}));
}

TEST(FpuFusedMultiplyAdd, ZeroProductsFollowTheSignedZeroSumRules) {
    EXPECT_EQ(f32_fmadd(kPosZero32, kOne32, kNegZero32, RNE), (FpResult{kPosZero32, NONE}));
    EXPECT_EQ(f32_fmadd(kPosZero32, kOne32, kNegZero32, RDN), (FpResult{kNegZero32, NONE}));
    EXPECT_EQ(f32_fmadd(kNegZero32, kOne32, kNegZero32, RNE), (FpResult{kNegZero32, NONE}));
    EXPECT_EQ(f32_fnmadd(kPosZero32, kOne32, kPosZero32, RNE), (FpResult{kNegZero32, NONE}));  // −0 − 0
    EXPECT_EQ(f64_fmadd(kPosZero64, kPosInf64 ^ kPosInf64, b64(-2.0), RNE), r64(-2.0));
}

// --- between formats -----------------------------------------------------------------------------

TEST(FpuFormatConversion, WideningIsExactEvenForSubnormals) {
    EXPECT_EQ(f32_to_f64(kMinSubnormal32), r64(0x1p-149));
    EXPECT_EQ(f32_to_f64(kMaxFinite32), (FpResult{0x47efffffe0000000, NONE}));
    EXPECT_EQ(f32_to_f64(kNegZero32), (FpResult{kNegZero64, NONE}));
    EXPECT_EQ(f32_to_f64(kNegInf32), (FpResult{kNegInf64, NONE}));
}

TEST(FpuFormatConversion, NarrowingRoundsPerModeAndOverflowsAndUnderflows) {
    const uint64_t tie = 0x3ff0000010000000;  // 1 + 2^-24
    EXPECT_EQ(f64_to_f32(tie, RNE), (FpResult{0x3f800000, NX}));
    EXPECT_EQ(f64_to_f32(tie, RMM), (FpResult{0x3f800001, NX}));
    EXPECT_EQ(f64_to_f32(tie, RUP), (FpResult{0x3f800001, NX}));
    EXPECT_EQ(f64_to_f32(b64(0x1p128), RNE), (FpResult{kPosInf32, OF | NX}));
    EXPECT_EQ(f64_to_f32(b64(-0x1p128), RTZ), (FpResult{kMaxFinite32 | kNegZero32, OF | NX}));
    EXPECT_EQ(f64_to_f32(kMaxFinite64, RDN), (FpResult{kMaxFinite32, OF | NX}));
    EXPECT_EQ(f64_to_f32(b64(0x1p-150), RNE), (FpResult{kPosZero32, UF | NX}));
    EXPECT_EQ(f64_to_f32(b64(0x1p-150), RMM), (FpResult{kMinSubnormal32, UF | NX}));
    EXPECT_EQ(f64_to_f32(kMinSubnormal64, RUP), (FpResult{kMinSubnormal32, UF | NX}));
    EXPECT_EQ(f64_to_f32(b64(0x1p-149), RNE), (FpResult{kMinSubnormal32, NONE}));
}

// ================================================================================================
// The host as a reference.
//
// SSE computes every IEEE operation exactly in RNE/RTZ/RDN/RUP, detects tininess after rounding
// (Intel SDM vol. 1 §4.9.1.5) and raises the same five flags. It differs from RISC-V in NaN
// results (it propagates payloads) and in conversions to integers (out of range gives 0x80..0),
// which the references below translate. Each host operation is one asm block that sets MXCSR,
// computes and reads the flags back, so the compiler cannot move anything across it.
// ================================================================================================

uint32_t mxcsr_for(RoundingMode rm) {
    // All exceptions masked (bits 7..12); RC (bits 13..14): 00 nearest, 01 down, 10 up, 11 zero.
    const unsigned rc = rm == RDN ? 1u : rm == RUP ? 2u : rm == RTZ ? 3u : 0u;
    return 0x1f80u | (rc << 13);
}

uint8_t flags_from_mxcsr(uint32_t m) {
    uint8_t f = 0;
    if ((m & 0x01) != 0) f |= NV;  // IE
    if ((m & 0x04) != 0) f |= DZ;  // ZE
    if ((m & 0x08) != 0) f |= OF;  // OE
    if ((m & 0x10) != 0) f |= UF;  // UE
    if ((m & 0x20) != 0) f |= NX;  // PE
    return f;
}

// name(dst, src, rm): dst = insn(dst, src) in rounding mode rm; returns the flags raised.
// NOLINTBEGIN(bugprone-macro-parentheses): D, S and T are types
#define TRAPEZE_HOST_OP(name, D, dst_constraint, S, src_constraint, insn)                      \
    uint8_t name(D& dst, S src, RoundingMode rm) {                                             \
        const uint32_t csr = mxcsr_for(rm);                                                    \
        uint32_t saved = 0, after = 0;                                                         \
        asm volatile("stmxcsr %[saved]\n\tldmxcsr %[csr]\n\t" insn                             \
                     "\n\tstmxcsr %[after]\n\t"                                                \
                     "ldmxcsr %[saved]"                                                        \
                     : [dst] "+" dst_constraint(dst), [saved] "+m"(saved), [after] "+m"(after) \
                     : [src] src_constraint(src), [csr] "m"(csr));                             \
        return flags_from_mxcsr(after);                                                        \
    }

TRAPEZE_HOST_OP(host_addss, float, "x", float, "x", "addss %[src], %[dst]")
TRAPEZE_HOST_OP(host_subss, float, "x", float, "x", "subss %[src], %[dst]")
TRAPEZE_HOST_OP(host_mulss, float, "x", float, "x", "mulss %[src], %[dst]")
TRAPEZE_HOST_OP(host_divss, float, "x", float, "x", "divss %[src], %[dst]")
TRAPEZE_HOST_OP(host_sqrtss, float, "x", float, "x", "sqrtss %[src], %[dst]")
TRAPEZE_HOST_OP(host_addsd, double, "x", double, "x", "addsd %[src], %[dst]")
TRAPEZE_HOST_OP(host_subsd, double, "x", double, "x", "subsd %[src], %[dst]")
TRAPEZE_HOST_OP(host_mulsd, double, "x", double, "x", "mulsd %[src], %[dst]")
TRAPEZE_HOST_OP(host_divsd, double, "x", double, "x", "divsd %[src], %[dst]")
TRAPEZE_HOST_OP(host_sqrtsd, double, "x", double, "x", "sqrtsd %[src], %[dst]")
TRAPEZE_HOST_OP(host_cvtsd2ss, float, "x", double, "x", "cvtsd2ss %[src], %[dst]")
TRAPEZE_HOST_OP(host_cvtss2sd, double, "x", float, "x", "cvtss2sd %[src], %[dst]")
TRAPEZE_HOST_OP(host_cvtsi2ss, float, "x", int64_t, "r", "cvtsi2ssq %[src], %[dst]")
TRAPEZE_HOST_OP(host_cvtsi2sd, double, "x", int64_t, "r", "cvtsi2sdq %[src], %[dst]")
TRAPEZE_HOST_OP(host_cvtusi2ss, float, "x", uint64_t, "r", "vcvtusi2ssq %[src], %[dst], %[dst]")   // AVX-512F
TRAPEZE_HOST_OP(host_cvtusi2sd, double, "x", uint64_t, "r", "vcvtusi2sdq %[src], %[dst], %[dst]")  // AVX-512F

// dst = a × b + dst with one rounding (FMA3).
#define TRAPEZE_HOST_FMA(name, T, insn)                                          \
    uint8_t name(T& dst, T a, T b, RoundingMode rm) {                            \
        const uint32_t csr = mxcsr_for(rm);                                      \
        uint32_t saved = 0, after = 0;                                           \
        asm volatile("stmxcsr %[saved]\n\tldmxcsr %[csr]\n\t" insn               \
                     " %[b], %[a], %[dst]\n\t"                                   \
                     "stmxcsr %[after]\n\tldmxcsr %[saved]"                      \
                     : [dst] "+x"(dst), [saved] "+m"(saved), [after] "+m"(after) \
                     : [a] "x"(a), [b] "x"(b), [csr] "m"(csr));                  \
        return flags_from_mxcsr(after);                                          \
    }
TRAPEZE_HOST_FMA(host_fmass, float, "vfmadd231ss")
TRAPEZE_HOST_FMA(host_fmasd, double, "vfmadd231sd")
// NOLINTEND(bugprone-macro-parentheses)

bool host_has_fma() {
    return __builtin_cpu_supports("fma");
}
bool host_has_avx512f() {
    return __builtin_cpu_supports("avx512f");
}

// Per-format parameters for building operands and reading host results.
template <typename U>
struct Format;
template <>
struct Format<uint32_t> {
    using Host = float;
    static constexpr int kFracBits = 23;
    static constexpr uint64_t kExpMax = 255;
    static constexpr uint64_t kBias = 127;
    static constexpr uint32_t kCanonicalNaN = kCanonicalNaN32;
};
template <>
struct Format<uint64_t> {
    using Host = double;
    static constexpr int kFracBits = 52;
    static constexpr uint64_t kExpMax = 2047;
    static constexpr uint64_t kBias = 1023;
    static constexpr uint64_t kCanonicalNaN = kCanonicalNaN64;
};

template <typename U>
typename Format<U>::Host to_host(U bits) {
    return std::bit_cast<typename Format<U>::Host>(bits);
}
template <typename U>
U from_host(typename Format<U>::Host v) {
    return std::bit_cast<U>(v);
}
template <typename U>
U make_float(bool negative, uint64_t exp, uint64_t frac) {
    constexpr unsigned kSignShift = sizeof(U) * 8 - 1;
    const uint64_t frac_mask = (uint64_t{1} << Format<U>::kFracBits) - 1;
    return static_cast<U>((uint64_t{negative} << kSignShift) | (exp << Format<U>::kFracBits) | (frac & frac_mask));
}
template <typename U>
uint64_t exponent_of(U bits) {
    return (bits >> Format<U>::kFracBits) & Format<U>::kExpMax;
}
template <typename U>
bool is_inf_bits(U bits) {
    return exponent_of(bits) == Format<U>::kExpMax && (bits & ((U{1} << Format<U>::kFracBits) - 1)) == 0;
}
template <typename U>
bool is_zero_bits(U bits) {
    return static_cast<U>(bits << 1) == 0;
}
template <typename U>
bool is_nan_bits(U bits) {
    return exponent_of(bits) == Format<U>::kExpMax && (bits & ((U{1} << Format<U>::kFracBits) - 1)) != 0;
}

// A host result as RISC-V would give it: NaN results are canonical.
template <typename U>
FpResult riscv_view(U bits, uint8_t flags) {
    return {is_nan_bits(bits) ? Format<U>::kCanonicalNaN : bits, flags};
}

// Operands biased towards what breaks arithmetic: zeros, infinities, NaNs, subnormals, the edges
// of the exponent range, and significands of all ones, all zeros or a few bits.
class Operands {
public:
    explicit Operands(uint64_t seed) : m_rng(seed) {}

    uint64_t next() { return m_rng(); }
    uint64_t below(uint64_t n) { return m_rng() % n; }

    template <typename U>
    uint64_t fraction() {
        constexpr int kBits = Format<U>::kFracBits;
        switch (below(6)) {
            case 0:
                return ~uint64_t{0};
            case 1:
                return 0;
            case 2:
                return next() & 7;
            case 3:
                return ~uint64_t{0} << below(kBits);
            case 4:
                return (uint64_t{1} << below(kBits)) | (next() & 1);
            default:
                return next();
        }
    }

    template <typename U>
    U any() {
        constexpr uint64_t kMax = Format<U>::kExpMax;
        constexpr uint64_t kBias = Format<U>::kBias;
        const bool neg = (next() & 1) != 0;
        switch (below(20)) {
            case 0:
                return make_float<U>(neg, 0, 0);
            case 1:
                return make_float<U>(neg, kMax, 0);
            case 2:
                return make_float<U>(neg, kMax, fraction<U>() | (uint64_t{1} << below(Format<U>::kFracBits)));
            case 3:
            case 4:
                return make_float<U>(neg, 0, fraction<U>());
            case 5:
                return make_float<U>(neg, 1 + below(3), fraction<U>());
            case 6:
                return make_float<U>(neg, kMax - 1 - below(3), fraction<U>());
            case 7:
            case 8:
            case 9:
            case 10:
                return make_float<U>(neg, kBias - 40 + below(80), fraction<U>());
            default:
                return make_float<U>(neg, 1 + below(kMax - 1), fraction<U>());
        }
    }

    // A finite operand whose exponent is `exp` shifted by a little, clamped to the format.
    template <typename U>
    U near_exponent(int64_t exp) {
        const int64_t e = std::clamp<int64_t>(exp + static_cast<int64_t>(below(7)) - 3, 0,
                                              static_cast<int64_t>(Format<U>::kExpMax) - 1);
        return make_float<U>((next() & 1) != 0, static_cast<uint64_t>(e), fraction<U>());
    }

    // A second operand for a + b: often close to ±a, for cancellation and carries.
    template <typename U>
    U addend_for(U a) {
        if (below(2) == 0) return any<U>();
        if (below(2) == 0) return near_exponent<U>(static_cast<int64_t>(exponent_of(a)));
        const U low = static_cast<U>(next() & ((U{1} << below(Format<U>::kFracBits)) - 1));
        return static_cast<U>((a ^ low) ^ (static_cast<U>(next() & 1) << (sizeof(U) * 8 - 1)));
    }

    // A second operand for a × b or a / b that often lands the result near the edges of the
    // exponent range, where overflow, underflow and tininess are decided.
    template <typename U>
    U factor_for(U a, bool divide) {
        if (below(3) == 0) return any<U>();
        const auto bias = static_cast<int64_t>(Format<U>::kBias);
        const int64_t target = below(2) == 0
                                   ? static_cast<int64_t>(below(4)) - static_cast<int64_t>(below(30))
                                   : static_cast<int64_t>(Format<U>::kExpMax) - 2 + static_cast<int64_t>(below(3));
        const auto ea = static_cast<int64_t>(exponent_of(a));
        return near_exponent<U>(divide ? ea - target + bias : target - ea + bias);
    }

private:
    std::mt19937_64 m_rng;
};

constexpr int kRandomCases = 40000;
constexpr RoundingMode kHostModes[] = {RNE, RTZ, RDN, RUP};

// Runs `soft` and `reference` on kRandomCases operand tuples from `gen` and reports the first
// differences.
template <typename Gen, typename Soft, typename Ref>
void expect_same(const char* what, RoundingMode rm, Gen gen, Soft soft, Ref reference) {
    int failures = 0;
    for (int i = 0; i < kRandomCases && failures < 8; ++i) {
        const auto operands = gen();
        const FpResult got = std::apply(soft, operands);
        const FpResult want = std::apply(reference, operands);
        if (got == want) continue;
        ++failures;
        std::ostringstream os;
        std::apply([&](auto... v) { ((os << " 0x" << std::hex << static_cast<uint64_t>(v)), ...); }, operands);
        ADD_FAILURE() << what << " rm=" << static_cast<int>(rm) << " operands" << os.str() << "\n  got  "
                      << testing::PrintToString(got) << "\n  want " << testing::PrintToString(want);
    }
}

template <typename U>
using HostBinary = uint8_t (*)(typename Format<U>::Host&, typename Format<U>::Host, RoundingMode);
template <typename U>
using HostFma = uint8_t (*)(typename Format<U>::Host&, typename Format<U>::Host, typename Format<U>::Host,
                            RoundingMode);
template <typename U>
using SoftBinary = FpResult (*)(U, U, RoundingMode);

TRAPEZE_HOST_OP(host_ucomiss, float, "x", float, "x", "ucomiss %[src], %[dst]")
TRAPEZE_HOST_OP(host_comiss, float, "x", float, "x", "comiss %[src], %[dst]")
TRAPEZE_HOST_OP(host_ucomisd, double, "x", double, "x", "ucomisd %[src], %[dst]")
TRAPEZE_HOST_OP(host_comisd, double, "x", double, "x", "comisd %[src], %[dst]")

template <typename U>
FpResult host_binary(HostBinary<U> op, U a, U b, RoundingMode rm) {
    auto d = to_host(a);
    const uint8_t flags = op(d, to_host(b), rm);
    return riscv_view<U>(from_host<U>(d), flags);
}

template <typename U>
FpResult host_muladd(HostFma<U> op, U a, U b, U c, bool negate_product, bool negate_addend, RoundingMode rm) {
    constexpr U kSign = U{1} << (sizeof(U) * 8 - 1);
    auto d = to_host<U>(negate_addend ? c ^ kSign : c);
    const uint8_t flags = op(d, to_host<U>(negate_product ? a ^ kSign : a), to_host(b), rm);
    // RISC-V raises NV for ∞ × 0 even when the addend is a quiet NaN (unpriv spec §11.6); for x86
    // that case is implementation-defined.
    const bool inf_times_zero = (is_inf_bits(a) && is_zero_bits(b)) || (is_zero_bits(a) && is_inf_bits(b));
    return riscv_view<U>(from_host<U>(d), static_cast<uint8_t>(flags | (inf_times_zero ? NV : 0)));
}

// RMM from the host, which lacks it: RMM agrees with RNE except on an exact tie, where it takes the
// neighbour of larger magnitude. `exact` is the value being rounded (exact in long double),
// ne/dn/up its host roundings in RNE/RDN/RUP. A tie is inexact and tiny when below 2^emin.
template <typename U>
FpResult rmm_from(FpResult ne, FpResult dn, FpResult up, long double exact) {
    if ((ne.flags & NX) == 0) return ne;
    const long double lo = to_host(static_cast<U>(dn.bits));
    const long double hi = to_host(static_cast<U>(up.bits));
    if (std::isinf(lo) || std::isinf(hi) || lo + hi != 2 * exact) return ne;
    const long double min_normal = sizeof(U) == 4 ? 0x1p-126L : 0x1p-1022L;
    return {exact < 0 ? dn.bits : up.bits, static_cast<uint8_t>(NX | (std::fabs(exact) < min_normal ? UF : 0))};
}

// A binary64 value rounded to binary32 in RMM.
FpResult host_f64_to_f32_rmm(uint64_t a) {
    FpResult r[3];
    const RoundingMode modes[] = {RNE, RDN, RUP};
    for (int i = 0; i < 3; ++i) {
        float f = 0;
        const uint8_t flags = host_cvtsd2ss(f, to_host(a), modes[i]);
        r[i] = riscv_view<uint32_t>(b32(f), flags);
    }
    return rmm_from<uint32_t>(r[0], r[1], r[2], to_host(a));
}

// A binary32 operation in RMM: computed in binary64 rounded to odd (truncated, last bit set if
// anything was lost), which keeps enough to be rounded again to binary32 exactly (53 ≥ 24 + 2).
// `wide` computes the operation in binary64 in the given mode and returns its flags.
template <typename Wide>
FpResult host_f32_rmm(FpResult nearest, Wide wide) {
    if ((nearest.flags & NX) == 0) return nearest;  // exact results do not depend on the mode
    double w = 0;
    const uint8_t flags = wide(w, RTZ);
    const uint64_t odd = b64(w) | ((flags & NX) != 0 ? 1 : 0);
    return host_f64_to_f32_rmm(odd);
}

double widen(uint32_t a) {
    return static_cast<double>(std::bit_cast<float>(a));
}

template <typename U>
void expect_binary_matches_host(const char* name, SoftBinary<U> soft, HostBinary<U> host, int kind) {
    Operands gen(0x5eed0000u + static_cast<uint64_t>(kind));
    for (const RoundingMode rm : kHostModes) {
        expect_same(
            name, rm,
            [&] {
                const U a = gen.any<U>();
                const U b = kind == 0 ? gen.addend_for(a) : gen.factor_for(a, kind == 2);
                return std::tuple{a, b};
            },
            [&](U a, U b) { return soft(a, b, rm); }, [&](U a, U b) { return host_binary<U>(host, a, b, rm); });
    }
}

TEST(FpuVersusHost, Binary32AddSubMulDivAreCorrectlyRoundedWithExactFlags) {
    expect_binary_matches_host<uint32_t>("f32_add", f32_add, host_addss, 0);
    expect_binary_matches_host<uint32_t>("f32_sub", f32_sub, host_subss, 0);
    expect_binary_matches_host<uint32_t>("f32_mul", f32_mul, host_mulss, 1);
    expect_binary_matches_host<uint32_t>("f32_div", f32_div, host_divss, 2);
}

TEST(FpuVersusHost, Binary64AddSubMulDivAreCorrectlyRoundedWithExactFlags) {
    expect_binary_matches_host<uint64_t>("f64_add", f64_add, host_addsd, 0);
    expect_binary_matches_host<uint64_t>("f64_sub", f64_sub, host_subsd, 0);
    expect_binary_matches_host<uint64_t>("f64_mul", f64_mul, host_mulsd, 1);
    expect_binary_matches_host<uint64_t>("f64_div", f64_div, host_divsd, 2);
}

template <typename U>
void expect_sqrt_matches_host(FpResult (*soft)(U, RoundingMode), HostBinary<U> host) {
    Operands gen(0x5eed0100u);
    for (const RoundingMode rm : kHostModes) {
        expect_same(
            "sqrt", rm,
            [&] {
                const U a = gen.any<U>();
                return std::tuple{gen.below(4) == 0 ? a : static_cast<U>(a & (~U{0} >> 1))};
            },
            [&](U a) { return soft(a, rm); },
            [&](U a) {
                auto d = to_host(a);
                const uint8_t flags = host(d, to_host(a), rm);
                return riscv_view<U>(from_host<U>(d), flags);
            });
    }
}

TEST(FpuVersusHost, SquareRootIsCorrectlyRoundedWithExactFlags) {
    expect_sqrt_matches_host<uint32_t>(f32_sqrt, host_sqrtss);
    expect_sqrt_matches_host<uint64_t>(f64_sqrt, host_sqrtsd);
}

template <typename U>
void expect_muladd_matches_host(FpResult (*soft)(U, U, U, bool, bool, RoundingMode), HostFma<U> host,
                                HostBinary<U> host_mul) {
    Operands gen(0x5eed0200u);
    for (const RoundingMode rm : kHostModes) {
        for (int variant = 0; variant < 4; ++variant) {
            const bool np = (variant & 1) != 0, na = (variant & 2) != 0;
            expect_same(
                "muladd", rm,
                [&] {
                    const U a = gen.any<U>();
                    const U b = gen.factor_for(a, false);
                    U c = gen.any<U>();
                    if (gen.below(3) != 0) {
                        // Near ±a×b, so that the sum cancels and the product's low bits matter.
                        auto p = to_host(a);
                        host_mul(p, to_host(b), RNE);
                        c = gen.addend_for(from_host<U>(p));
                    }
                    return std::tuple{a, b, c};
                },
                [&](U a, U b, U c) { return soft(a, b, c, np, na, rm); },
                [&](U a, U b, U c) { return host_muladd<U>(host, a, b, c, np, na, rm); });
        }
    }
}

TEST(FpuVersusHost, FusedMultiplyAddRoundsOnceWithExactFlags) {
    if (!host_has_fma()) GTEST_SKIP() << "host has no FMA3";
    expect_muladd_matches_host<uint32_t>(f32_muladd, host_fmass, host_mulss);
    expect_muladd_matches_host<uint64_t>(f64_muladd, host_fmasd, host_mulsd);
}

// The binary32 operations in RMM, against binary64 rounded to odd and then rounded to nearest
// with ties away from zero.
TEST(FpuVersusHost, Binary32ArithmeticRoundsTiesAwayFromZeroInRmm) {
    Operands gen(0x5eed0300u);
    const auto rmm_binary = [&](const char* name, SoftBinary<uint32_t> soft, HostBinary<uint32_t> narrow,
                                HostBinary<uint64_t> wide, int kind) {
        expect_same(
            name, RMM,
            [&] {
                const uint32_t a = gen.any<uint32_t>();
                const uint32_t b = kind == 0 ? gen.addend_for(a) : gen.factor_for(a, kind == 2);
                return std::tuple{a, b};
            },
            [&](uint32_t a, uint32_t b) { return soft(a, b, RMM); },
            [&](uint32_t a, uint32_t b) {
                return host_f32_rmm(host_binary<uint32_t>(narrow, a, b, RNE), [&](double& w, RoundingMode m) {
                    w = widen(a);
                    return wide(w, widen(b), m);
                });
            });
    };
    rmm_binary("f32_add", f32_add, host_addss, host_addsd, 0);
    rmm_binary("f32_sub", f32_sub, host_subss, host_subsd, 0);
    rmm_binary("f32_mul", f32_mul, host_mulss, host_mulsd, 1);
    rmm_binary("f32_div", f32_div, host_divss, host_divsd, 2);
    expect_same(
        "f32_sqrt", RMM, [&] { return std::tuple{static_cast<uint32_t>(gen.any<uint32_t>() & 0x7fffffffu)}; },
        [&](uint32_t a) { return f32_sqrt(a, RMM); },
        [&](uint32_t a) {
            float f = 0;
            const uint8_t flags = host_sqrtss(f, std::bit_cast<float>(a), RNE);
            return host_f32_rmm(riscv_view<uint32_t>(b32(f), flags),
                                [&](double& w, RoundingMode m) { return host_sqrtsd(w, widen(a), m); });
        });
    if (!host_has_fma()) return;
    expect_same(
        "f32_fmadd", RMM,
        [&] {
            const uint32_t a = gen.any<uint32_t>();
            const uint32_t b = gen.factor_for(a, false);
            float p = std::bit_cast<float>(a);  // an addend near ±a×b, for cancellation
            host_mulss(p, std::bit_cast<float>(b), RNE);
            return std::tuple{a, b, gen.addend_for(b32(p))};
        },
        [&](uint32_t a, uint32_t b, uint32_t c) { return f32_fmadd(a, b, c, RMM); },
        [&](uint32_t a, uint32_t b, uint32_t c) {
            return host_f32_rmm(host_muladd<uint32_t>(host_fmass, a, b, c, false, false, RNE),
                                [&](double& w, RoundingMode m) {
                                    w = widen(c);
                                    return host_fmasd(w, widen(a), widen(b), m);
                                });
        });
}

TEST(FpuVersusHost, ComparisonsGiveHostResultsAndQuietOrSignalingFlags) {
    Operands gen(0x5eed0400u);
    const auto check = [&](auto tag, auto eq, auto lt, auto le, auto ucomi, auto comi) {
        using U = decltype(tag);
        expect_same(
            "eq/lt/le", RNE,
            [&] {
                const U a = gen.any<U>();
                return std::tuple{a, gen.below(2) == 0 ? a ^ static_cast<U>(gen.below(2)) : gen.addend_for(a)};
            },
            // Results in bits 0..2, eq's flags in 8..15, lt's in 16..23, le's in 24..31.
            [&](U a, U b) {
                const FpResult e = eq(a, b), l = lt(a, b), q = le(a, b);
                return FpResult{e.bits | l.bits << 1 | q.bits << 2 | uint64_t{e.flags} << 8 | uint64_t{l.flags} << 16 |
                                    uint64_t{q.flags} << 24,
                                0};
            },
            [&](U a, U b) {
                auto lhs = to_host(a);
                const uint64_t quiet = ucomi(lhs, to_host(b), RNE);
                const uint64_t signaling = comi(lhs, to_host(b), RNE);
                const auto ha = to_host(a), hb = to_host(b);
                return FpResult{uint64_t{ha == hb} | uint64_t{ha < hb} << 1 | uint64_t{ha <= hb} << 2 | quiet << 8 |
                                    signaling << 16 | signaling << 24,
                                0};
            });
    };
    check(uint32_t{}, f32_eq, f32_lt, f32_le, host_ucomiss, host_comiss);
    check(uint64_t{}, f64_eq, f64_lt, f64_le, host_ucomisd, host_comisd);
}

TEST(FpuVersusHost, FormatConversionsRoundCorrectlyInAllFiveModes) {
    Operands gen(0x5eed0500u);
    for (const RoundingMode rm : kAllModes) {
        expect_same(
            "f64_to_f32", rm,
            [&] {
                // Around binary32's range edges as well as anywhere.
                if (gen.below(2) == 0) return std::tuple{gen.any<uint64_t>()};
                const int64_t e = gen.below(2) == 0 ? 1023 - 126 - static_cast<int64_t>(gen.below(30)) : 1023 + 127;
                return std::tuple{gen.near_exponent<uint64_t>(e)};
            },
            [&](uint64_t a) { return f64_to_f32(a, rm); },
            [&](uint64_t a) {
                if (rm == RMM) return host_f64_to_f32_rmm(a);
                float f = 0;
                const uint8_t flags = host_cvtsd2ss(f, to_host(a), rm);
                return riscv_view<uint32_t>(b32(f), flags);
            });
    }
    expect_same(
        "f32_to_f64", RNE, [&] { return std::tuple{gen.any<uint32_t>()}; }, [&](uint32_t a) { return f32_to_f64(a); },
        [&](uint32_t a) {
            double d = 0;
            const uint8_t flags = host_cvtss2sd(d, std::bit_cast<float>(a), RNE);
            return riscv_view<uint64_t>(b64(d), flags);
        });
}

// An integer rounded to format U by the host: through cvtsi2s* when it fits in int64_t, else
// through AVX-512's vcvtusi2s*; RMM from the other modes.
template <typename U>
FpResult host_from_int(bool is_signed, uint64_t v, RoundingMode rm) {
    if (rm == RMM) {
        const long double exact =
            is_signed ? static_cast<long double>(static_cast<int64_t>(v)) : static_cast<long double>(v);
        return rmm_from<U>(host_from_int<U>(is_signed, v, RNE), host_from_int<U>(is_signed, v, RDN),
                           host_from_int<U>(is_signed, v, RUP), exact);
    }
    if (!is_signed && v >> 63 == 0) is_signed = true;  // the same value
    typename Format<U>::Host h = 0;
    uint8_t flags = 0;
    if constexpr (sizeof(U) == 4)
        flags = is_signed ? host_cvtsi2ss(h, static_cast<int64_t>(v), rm) : host_cvtusi2ss(h, v, rm);
    else
        flags = is_signed ? host_cvtsi2sd(h, static_cast<int64_t>(v), rm) : host_cvtusi2sd(h, v, rm);
    return {from_host<U>(h), flags};
}

TEST(FpuVersusHost, IntegerToFloatConversionsRoundCorrectlyInAllFiveModes) {
    Operands gen(0x5eed0600u);
    const auto value = [&] { return std::tuple{gen.next() >> gen.below(64)}; };
    // Unsigned values of 2^63 and above need AVX-512F on the host.
    const auto u64_value = [&] {
        const uint64_t v = gen.next() >> gen.below(64);
        return std::tuple{host_has_avx512f() ? v : v >> 1};
    };
    for (const RoundingMode rm : kAllModes) {
        const auto i32 = [&](uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); };
        const auto u32 = [&](uint64_t v) { return static_cast<uint32_t>(v); };
        const auto i64 = [&](uint64_t v) { return static_cast<int64_t>(v); };
        const auto as_u64 = [&](int64_t v) { return static_cast<uint64_t>(v); };
        expect_same(
            "i32_to_f32", rm, value, [&](uint64_t v) { return i32_to_f32(i32(v), rm); },
            [&](uint64_t v) { return host_from_int<uint32_t>(true, as_u64(i32(v)), rm); });
        expect_same(
            "u32_to_f32", rm, value, [&](uint64_t v) { return u32_to_f32(u32(v), rm); },
            [&](uint64_t v) { return host_from_int<uint32_t>(false, u32(v), rm); });
        expect_same(
            "i64_to_f32", rm, value, [&](uint64_t v) { return i64_to_f32(i64(v), rm); },
            [&](uint64_t v) { return host_from_int<uint32_t>(true, v, rm); });
        expect_same(
            "u64_to_f32", rm, u64_value, [&](uint64_t v) { return u64_to_f32(v, rm); },
            [&](uint64_t v) { return host_from_int<uint32_t>(false, v, rm); });
        expect_same(
            "i32_to_f64", rm, value, [&](uint64_t v) { return i32_to_f64(i32(v), rm); },
            [&](uint64_t v) { return host_from_int<uint64_t>(true, as_u64(i32(v)), rm); });
        expect_same(
            "u32_to_f64", rm, value, [&](uint64_t v) { return u32_to_f64(u32(v), rm); },
            [&](uint64_t v) { return host_from_int<uint64_t>(false, u32(v), rm); });
        expect_same(
            "i64_to_f64", rm, value, [&](uint64_t v) { return i64_to_f64(i64(v), rm); },
            [&](uint64_t v) { return host_from_int<uint64_t>(true, v, rm); });
        expect_same(
            "u64_to_f64", rm, u64_value, [&](uint64_t v) { return u64_to_f64(v, rm); },
            [&](uint64_t v) { return host_from_int<uint64_t>(false, v, rm); });
    }
}

// Float to integer from first principles: the value rounded exactly in long double (which holds
// every binary32/binary64 value and every 64-bit integer), then RISC-V's saturation (table 11.4).
template <typename U, typename I>
FpResult reference_to_int(U a, RoundingMode rm) {
    using L = std::numeric_limits<I>;
    const uint64_t mask = ~uint64_t{0} >> (64 - 8 * sizeof(I));
    const auto pattern = [&](I v) { return static_cast<uint64_t>(v) & mask; };
    if (is_nan_bits(a)) return {pattern(L::max()), NV};
    const long double x = to_host(a);
    long double r = 0;
    switch (rm) {
        case RoundingMode::RNE:
            r = std::nearbyint(x);
            break;  // the host default: ties to even
        case RoundingMode::RTZ:
            r = std::trunc(x);
            break;
        case RoundingMode::RDN:
            r = std::floor(x);
            break;
        case RoundingMode::RUP:
            r = std::ceil(x);
            break;
        case RoundingMode::RMM:
            r = std::round(x);
            break;  // ties away from zero
    }
    if (r < static_cast<long double>(L::min()) || r > static_cast<long double>(L::max()))
        return {x < 0 ? pattern(L::min()) : pattern(L::max()), NV};
    return {pattern(static_cast<I>(r)), r != x ? NX : NONE};
}

template <typename U>
void expect_to_int_matches_reference(FpResult (*to_i32)(U, RoundingMode), FpResult (*to_u32)(U, RoundingMode),
                                     FpResult (*to_i64)(U, RoundingMode), FpResult (*to_u64)(U, RoundingMode)) {
    Operands gen(0x5eed0700u);
    const auto operand = [&] {
        // Mostly values with exponents from 2^-2 to 2^66, where integers and their edges are.
        if (gen.below(4) == 0) return std::tuple{gen.any<U>()};
        return std::tuple{gen.near_exponent<U>(static_cast<int64_t>(Format<U>::kBias + gen.below(67)) - 2)};
    };
    for (const RoundingMode rm : kAllModes) {
        expect_same(
            "to_i32", rm, operand, [&](U a) { return to_i32(a, rm); },
            [&](U a) { return reference_to_int<U, int32_t>(a, rm); });
        expect_same(
            "to_u32", rm, operand, [&](U a) { return to_u32(a, rm); },
            [&](U a) { return reference_to_int<U, uint32_t>(a, rm); });
        expect_same(
            "to_i64", rm, operand, [&](U a) { return to_i64(a, rm); },
            [&](U a) { return reference_to_int<U, int64_t>(a, rm); });
        expect_same(
            "to_u64", rm, operand, [&](U a) { return to_u64(a, rm); },
            [&](U a) { return reference_to_int<U, uint64_t>(a, rm); });
    }
}

TEST(FpuVersusReference, FloatToIntegerConversionsRoundAndSaturateInAllFiveModes) {
    expect_to_int_matches_reference<uint32_t>(f32_to_i32, f32_to_u32, f32_to_i64, f32_to_u64);
    expect_to_int_matches_reference<uint64_t>(f64_to_i32, f64_to_u32, f64_to_i64, f64_to_u64);
}

}  // namespace
}  // namespace trapeze::rv64::fpu
