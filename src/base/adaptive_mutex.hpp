// AdaptiveMutex: a mutex that spins a little before it sleeps, for locks held a few hundred
// nanoseconds by threads that are otherwise busy (the harts' shared code cache).
//
// A std::mutex that is taken while held goes to the kernel twice (FUTEX_WAIT, then the
// holder's FUTEX_WAKE). Measured on a 2-hart boot of Debian's kernel, JIT engine: about 64K
// futex calls from the hart threads with a std::mutex, almost all for critical sections far
// shorter than a system call; 18K with this one. glibc's adaptive kind
// (PTHREAD_MUTEX_ADAPTIVE_NP) first retries in user space, bounded
// (the tunable glibc.pthread.mutex_spin_count), and only then waits in the kernel, so a
// preempted holder still costs no more than a std::mutex.
#pragma once

#include <pthread.h>

#include <cassert>

namespace trapeze {

class AdaptiveMutex {
public:
    AdaptiveMutex() {
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
        const int r = pthread_mutex_init(&m_mu, &attr);
        assert(r == 0);  // cannot fail for a non-robust, process-private mutex
        (void)r;
        pthread_mutexattr_destroy(&attr);
    }
    ~AdaptiveMutex() { pthread_mutex_destroy(&m_mu); }
    AdaptiveMutex(const AdaptiveMutex&) = delete;
    AdaptiveMutex& operator=(const AdaptiveMutex&) = delete;

    // Lockable, for std::lock_guard and std::unique_lock.
    void lock() { pthread_mutex_lock(&m_mu); }
    bool try_lock() { return pthread_mutex_trylock(&m_mu) == 0; }
    void unlock() { pthread_mutex_unlock(&m_mu); }

private:
    pthread_mutex_t m_mu;
};

}  // namespace trapeze
