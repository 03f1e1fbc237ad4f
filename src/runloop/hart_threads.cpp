#include "runloop/hart_threads.hpp"

#include <pthread.h>

#include <chrono>
#include <string>
#include <system_error>

#include <fmt/format.h>

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

HartThreads::HartThreads(unsigned harts, HartLoop& loop) : m_loop(loop), m_pause(harts) {
    for (unsigned i = 0; i < harts; ++i) m_wakers.push_back(std::make_unique<Waker>());
}

HartThreads::~HartThreads() { stop(); }

Result<void> HartThreads::start() {
    for (unsigned i = 0; i < m_wakers.size(); ++i) {
        try {
            m_threads.emplace_back([this, i] { thread_main(i); });
        } catch (const std::system_error& e) {
            for (unsigned j = i; j < m_wakers.size(); ++j) m_pause.leave();  // never started
            stop();
            return make_error("cannot start the thread of hart {}: {}", i, e.what());
        }
    }
    return ok();
}

void HartThreads::request_stop() {
    m_stop.store(true, std::memory_order_release);
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
    const std::string name = fmt::format("trapeze-hart{}", hart);  // for top -H, perf and gdb
    pthread_setname_np(pthread_self(), name.c_str());
    while (!stopping()) {
        if (m_pause.requested()) {
            m_pause.park();
            continue;
        }
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

}  // namespace trapeze::runloop
