// GuestClock: the machine's time base, 10 MHz ticks of the host's monotonic clock
// since the machine was created. The CLINT's mtime and the harts' time CSR both read it.
// Thread: any (read-only after construction).
#pragma once

#include <time.h>

#include <cstdint>

namespace trapeze {

class GuestClock {
public:
    static constexpr uint64_t kHz = 10'000'000;

    GuestClock() : m_start(host_ns()) {}

    uint64_t ticks() const { return (host_ns() - m_start) / (1'000'000'000 / kHz); }

    // Host nanoseconds until the clock reaches `tick` (0 if already reached).
    uint64_t ns_until(uint64_t tick) const {
        const uint64_t now = ticks();
        if (tick <= now) return 0;
        const uint64_t d = tick - now;
        return d > (UINT64_MAX / 100) ? UINT64_MAX : d * (1'000'000'000 / kHz);
    }

    static uint64_t host_ns() {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
    }

private:
    uint64_t m_start;
};

}  // namespace trapeze
