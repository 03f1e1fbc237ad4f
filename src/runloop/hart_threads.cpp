#include "runloop/hart_threads.hpp"

#include <cassert>
#include <chrono>
#include <string>

#include <fmt/format.h>

#include "base/started_thread.hpp"
#include "sandbox/sandbox.hpp"

namespace trapeze::runloop {

uint64_t HartThreads::Waker::ticket() {
    std::lock_guard lock(mutex);
    return seq;
}

void HartThreads::Waker::wake() {
    {
        std::lock_guard lock(mutex);
        ++seq;
    }
    cv.notify_one();
}

void HartThreads::Waker::sleep(uint64_t t, uint64_t ns) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, std::chrono::nanoseconds(ns), [&] { return seq != t; });
}

HartThreads::HartThreads(unsigned harts, HartLoop& loop, std::unique_ptr<CpuQuota> quota, HartAffinity affinity)
    : m_loop(loop), m_quota(std::move(quota)), m_affinity(std::move(affinity)), m_pause(harts) {
    assert(m_affinity.empty() || m_affinity.size() == harts);
    for (unsigned i = 0; i < harts; ++i) m_wakers.push_back(std::make_unique<Waker>());
}

HartThreads::~HartThreads() { stop(); }

Result<void> HartThreads::start() {
    if (m_quota) m_quota->restart();  // what the machine used before its harts ran is not the guest's
    for (unsigned i = 0; i < m_wakers.size(); ++i) {
        // Each thread installs its seccomp filter before it runs guest code, and the next one
        // starts once it has (start_thread): a hart that cannot be confined ends the start like
        // one that cannot be had.
        auto setup = [this, i] {
            // Pinned before the filter, which allows no sched_setaffinity.
            Result<void> r = m_affinity.empty() ? ok() : pin_this_thread(m_affinity[i]);
            if (r) r = sandbox::confine_this_thread(sandbox::ThreadKind::Hart);
            return r;
        };
        // The name is for top -H, perf, gdb and the sandbox.
        auto thread = start_thread(fmt::format("trapeze-hart{}", i), setup, [this, i] { thread_main(i); });
        if (!thread) {
            for (unsigned j = i; j < m_wakers.size(); ++j) m_pause.leave();  // never started, or ended
            stop();
            return make_error("hart {}: {}", i, thread.error().message);
        }
        m_threads.push_back(std::move(*thread));
    }
    return ok();
}

void HartThreads::request_stop() {
    m_stop.store(true, std::memory_order_release);
    m_pause.abandon();
    wake_all();
}

void HartThreads::stop() {
    request_stop();
    for (std::thread& t : m_threads) {
        if (t.joinable()) t.join();
    }
    m_threads.clear();
}

void HartThreads::wake(unsigned hart) { m_wakers[hart]->wake(); }

void HartThreads::wake_all() {
    for (auto& w : m_wakers) w->wake();
}

void HartThreads::pause() {
    m_pause.pause([this] { wake_all(); });
}

void HartThreads::resume() { m_pause.resume(); }

void HartThreads::thread_main(unsigned hart) {
    while (!stopping()) {
        if (m_pause.requested()) {
            m_pause.park();
            continue;
        }
        if (throttle(hart)) continue;
        m_loop.between_slices(hart);
        if (!m_loop.run_slice(hart)) sleep_in_wfi(hart);
    }
    m_pause.leave();
}

void HartThreads::sleep_in_wfi(unsigned hart) {
    Waker& w = *m_wakers[hart];
    const uint64_t ticket = w.ticket();
    m_loop.between_slices(hart);  // a timer that is due raises its pin now
    if (stopping() || m_pause.requested() || m_loop.wants_to_run(hart)) return;
    w.sleep(ticket, m_loop.ns_until_timer(hart));
}

// Over the CPU quota: sleeps until the next period, or until woken (stop, pause, a rising
// interrupt pin: the loop then looks at stop and pause and charges again). True if it slept.
bool HartThreads::throttle(unsigned hart) {
    if (!m_quota) return false;
    const uint64_t ns = m_quota->charge();
    if (ns == 0) return false;
    Waker& w = *m_wakers[hart];
    const uint64_t ticket = w.ticket();
    if (stopping() || m_pause.requested()) return true;
    w.sleep(ticket, ns);
    return true;
}

}  // namespace trapeze::runloop
