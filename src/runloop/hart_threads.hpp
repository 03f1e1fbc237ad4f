// HartThreads: one host thread per hart, so a guest with N harts gets up to N host cores.
// The machine supplies what a hart does (HartLoop); this room owns the threads, their sleep
// in WFI and their wake-ups, stopping, and the pause rendezvous.
//
// A hart thread runs its hart in slices of its engine. Between slices it parks if a pause is
// requested, and lets the machine do its per-hart housekeeping (timers, code posts). A hart
// that waits in WFI sleeps until wake() (an interrupt pin rose, its timer was reprogrammed,
// the machine stops or pauses) or until its own next timer deadline. With a CpuQuota, a hart
// charges it before each slice and, once the period's budget is spent, sleeps the same way
// until the next period (or wake(): it then charges again), so stop and pause stay prompt.
// With a HartAffinity, each thread pins itself to its hart's host CPUs before it installs its
// seccomp filter and runs guest code.
//
// Thread: construct, start(), stop() and the destructor on the machine's thread; wake(),
// request_stop(), pause() and resume() on any thread (pause/resume not on a hart thread).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "runloop/cpu_quota.hpp"
#include "runloop/hart_affinity.hpp"
#include "runloop/pause_rendezvous.hpp"

namespace trapeze::runloop {

// What a hart thread does, supplied by the machine. Called on hart `hart`'s thread only.
class HartLoop {
public:
    virtual ~HartLoop() = default;
    // Runs the hart for one slice; false if it stopped to wait in WFI.
    virtual bool run_slice(unsigned hart) = 0;
    // Between slices and before sleeping: bring the hart's timers and whatever other harts
    // posted to it up to date.
    virtual void between_slices(unsigned hart) = 0;
    // A hart in WFI has an interrupt to wake for (checked after between_slices, before sleeping).
    virtual bool wants_to_run(unsigned hart) = 0;
    // Host nanoseconds until the hart's next timer deadline (longest sleep in WFI).
    virtual uint64_t ns_until_timer(unsigned hart) = 0;
};

class HartThreads {
public:
    // `quota`: the VM's CPU share, shared by every hart thread (nullptr: no limit).
    // `affinity`: the host CPUs of each hart's thread (empty: no pinning; else one list per hart).
    HartThreads(unsigned harts, HartLoop& loop, std::unique_ptr<CpuQuota> quota = nullptr,
                HartAffinity affinity = {});
    HartThreads(const HartThreads&) = delete;
    HartThreads& operator=(const HartThreads&) = delete;
    ~HartThreads();  // stop()

    Result<void> start();
    // Every hart thread leaves at its next instruction boundary (its slice end, or at once
    // if it sleeps); returns once they have all ended.
    void stop();
    // Like stop() but does not wait: safe on a hart thread (a device ending the machine).
    void request_stop();
    bool stopping() const { return m_stop.load(std::memory_order_acquire); }

    // Makes hart `hart` look again if it sleeps in WFI.
    void wake(unsigned hart);
    void wake_all();

    // Stops every hart between two slices (see PauseRendezvous); resume() lets them go.
    void pause();
    void pause_before_start() { m_pause.pause_before_start(); }  // see PauseRendezvous
    void resume();
    bool paused() const { return m_pause.paused(); }
    unsigned size() const { return static_cast<unsigned>(m_wakers.size()); }

private:
    // A hart's sleep in WFI: the ticket is taken before the last look at the hart's pins, so
    // a wake() after that look ends the sleep even if it comes before the sleep starts.
    struct Waker {
        std::mutex mutex;
        std::condition_variable cv;
        uint64_t seq = 0;
        uint64_t ticket();
        void wake();
        void sleep(uint64_t ticket, uint64_t ns);
    };

    void thread_main(unsigned hart);
    void sleep_in_wfi(unsigned hart);
    bool throttle(unsigned hart);

    HartLoop& m_loop;
    std::unique_ptr<CpuQuota> m_quota;  // nullptr: no limit
    HartAffinity m_affinity;            // empty: no pinning
    std::vector<std::unique_ptr<Waker>> m_wakers;
    PauseRendezvous m_pause;
    std::atomic<bool> m_stop{false};
    std::vector<std::thread> m_threads;
};

}  // namespace trapeze::runloop
