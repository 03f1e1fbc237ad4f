// PauseRendezvous: stops every hart thread at an instruction boundary and lets them go again,
// as QEMU's pause_all_vcpus()/resume_all_vcpus() do. Snapshots, the debugger and the control
// API pause the machine through it; a paused hart is between two slices of its engine, so its
// HartState is complete (no translated code, no decoded block is running) and nothing of it
// changes until resume().
//
// Pauses nest: harts run again once every pause() has had its resume(), so two controllers
// (say, the API and gdb) do not undo each other.
//
// Thread: pause()/resume() on any thread that is not a hart thread; park()/leave() on hart
// threads; requested() anywhere.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace trapeze::runloop {

class PauseRendezvous {
public:
    explicit PauseRendezvous(unsigned harts) : m_harts(harts) {}
    PauseRendezvous(const PauseRendezvous&) = delete;
    PauseRendezvous& operator=(const PauseRendezvous&) = delete;

    // Asks every hart to park, calls kick() (which must make sleeping harts look again), and
    // returns once every hart is parked or has left.
    void pause(const std::function<void()>& kick);
    // A pause asked for before any hart runs (their threads not started): it does not wait,
    // and each hart parks before its first slice. Undone by resume() like pause().
    void pause_before_start();
    void resume();
    bool paused() const;

    // Cheap check for hart threads between slices.
    bool requested() const { return m_requested.load(std::memory_order_acquire) != 0; }
    // A hart thread parks here while a pause is requested.
    void park();
    // A hart thread that ends counts as parked from then on.
    void leave();
    // The machine is stopping: parked harts return from park() (to leave), and pause()
    // no longer waits for anyone. A VM stopped while paused must not hang its threads.
    void abandon();

private:
    bool all_parked() const { return m_abandoned || m_parked + m_left == m_harts; }

    const unsigned m_harts;
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    unsigned m_parked = 0;  // under m_mutex
    unsigned m_left = 0;    // under m_mutex
    bool m_abandoned = false;  // under m_mutex
    std::atomic<unsigned> m_requested{0};  // written under m_mutex
};

}  // namespace trapeze::runloop
