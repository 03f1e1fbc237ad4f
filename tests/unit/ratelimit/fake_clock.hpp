// FakeClock: a monotonic nanosecond clock that moves only when a test advances it, so rate
// limiter tests say how much time passed instead of waiting for it.
#pragma once

#include <cstdint>

#include "ratelimit/rate_limiter.hpp"

namespace trapeze::ratelimit::test {

inline constexpr uint64_t kMs = 1'000'000;

struct FakeClock {
    uint64_t now = 1'000 * kMs;  // not 0: a limiter must not assume time starts there

    Clock clock() {
        return [this] { return now; };
    }
    void advance(uint64_t ns) { now += ns; }
};

}  // namespace trapeze::ratelimit::test
