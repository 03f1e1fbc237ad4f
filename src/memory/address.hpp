// Strong address types: a guest-physical address cannot be passed where a
// guest-virtual one is expected, nor mixed with a host pointer.
#pragma once

#include <compare>
#include <cstdint>

namespace trapeze {

struct Gpa {
    uint64_t value = 0;
    constexpr Gpa() = default;
    constexpr explicit Gpa(uint64_t v) : value(v) {}
    constexpr Gpa operator+(uint64_t off) const { return Gpa(value + off); }
    constexpr auto operator<=>(const Gpa&) const = default;
};

struct Gva {
    uint64_t value = 0;
    constexpr Gva() = default;
    constexpr explicit Gva(uint64_t v) : value(v) {}
    constexpr Gva operator+(uint64_t off) const { return Gva(value + off); }
    constexpr auto operator<=>(const Gva&) const = default;
};

}  // namespace trapeze
