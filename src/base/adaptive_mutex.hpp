// AdaptiveMutex: a mutex that spins a while before it sleeps, for locks held a few hundred
// nanoseconds to a few microseconds by threads that are otherwise busy (the harts' shared code
// cache, the JIT's translation queue).
//
// A std::mutex that is taken while held goes to the kernel twice (FUTEX_WAIT, then the
// holder's FUTEX_WAKE), and on the nested hosts this project runs on each of those system
// calls costs tens of microseconds. glibc's adaptive kind (PTHREAD_MUTEX_ADAPTIVE_NP) retries
// at most 100 times (a few microseconds) and, on average, far fewer: on a 2-hart boot of
// Debian's kernel under the JIT the hart threads still made about 5.4K futex calls each with
// it, most of them on the code cache's mutex, whose holders build blocks and region lists for
// a few microseconds at a time. This one retries for about kSpins pauses (some tens of
// microseconds) before it waits in the kernel, so a preempted holder costs a bounded spin and
// then no more than a std::mutex.
//
// The lock word (Drepper, "Futexes Are Tricky", mutex3): 0 free, 1 held, 2 held and a thread
// may be waiting in the kernel, so an unlock makes a system call only then.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace trapeze {

class AdaptiveMutex {
public:
    AdaptiveMutex() = default;
    AdaptiveMutex(const AdaptiveMutex&) = delete;
    AdaptiveMutex& operator=(const AdaptiveMutex&) = delete;

    // Lockable, for std::lock_guard, std::unique_lock and std::condition_variable_any.
    // Ordering: acquire on taking the word, release on freeing it.
    void lock() {
        if (try_lock() || spin_to_lock()) return;
        // Slow path: mark the word contended and sleep until an unlock wakes us.
        while (m_word.exchange(2, std::memory_order_acquire) != 0) futex(FUTEX_WAIT_PRIVATE, 2);
    }
    bool try_lock() {
        uint32_t expected = 0;
        return m_word.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed);
    }
    // Whether the next unlock makes a system call (a waiter may sleep in the kernel). For tests.
    bool unlock_wakes() const { return m_word.load(std::memory_order_relaxed) == 2; }
    void unlock() {
        if (m_word.exchange(0, std::memory_order_release) == 2) futex(FUTEX_WAKE_PRIVATE, 1);
    }

private:
    // About 20-60 microseconds of pause instructions, depending on the host CPU.
    static constexpr unsigned kSpins = 1000;

    // Retries for about kSpins pauses while the word is held; whether it got the lock.
    bool spin_to_lock() {
        for (unsigned i = 0; i < kSpins; ++i) {
            __builtin_ia32_pause();
            if (m_word.load(std::memory_order_relaxed) == 0 && try_lock()) return true;
        }
        return false;
    }
    void futex(int op, uint32_t value) {
        static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
        ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&m_word), op, value, nullptr, nullptr, 0);
    }

    std::atomic<uint32_t> m_word{0};
};

}  // namespace trapeze
