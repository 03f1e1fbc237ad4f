// Bit-field helpers used by decoders and register files.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace trapeze {

// Bits [hi:lo] of v, right-aligned.
constexpr uint64_t bits(uint64_t v, unsigned hi, unsigned lo) {
    return (v >> lo) & ((hi - lo + 1) >= 64 ? ~0ull : ((1ull << (hi - lo + 1)) - 1));
}

constexpr uint64_t bit(uint64_t v, unsigned n) { return (v >> n) & 1; }

// Sign-extends the low `width` bits of v.
constexpr int64_t sext(uint64_t v, unsigned width) {
    const unsigned shift = 64 - width;
    return static_cast<int64_t>(v << shift) >> shift;
}

constexpr uint64_t mask_low(unsigned width) { return width >= 64 ? ~0ull : (1ull << width) - 1; }

// Unaligned little-endian access to host memory (the host is x86-64).
template <typename T>
inline T load_le(const void* p) {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

template <typename T>
inline void store_le(void* p, T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    std::memcpy(p, &v, sizeof(T));
}

}  // namespace trapeze
