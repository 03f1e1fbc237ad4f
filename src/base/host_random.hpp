// The host's entropy pool (getrandom(2)), for whatever the guest gets random bytes from: the
// virtio-rng device's requests and the device tree's /chosen/rng-seed.
//
// Thread: any.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.hpp"

namespace trapeze {

// Fills `out` from the host's entropy pool; returns the bytes filled, fewer than asked only
// when getrandom fails (then errno says why).
size_t host_random(std::span<uint8_t> out);
// n bytes from the host's entropy pool, or why there are none.
Result<std::vector<uint8_t>> host_random_bytes(size_t n);

}  // namespace trapeze
