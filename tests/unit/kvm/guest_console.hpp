// What the x86 test guest writes to COM1 (from its vCPU threads), and waiting for a text in it:
// X86Config::console_out for the unit tests that run tests/x86guest.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace trapeze {

class GuestConsole {
public:
    std::function<void(uint8_t)> sink() {
        return [this](uint8_t b) {
            std::lock_guard lock(m_lock);
            m_text.push_back(static_cast<char>(b));
            m_cv.notify_all();
        };
    }
    bool wait_for(const std::string& text) {
        std::unique_lock lock(m_lock);
        return m_cv.wait_for(lock, std::chrono::seconds(60), [&] { return m_text.find(text) != std::string::npos; });
    }
    std::string text() {
        std::lock_guard lock(m_lock);
        return m_text;
    }

private:
    std::mutex m_lock;
    std::condition_variable m_cv;
    std::string m_text;
};

}  // namespace trapeze
