// GuestClock: the machine's time base, 10 MHz ticks of the host's monotonic clock
// since the machine was created, less the time it spent paused. The CLINT's mtime and the
// harts' time CSR both read it.
//
// A paused machine's clock stands still (Firecracker's PATCH /vm Paused, a snapshot): a
// guest that is resumed sees no time pass, as a real machine whose clock was stopped would.
//
// Deterministic record and replay (replay/) drive it by hand instead: set_manual() makes it
// read what the machine's run loop sets, a function of the instructions retired (see
// machine::HostInputs), and pause/resume do nothing then.
//
// Thread: ticks() and ns_until() on any thread; pause()/resume()/set_manual() on one
// controlling thread.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>

namespace trapeze {

class GuestClock {
public:
    static constexpr uint64_t kHz = 10'000'000;

    GuestClock() : m_start(host_ns()) {}

    uint64_t ticks() const {
        if (m_manual) [[unlikely]]
            return m_manual_ticks.load(std::memory_order_relaxed);
        // Ordering: acquire pairs with resume()'s release, so a reader that sees the clock
        // running again also sees the start moved past the pause.
        const uint64_t frozen = m_frozen_ns.load(std::memory_order_acquire);
        const uint64_t now = frozen != 0 ? frozen : host_ns();
        return (now - m_start.load(std::memory_order_relaxed)) / (1'000'000'000 / kHz);
    }

    // From now on the clock reads `tick` until set again; before the machine runs. Ordering:
    // relaxed, since only the run loop's thread sets it and harts taking turns run there.
    void set_manual(uint64_t tick) {
        m_manual = true;
        m_manual_ticks.store(tick, std::memory_order_relaxed);
    }
    bool manual() const { return m_manual; }

    // Stops the clock where it is (nested calls are the caller's business: pause once).
    void pause() {
        if (!m_manual) m_frozen_ns.store(host_ns(), std::memory_order_release);
    }
    // Starts it again from where it stopped.
    void resume() {
        if (m_manual) return;
        const uint64_t frozen = m_frozen_ns.load(std::memory_order_relaxed);
        if (frozen == 0) return;
        m_start.fetch_add(host_ns() - frozen, std::memory_order_relaxed);
        m_frozen_ns.store(0, std::memory_order_release);
    }
    bool paused() const { return m_frozen_ns.load(std::memory_order_acquire) != 0; }

    // Sets the clock to read `tick` now (a restored snapshot's time), paused or not; the
    // machine's controlling thread, with nothing reading the clock yet. Ticks below 2^56
    // (228 years) keep the arithmetic below exact.
    void restore_ticks(uint64_t tick) {
        if (m_manual) {
            m_manual_ticks.store(tick, std::memory_order_relaxed);
            return;
        }
        const uint64_t now = host_ns();
        // Unsigned arithmetic wraps consistently: now - start == tick * 100 even if the guest's
        // time exceeds the host's uptime.
        m_start.store(now - tick * (1'000'000'000 / kHz), std::memory_order_relaxed);
        if (paused()) m_frozen_ns.store(now, std::memory_order_release);
    }
    static constexpr uint64_t kMaxRestoredTick = uint64_t{1} << 56;

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
    std::atomic<uint64_t> m_start;
    std::atomic<uint64_t> m_frozen_ns{0};  // host time the clock stopped at; 0 while running
    bool m_manual = false;                 // set_manual() was called: ticks() reads m_manual_ticks
    std::atomic<uint64_t> m_manual_ticks{0};
};

}  // namespace trapeze
