#include "snapshot/crc64.hpp"

#include <array>

namespace trapeze::snapshot {

namespace {

constexpr uint64_t kPolyReflected = 0xc96c5795d7870f42ull;  // 0x42f0e1eba9ea3693 bit-reversed

constexpr std::array<uint64_t, 256> make_table() {
    std::array<uint64_t, 256> t{};
    for (uint64_t i = 0; i < 256; ++i) {
        uint64_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ kPolyReflected : c >> 1;
        t[i] = c;
    }
    return t;
}

constexpr auto kTable = make_table();

}  // namespace

uint64_t crc64(std::span<const uint8_t> data, uint64_t crc) {
    crc = ~crc;
    for (const uint8_t b : data) crc = kTable[(crc ^ b) & 0xff] ^ (crc >> 8);
    return ~crc;
}

}  // namespace trapeze::snapshot
