#include "runloop/pause_rendezvous.hpp"

#include <cassert>

namespace trapeze::runloop {

void PauseRendezvous::pause(const std::function<void()>& kick) {
    {
        std::lock_guard lock(m_mutex);
        m_requested.fetch_add(1, std::memory_order_release);
    }
    kick();
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [this] { return all_parked(); });
}

void PauseRendezvous::pause_before_start() {
    std::lock_guard lock(m_mutex);
    m_requested.fetch_add(1, std::memory_order_release);
}

void PauseRendezvous::resume() {
    std::lock_guard lock(m_mutex);
    assert(m_requested.load() > 0);
    if (m_requested.fetch_sub(1, std::memory_order_release) == 1) m_cv.notify_all();
}

bool PauseRendezvous::paused() const {
    std::lock_guard lock(m_mutex);
    return m_requested.load() != 0 && all_parked();
}

void PauseRendezvous::park() {
    std::unique_lock lock(m_mutex);
    if (m_requested.load() == 0) return;
    ++m_parked;
    if (all_parked()) m_cv.notify_all();  // the controller waits for the last one
    m_cv.wait(lock, [this] { return m_requested.load() == 0 || m_abandoned; });
    --m_parked;
}

void PauseRendezvous::abandon() {
    std::lock_guard lock(m_mutex);
    m_abandoned = true;
    m_cv.notify_all();
}

void PauseRendezvous::leave() {
    std::lock_guard lock(m_mutex);
    ++m_left;
    if (all_parked()) m_cv.notify_all();
}

}  // namespace trapeze::runloop
