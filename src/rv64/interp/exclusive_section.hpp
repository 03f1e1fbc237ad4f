// ExclusiveSection: lets one thread do something while every other thread that runs guest code
// from the same code cache waits at a point where it holds nothing of the cache — the top of
// its dispatcher loop (QEMU's start_exclusive/cpu_exec_step_atomic). The code cache's flush
// needs it: it frees every decoded block and every translation at once, and another hart may
// be running one, or about to.
//
// An engine's run() brackets itself with enter()/leave() and calls checkpoint() at the top of
// every turn of its loop, where it holds no block: a thread outside run() (a hart sleeping in
// WFI, paused, between slices) never waits for anything. With harts taking turns on one thread
// there is one thread, and run_exclusive() runs at once.
//
// Thread: any; every member but checkpoint()'s fast path takes the mutex.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace trapeze::rv64::interp {

class ExclusiveSection {
public:
    // The calling thread starts running blocks; it first waits out an exclusive section.
    void enter() {
        std::unique_lock lock(m_mu);
        m_cv.wait(lock, [this] { return !m_requested.load(std::memory_order_relaxed); });
        ++m_active;
    }
    void leave() {
        std::lock_guard lock(m_mu);
        --m_active;
        m_cv.notify_all();
    }

    // Called by an entered thread holding no block. True if it waited for another thread's
    // exclusive section: whatever it remembered of blocks and translations is gone.
    // Ordering: the relaxed load only decides whether to take the mutex, which orders the rest.
    bool checkpoint() {
        if (!m_requested.load(std::memory_order_relaxed)) [[likely]]
            return false;
        std::unique_lock lock(m_mu);
        return park(lock);
    }

    // Runs f() once every other entered thread waits at a checkpoint. The caller is entered.
    // If another thread's section is under way, the caller waits for it instead and returns
    // false without running f (that section may have done what f was for: the caller looks
    // again).
    template <typename F>
    bool run_exclusive(F&& f) {
        std::unique_lock lock(m_mu);
        if (m_requested.load(std::memory_order_relaxed)) {
            park(lock);
            return false;
        }
        m_requested.store(true, std::memory_order_relaxed);
        m_cv.wait(lock, [this] { return m_parked + 1 == m_active; });
        lock.unlock();
        f();
        lock.lock();
        m_requested.store(false, std::memory_order_relaxed);
        ++m_sections;
        // Every parked thread leaves now: none of them counts as parked for the next section,
        // whose request may come before they have woken up and run on (it must wait for them
        // to reach a checkpoint again).
        m_parked = 0;
        m_cv.notify_all();
        return true;
    }

private:
    bool park(std::unique_lock<std::mutex>& lock) {
        if (!m_requested.load(std::memory_order_relaxed)) return false;
        const uint64_t section = m_sections;
        ++m_parked;
        m_cv.notify_all();
        m_cv.wait(lock, [&] { return m_sections != section; });  // which reset m_parked
        return true;
    }

    std::mutex m_mu;
    std::condition_variable m_cv;
    std::atomic<bool> m_requested{false};  // written under m_mu
    unsigned m_active = 0;                 // threads between enter() and leave()
    unsigned m_parked = 0;                 // of which waiting in park() for the section under way
    uint64_t m_sections = 0;               // exclusive sections completed
};

}  // namespace trapeze::rv64::interp
