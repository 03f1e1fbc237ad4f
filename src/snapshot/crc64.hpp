// CRC-64/XZ (the ECMA-182 polynomial, reflected, initial and final value all ones: what xz
// and Go's crc64.ECMA compute), for the snapshot state file's checksum. Check value: the
// CRC of "123456789" is 0x995dc9bbdf1939fa.
#pragma once

#include <cstdint>
#include <span>

namespace trapeze::snapshot {

// Continues a CRC: crc64(b, crc64(a)) == crc64(a ++ b). Start with the default.
uint64_t crc64(std::span<const uint8_t> data, uint64_t crc = 0);

}  // namespace trapeze::snapshot
