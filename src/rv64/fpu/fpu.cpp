// Software IEEE 754 arithmetic for RISC-V F and D. See fpu.hpp for the contract.
//
// Every operation reduces its operands to (sign, biased exponent, significand) with the
// significand's leading one at bit 63, computes the exact result or a truncation of it whose
// lowest bit is "jammed" (OR-ed with every bit dropped below it, so it records inexactness),
// and hands that to round_pack(), the single place where rounding, overflow and underflow
// happen. The jammed bit always lies well below the rounding position (at least 10 bits), so
// it never changes a rounding decision other than through "exact or not".
#include "rv64/fpu/fpu.hpp"

#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

namespace trapeze::rv64::fpu {
namespace {

using u128 = unsigned __int128;

// Format parameters, keyed by the storage type (IEEE 754-2008 §3.6).
template <typename U>
struct Fmt;
template <>
struct Fmt<uint32_t> {
    static constexpr int kFracBits = 23;
    static constexpr int kBias = 127;
    static constexpr uint32_t kCanonicalNaN = kCanonicalNaN32;
};
template <>
struct Fmt<uint64_t> {
    static constexpr int kFracBits = 52;
    static constexpr int kBias = 1023;
    static constexpr uint64_t kCanonicalNaN = kCanonicalNaN64;
};

template <typename U>
struct Traits : Fmt<U> {
    using Fmt<U>::kFracBits;
    using Fmt<U>::kBias;
    static constexpr int kPrecision = kFracBits + 1;  // significand bits, hidden one included
    static constexpr int kExpMax = 2 * kBias + 1;     // the all-ones exponent field: inf / NaN
    static constexpr unsigned kBits = sizeof(U) * 8;
    static constexpr U kSign = U{1} << (kBits - 1);
    static constexpr U kFracMask = (U{1} << kFracBits) - 1;
    static constexpr U kInf = static_cast<U>(static_cast<U>(kExpMax) << kFracBits);
    static constexpr U kMaxFinite = kInf - 1;
    static constexpr U kQuietBit = U{1} << (kFracBits - 1);
};

// --- classification of raw bits ------------------------------------------------------------------
template <typename U>
constexpr bool sign_of(U a) {
    return (a & Traits<U>::kSign) != 0;
}
template <typename U>
constexpr U magnitude(U a) {
    return a & static_cast<U>(~Traits<U>::kSign);
}
template <typename U>
constexpr bool is_nan(U a) {
    return magnitude(a) > Traits<U>::kInf;
}
template <typename U>
constexpr bool is_snan(U a) {
    return is_nan(a) && (a & Traits<U>::kQuietBit) == 0;
}
template <typename U>
constexpr bool is_inf(U a) {
    return magnitude(a) == Traits<U>::kInf;
}
template <typename U>
constexpr bool is_zero(U a) {
    return magnitude(a) == 0;
}
template <typename U>
constexpr U signed_zero(bool negative) {
    return negative ? Traits<U>::kSign : U{0};
}
template <typename U>
constexpr U signed_inf(bool negative) {
    return signed_zero<U>(negative) | Traits<U>::kInf;
}

// The canonical NaN, with NV if any operand was a signaling NaN (unpriv spec §11.3).
template <typename U>
FpResult nan_result(bool invalid) {
    return {Traits<U>::kCanonicalNaN, invalid ? kFlagNV : uint8_t{0}};
}
template <typename U>
FpResult exact(U bits) {
    return {bits, 0};
}

// --- significand helpers ----------------------------------------------------------------------
// v >> n with every bit shifted out OR-ed into bit 0.
constexpr uint64_t shift_right_jam(uint64_t v, unsigned n) {
    if (n == 0) return v;
    if (n >= 64) return v != 0;
    return (v >> n) | ((v << (64 - n)) != 0);
}
constexpr u128 shift_right_jam(u128 v, unsigned n) {
    if (n == 0) return v;
    if (n >= 128) return v != 0;
    return (v >> n) | ((v << (128 - n)) != 0);
}
constexpr int count_leading_zeros(uint64_t v) {
    return std::countl_zero(v);
}
constexpr int count_leading_zeros(u128 v) {
    const auto hi = static_cast<uint64_t>(v >> 64);
    return hi != 0 ? std::countl_zero(hi) : 64 + std::countl_zero(static_cast<uint64_t>(v));
}
// A normalised 128-bit significand reduced to 64 bits, the dropped half jammed into bit 0.
constexpr uint64_t jam_to_64(u128 v) {
    return static_cast<uint64_t>(v >> 64) | (static_cast<uint64_t>(v) != 0);
}

struct Rounded {
    uint64_t m;    // the rounded integer
    bool inexact;  // whether any nonzero bits were discarded
};

// Rounds sig × 2^-shift to an integer in mode rm; `negative` is the sign of the value the
// magnitude `sig` belongs to (directed modes depend on it). Any shift is allowed.
constexpr Rounded round_shift(uint64_t sig, unsigned shift, bool negative, RoundingMode rm) {
    if (shift == 0) return {sig, false};
    uint64_t m = 0, rem = 0, half = 0;
    if (shift < 64) {
        m = sig >> shift;
        rem = sig & ((uint64_t{1} << shift) - 1);
        half = uint64_t{1} << (shift - 1);
    } else if (shift == 64) {
        rem = sig;
        half = uint64_t{1} << 63;
    } else {  // the value is below half a unit: only "nonzero" matters
        rem = sig != 0;
        half = 2;
    }
    if (rem == 0) return {m, false};
    bool up = false;
    switch (rm) {
        case RoundingMode::RNE:
            up = rem > half || (rem == half && (m & 1) != 0);
            break;
        case RoundingMode::RTZ:
            break;
        case RoundingMode::RDN:
            up = negative;
            break;
        case RoundingMode::RUP:
            up = !negative;
            break;
        case RoundingMode::RMM:
            up = rem >= half;
            break;
    }
    return {m + up, true};
}

// IEEE 754-2008 §7.4: what an overflowing result becomes in each rounding mode.
template <typename U>
FpResult overflow(bool negative, RoundingMode rm) {
    const bool to_inf = rm == RoundingMode::RNE || rm == RoundingMode::RMM || (rm == RoundingMode::RDN && negative) ||
                        (rm == RoundingMode::RUP && !negative);
    const U mag = to_inf ? Traits<U>::kInf : Traits<U>::kMaxFinite;
    return {signed_zero<U>(negative) | mag, static_cast<uint8_t>(kFlagOF | kFlagNX)};
}

// Rounds the nonzero value sig/2^63 × 2^(exp − bias) (sig's leading one at bit 63, lower bits
// jammed) to format U. `exp` is a biased exponent that may lie far outside the format's range.
template <typename U>
FpResult round_pack(bool negative, int32_t exp, uint64_t sig, RoundingMode rm) {
    using T = Traits<U>;
    constexpr unsigned kShift = 64 - T::kPrecision;
    const uint64_t sign = signed_zero<U>(negative);
    if (exp >= T::kExpMax) return overflow<U>(negative, rm);
    if (exp >= 1) {
        const Rounded r = round_shift(sig, kShift, negative, rm);
        // r.m carries the hidden one, so a carry out of the significand bumps the exponent.
        const uint64_t bits = (static_cast<uint64_t>(exp - 1) << T::kFracBits) + r.m;
        if ((bits >> T::kFracBits) >= static_cast<uint64_t>(T::kExpMax)) return overflow<U>(negative, rm);
        return {sign | bits, r.inexact ? kFlagNX : uint8_t{0}};
    }
    // Below the normal range. Tininess is detected after rounding (unpriv spec §11.4): the value
    // is tiny unless rounding it to full precision with an unbounded exponent reaches 2^emin.
    const bool tiny = exp < 0 || (round_shift(sig, kShift, negative, rm).m >> T::kPrecision) == 0;
    const Rounded r = round_shift(shift_right_jam(sig, static_cast<unsigned>(1 - exp)), kShift, negative, rm);
    // A subnormal that rounds up to 2^emin gets exponent field 1 through the same carry.
    uint8_t flags = 0;
    if (r.inexact) flags = tiny ? static_cast<uint8_t>(kFlagNX | kFlagUF) : kFlagNX;
    return {sign | r.m, flags};
}

// A finite nonzero value as sig/2^63 × 2^(exp − bias), sig's leading one at bit 63.
struct Unpacked {
    bool negative;
    int32_t exp;
    uint64_t sig;
};

template <typename U>
Unpacked unpack(U a) {
    using T = Traits<U>;
    const auto exp = static_cast<int32_t>(magnitude(a) >> T::kFracBits);
    const uint64_t frac = a & T::kFracMask;
    if (exp != 0) return {sign_of(a), exp, (frac | (uint64_t{1} << T::kFracBits)) << (64 - T::kPrecision)};
    // Subnormal: normalise; the exponent goes below 1 accordingly.
    const int lz = std::countl_zero(frac);
    return {sign_of(a), 65 - T::kPrecision - lz, frac << lz};
}

// --- addition ---------------------------------------------------------------------------------
// x + y for magnitudes x, y (W = uint64_t or u128, leading ones at the top bit) with biased
// exponents; the sum of two values of opposite sign that cancel exactly is +0, or −0 in RDN
// (IEEE 754-2008 §6.3).
template <typename U, typename W>
FpResult add_magnitudes(bool x_neg, int32_t x_exp, W x, bool y_neg, int32_t y_exp, W y, RoundingMode rm) {
    if (x_exp < y_exp || (x_exp == y_exp && x < y)) {
        std::swap(x_neg, y_neg);
        std::swap(x_exp, y_exp);
        std::swap(x, y);
    }
    // |x| >= |y|: one bit of headroom for the carry, then align y (exact unless y is jammed, and
    // a jammed y leaves the sum odd, i.e. strictly between two rounding boundaries as it should).
    x >>= 1;
    y = shift_right_jam(static_cast<W>(y >> 1), static_cast<unsigned>(x_exp - y_exp));
    const W sum = x_neg == y_neg ? x + y : x - y;
    if (sum == 0) return exact<U>(signed_zero<U>(rm == RoundingMode::RDN));
    const int lz = count_leading_zeros(sum);
    const W norm = static_cast<W>(sum << lz);
    uint64_t sig = 0;
    if constexpr (std::is_same_v<W, u128>)
        sig = jam_to_64(norm);
    else
        sig = norm;
    return round_pack<U>(x_neg, x_exp + 1 - lz, sig, rm);
}

template <typename U>
FpResult add(U a, U b, RoundingMode rm) {
    if (is_nan(a) || is_nan(b)) return nan_result<U>(is_snan(a) || is_snan(b));
    if (is_inf(a)) {
        if (is_inf(b) && sign_of(a) != sign_of(b)) return nan_result<U>(true);  // ∞ − ∞
        return exact(a);
    }
    if (is_inf(b)) return exact(b);
    if (is_zero(a)) {
        if (is_zero(b) && sign_of(a) != sign_of(b)) return exact<U>(signed_zero<U>(rm == RoundingMode::RDN));
        return exact(b);
    }
    if (is_zero(b)) return exact(a);
    const Unpacked x = unpack(a), y = unpack(b);
    return add_magnitudes<U, uint64_t>(x.negative, x.exp, x.sig, y.negative, y.exp, y.sig, rm);
}

// --- multiplication, division, square root ----------------------------------------------------------
template <typename U>
FpResult multiply(U a, U b, RoundingMode rm) {
    if (is_nan(a) || is_nan(b)) return nan_result<U>(is_snan(a) || is_snan(b));
    const bool negative = sign_of(a) != sign_of(b);
    if (is_inf(a) || is_inf(b)) {
        if (is_zero(a) || is_zero(b)) return nan_result<U>(true);  // ∞ × 0
        return exact(signed_inf<U>(negative));
    }
    if (is_zero(a) || is_zero(b)) return exact(signed_zero<U>(negative));
    const Unpacked x = unpack(a), y = unpack(b);
    // The product of two significands in [1, 2) lies in [1, 4): leading one at bit 127 or 126.
    const u128 p = static_cast<u128>(x.sig) * y.sig;
    const int32_t exp = x.exp + y.exp - Traits<U>::kBias;
    if ((p >> 127) != 0) return round_pack<U>(negative, exp + 1, jam_to_64(p), rm);
    return round_pack<U>(negative, exp, jam_to_64(p << 1), rm);
}

// n / d and its remainder, for a quotient known to fit in 64 bits (n >> 64 < d).
uint64_t div_128_by_64(u128 n, uint64_t d, uint64_t& rem) {
#if defined(__x86_64__)
    // One divq instead of a __udivti3 call.
    uint64_t q = 0;
    uint64_t hi = static_cast<uint64_t>(n >> 64);
    asm("divq %[d]" : "=a"(q), "+d"(hi) : [d] "rm"(d), "a"(static_cast<uint64_t>(n)) : "cc");
    rem = hi;
    return q;
#else
    rem = static_cast<uint64_t>(n % d);
    return static_cast<uint64_t>(n / d);
#endif
}

template <typename U>
FpResult divide(U a, U b, RoundingMode rm) {
    if (is_nan(a) || is_nan(b)) return nan_result<U>(is_snan(a) || is_snan(b));
    const bool negative = sign_of(a) != sign_of(b);
    if (is_inf(a)) {
        if (is_inf(b)) return nan_result<U>(true);  // ∞ / ∞
        return exact(signed_inf<U>(negative));
    }
    if (is_inf(b)) return exact(signed_zero<U>(negative));
    if (is_zero(b)) {
        if (is_zero(a)) return nan_result<U>(true);  // 0 / 0
        return {signed_inf<U>(negative), kFlagDZ};   // IEEE 754-2008 §7.3
    }
    if (is_zero(a)) return exact(signed_zero<U>(negative));
    const Unpacked x = unpack(a), y = unpack(b);
    // Scale the dividend so that the quotient has its leading one at bit 63: 64 quotient bits
    // (at least two below the rounding position) and a remainder that says whether it is exact.
    int32_t exp = x.exp - y.exp + Traits<U>::kBias;
    u128 n = static_cast<u128>(x.sig) << 63;
    if (x.sig < y.sig) {
        n <<= 1;
        --exp;
    }
    uint64_t rem = 0;
    const uint64_t q = div_128_by_64(n, y.sig, rem);
    return round_pack<U>(negative, exp, q | (rem != 0), rm);
}

// floor(sqrt(m)) for m in [2^126, 2^128).
uint64_t isqrt_128(u128 m) {
    // The host's double square root of the high half is within a few thousand units of the
    // answer; one Newton step, r' = r/2 + (m/2)/r (a quotient below 2^64 since r >= 2^63), brings
    // that within a couple of units, and exact integer checks settle the rest. The host's
    // rounding mode can only change the starting point, never the result.
    const double estimate = std::sqrt(static_cast<double>(static_cast<uint64_t>(m >> 64))) * 0x1p32;
    uint64_t r = estimate >= 0x1p64 ? ~uint64_t{0} : static_cast<uint64_t>(estimate);
    if (r < (uint64_t{1} << 63)) r = uint64_t{1} << 63;
    uint64_t rem = 0;
    const u128 next = (r >> 1) + static_cast<u128>(div_128_by_64(m >> 1, r, rem));
    u128 root = next > ~uint64_t{0} ? ~uint64_t{0} : next;
    while (root * root > m) --root;
    while (root < ~uint64_t{0} && (root + 1) * (root + 1) <= m) ++root;
    return static_cast<uint64_t>(root);
}

template <typename U>
FpResult square_root(U a, RoundingMode rm) {
    if (is_nan(a)) return nan_result<U>(is_snan(a));
    if (is_zero(a)) return exact(a);             // sqrt(±0) = ±0, IEEE 754-2008 §6.3
    if (sign_of(a)) return nan_result<U>(true);  // negative, including −∞
    if (is_inf(a)) return exact(a);
    const Unpacked x = unpack(a);
    // Halve an even unbiased exponent; for an odd one take the square root of twice the
    // significand instead. Either way the root has its leading one at bit 63.
    const int32_t e = x.exp - Traits<U>::kBias;
    const u128 m = static_cast<u128>(x.sig) << ((e & 1) != 0 ? 64 : 63);
    const uint64_t r = isqrt_128(m);
    const bool inexact = static_cast<u128>(r) * r != m;
    return round_pack<U>(false, (e >> 1) + Traits<U>::kBias, r | inexact, rm);
}

// --- fused multiply-add -------------------------------------------------------------------------
template <typename U>
FpResult muladd(U a, U b, U c, bool negate_product, bool negate_addend, RoundingMode rm) {
    // ∞ × 0 is invalid even when the addend is a quiet NaN (unpriv spec §11.6).
    const bool inf_times_zero = (is_inf(a) && is_zero(b)) || (is_zero(a) && is_inf(b));
    if (is_nan(a) || is_nan(b) || is_nan(c))
        return nan_result<U>(inf_times_zero || is_snan(a) || is_snan(b) || is_snan(c));
    if (inf_times_zero) return nan_result<U>(true);
    // The signs are applied before the single rounding, so directed modes see the true sum.
    const bool p_neg = (sign_of(a) != sign_of(b)) != negate_product;
    if (negate_addend) c ^= Traits<U>::kSign;
    const bool c_neg = sign_of(c);
    if (is_inf(a) || is_inf(b)) {
        if (is_inf(c) && c_neg != p_neg) return nan_result<U>(true);  // ∞ − ∞
        return exact(signed_inf<U>(p_neg));
    }
    if (is_inf(c)) return exact(c);
    if (is_zero(a) || is_zero(b)) {
        if (is_zero(c) && c_neg != p_neg) return exact(signed_zero<U>(rm == RoundingMode::RDN));
        return exact(c);
    }
    const Unpacked x = unpack(a), y = unpack(b);
    // The exact product, normalised to a leading one at bit 127 (at most 106 bits are nonzero).
    u128 p = static_cast<u128>(x.sig) * y.sig;
    int32_t p_exp = x.exp + y.exp - Traits<U>::kBias;
    if ((p >> 127) != 0)
        ++p_exp;
    else
        p <<= 1;
    if (is_zero(c)) return round_pack<U>(p_neg, p_exp, jam_to_64(p), rm);
    const Unpacked z = unpack(c);
    return add_magnitudes<U, u128>(p_neg, p_exp, p, c_neg, z.exp, static_cast<u128>(z.sig) << 64, rm);
}

// --- min/max and comparisons ----------------------------------------------------------------------
// An unsigned key ordering all non-NaN values, with −0 below +0.
template <typename U>
constexpr U order_key(U a) {
    return sign_of(a) ? static_cast<U>(~a) : static_cast<U>(a | Traits<U>::kSign);
}

// IEEE 754-2019 minimumNumber/maximumNumber as RISC-V specifies them (unpriv spec §11.6): a
// single NaN operand yields the other operand, two yield the canonical NaN, −0 < +0, and only a
// signaling NaN raises NV.
template <typename U>
FpResult min_max(U a, U b, bool want_max) {
    const uint8_t flags = (is_snan(a) || is_snan(b)) ? kFlagNV : 0;
    if (is_nan(a) && is_nan(b)) return {Traits<U>::kCanonicalNaN, flags};
    if (is_nan(a)) return {b, flags};
    if (is_nan(b)) return {a, flags};
    const bool a_below = order_key(a) < order_key(b);
    return {a_below != want_max ? a : b, 0};
}

// feq is a quiet comparison, flt/fle signaling ones (unpriv spec §11.8).
template <typename U>
FpResult eq(U a, U b) {
    if (is_nan(a) || is_nan(b)) return {0, (is_snan(a) || is_snan(b)) ? kFlagNV : uint8_t{0}};
    return {a == b || (is_zero(a) && is_zero(b)), 0};
}
template <typename U>
FpResult lt(U a, U b) {
    if (is_nan(a) || is_nan(b)) return {0, kFlagNV};
    if (is_zero(a) && is_zero(b)) return {0, 0};
    return {order_key(a) < order_key(b), 0};
}
template <typename U>
FpResult le(U a, U b) {
    if (is_nan(a) || is_nan(b)) return {0, kFlagNV};
    if (is_zero(a) && is_zero(b)) return {1, 0};
    return {order_key(a) <= order_key(b), 0};
}

template <typename U>
uint16_t classify(U a) {
    using T = Traits<U>;
    const bool neg = sign_of(a);
    if (is_nan(a)) return (a & T::kQuietBit) != 0 ? kClassQuietNaN : kClassSignalingNaN;
    if (is_inf(a)) return neg ? kClassNegInf : kClassPosInf;
    if (is_zero(a)) return neg ? kClassNegZero : kClassPosZero;
    if ((magnitude(a) >> T::kFracBits) == 0) return neg ? kClassNegSubnormal : kClassPosSubnormal;
    return neg ? kClassNegNormal : kClassPosNormal;
}

// --- conversions -----------------------------------------------------------------------------------
// Float to integer I, rounding in mode rm. Results that are NaN or out of range after rounding
// saturate and raise NV alone (unpriv spec §11.7, table 11.4): NaN and +∞ give the largest value.
template <typename U, typename I>
FpResult to_int(U a, RoundingMode rm) {
    using Limits = std::numeric_limits<I>;
    constexpr uint64_t kWidthMask = ~uint64_t{0} >> (64 - 8 * sizeof(I));
    constexpr uint64_t kMaxPattern = static_cast<uint64_t>(Limits::max()) & kWidthMask;
    constexpr uint64_t kMinPattern = static_cast<uint64_t>(Limits::min()) & kWidthMask;
    // Magnitudes allowed for each sign: max, and |min| (0 for unsigned types).
    constexpr uint64_t kPosLimit = static_cast<uint64_t>(Limits::max());
    constexpr uint64_t kNegLimit = Limits::is_signed ? kPosLimit + 1 : 0;

    if (is_nan(a)) return {kMaxPattern, kFlagNV};
    const bool neg = sign_of(a);
    const FpResult saturated = {neg ? kMinPattern : kMaxPattern, kFlagNV};
    if (is_inf(a)) return saturated;
    if (is_zero(a)) return {0, 0};
    const Unpacked x = unpack(a);
    const int32_t e = x.exp - Traits<U>::kBias;  // the value is sig/2^63 × 2^e
    if (e >= 64) return saturated;
    const Rounded r = e >= 63 ? Rounded{x.sig, false} : round_shift(x.sig, static_cast<unsigned>(63 - e), neg, rm);
    if (r.m > (neg ? kNegLimit : kPosLimit)) return saturated;
    const uint64_t value = neg ? (0 - r.m) & kWidthMask : r.m;
    return {value, r.inexact ? kFlagNX : uint8_t{0}};
}

// An integer given as sign and magnitude, to float format U.
template <typename U>
FpResult from_int(bool neg, uint64_t mag, RoundingMode rm) {
    if (mag == 0) return exact(U{0});  // integer zero converts to +0
    const int lz = std::countl_zero(mag);
    return round_pack<U>(neg, Traits<U>::kBias + 63 - lz, mag << lz, rm);
}
template <typename U>
FpResult from_signed(int64_t v, RoundingMode rm) {
    const bool neg = v < 0;
    const auto bits = static_cast<uint64_t>(v);
    return from_int<U>(neg, neg ? 0 - bits : bits, rm);
}

// Between formats: NaNs become the target's canonical NaN, everything else is rounded.
template <typename To, typename From>
FpResult convert(From a, RoundingMode rm) {
    if (is_nan(a)) return nan_result<To>(is_snan(a));
    if (is_inf(a)) return exact(signed_inf<To>(sign_of(a)));
    if (is_zero(a)) return exact(signed_zero<To>(sign_of(a)));
    const Unpacked x = unpack(a);
    return round_pack<To>(x.negative, x.exp - Traits<From>::kBias + Traits<To>::kBias, x.sig, rm);
}

}  // namespace

FpResult f32_add(uint32_t a, uint32_t b, RoundingMode rm) {
    return add(a, b, rm);
}
FpResult f32_sub(uint32_t a, uint32_t b, RoundingMode rm) {
    return add(a, b ^ Traits<uint32_t>::kSign, rm);
}
FpResult f32_mul(uint32_t a, uint32_t b, RoundingMode rm) {
    return multiply(a, b, rm);
}
FpResult f32_div(uint32_t a, uint32_t b, RoundingMode rm) {
    return divide(a, b, rm);
}
FpResult f32_sqrt(uint32_t a, RoundingMode rm) {
    return square_root(a, rm);
}
FpResult f32_muladd(uint32_t a, uint32_t b, uint32_t c, bool negate_product, bool negate_addend, RoundingMode rm) {
    return muladd(a, b, c, negate_product, negate_addend, rm);
}
FpResult f32_min(uint32_t a, uint32_t b) {
    return min_max(a, b, false);
}
FpResult f32_max(uint32_t a, uint32_t b) {
    return min_max(a, b, true);
}
FpResult f32_eq(uint32_t a, uint32_t b) {
    return eq(a, b);
}
FpResult f32_lt(uint32_t a, uint32_t b) {
    return lt(a, b);
}
FpResult f32_le(uint32_t a, uint32_t b) {
    return le(a, b);
}
uint16_t f32_classify(uint32_t a) {
    return classify(a);
}
FpResult f32_to_i32(uint32_t a, RoundingMode rm) {
    return to_int<uint32_t, int32_t>(a, rm);
}
FpResult f32_to_u32(uint32_t a, RoundingMode rm) {
    return to_int<uint32_t, uint32_t>(a, rm);
}
FpResult f32_to_i64(uint32_t a, RoundingMode rm) {
    return to_int<uint32_t, int64_t>(a, rm);
}
FpResult f32_to_u64(uint32_t a, RoundingMode rm) {
    return to_int<uint32_t, uint64_t>(a, rm);
}
FpResult i32_to_f32(int32_t v, RoundingMode rm) {
    return from_signed<uint32_t>(v, rm);
}
FpResult u32_to_f32(uint32_t v, RoundingMode rm) {
    return from_int<uint32_t>(false, v, rm);
}
FpResult i64_to_f32(int64_t v, RoundingMode rm) {
    return from_signed<uint32_t>(v, rm);
}
FpResult u64_to_f32(uint64_t v, RoundingMode rm) {
    return from_int<uint32_t>(false, v, rm);
}

FpResult f64_add(uint64_t a, uint64_t b, RoundingMode rm) {
    return add(a, b, rm);
}
FpResult f64_sub(uint64_t a, uint64_t b, RoundingMode rm) {
    return add(a, b ^ Traits<uint64_t>::kSign, rm);
}
FpResult f64_mul(uint64_t a, uint64_t b, RoundingMode rm) {
    return multiply(a, b, rm);
}
FpResult f64_div(uint64_t a, uint64_t b, RoundingMode rm) {
    return divide(a, b, rm);
}
FpResult f64_sqrt(uint64_t a, RoundingMode rm) {
    return square_root(a, rm);
}
FpResult f64_muladd(uint64_t a, uint64_t b, uint64_t c, bool negate_product, bool negate_addend, RoundingMode rm) {
    return muladd(a, b, c, negate_product, negate_addend, rm);
}
FpResult f64_min(uint64_t a, uint64_t b) {
    return min_max(a, b, false);
}
FpResult f64_max(uint64_t a, uint64_t b) {
    return min_max(a, b, true);
}
FpResult f64_eq(uint64_t a, uint64_t b) {
    return eq(a, b);
}
FpResult f64_lt(uint64_t a, uint64_t b) {
    return lt(a, b);
}
FpResult f64_le(uint64_t a, uint64_t b) {
    return le(a, b);
}
uint16_t f64_classify(uint64_t a) {
    return classify(a);
}
FpResult f64_to_i32(uint64_t a, RoundingMode rm) {
    return to_int<uint64_t, int32_t>(a, rm);
}
FpResult f64_to_u32(uint64_t a, RoundingMode rm) {
    return to_int<uint64_t, uint32_t>(a, rm);
}
FpResult f64_to_i64(uint64_t a, RoundingMode rm) {
    return to_int<uint64_t, int64_t>(a, rm);
}
FpResult f64_to_u64(uint64_t a, RoundingMode rm) {
    return to_int<uint64_t, uint64_t>(a, rm);
}
FpResult i32_to_f64(int32_t v, RoundingMode rm) {
    return from_signed<uint64_t>(v, rm);
}
FpResult u32_to_f64(uint32_t v, RoundingMode rm) {
    return from_int<uint64_t>(false, v, rm);
}
FpResult i64_to_f64(int64_t v, RoundingMode rm) {
    return from_signed<uint64_t>(v, rm);
}
FpResult u64_to_f64(uint64_t v, RoundingMode rm) {
    return from_int<uint64_t>(false, v, rm);
}

FpResult f32_to_f64(uint32_t a) {
    return convert<uint64_t>(a, RoundingMode::RNE);
}
FpResult f64_to_f32(uint64_t a, RoundingMode rm) {
    return convert<uint32_t>(a, rm);
}

}  // namespace trapeze::rv64::fpu
