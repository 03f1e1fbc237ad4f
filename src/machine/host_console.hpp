// HostConsole: the terminal side of the guest console.
//
// A reader thread takes bytes from stdin (in raw mode when it is a terminal) and queues
// them for the hart thread, which feeds them to the UART when it can take them. Ctrl-A x
// asks the machine to quit, as in QEMU; Ctrl-A Ctrl-A sends one Ctrl-A.
//
// Thread: start/stop/pop/wait_for_input on the hart thread; the reader thread only
// pushes to the queue under m_mutex.
#pragma once

#include <termios.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

namespace trapeze::machine {

class HostConsole {
public:
    HostConsole() = default;
    HostConsole(const HostConsole&) = delete;
    HostConsole& operator=(const HostConsole&) = delete;
    ~HostConsole();

    void start();
    void stop();

    bool pop(uint8_t& byte);
    // Readable while input is queued or quit was requested; the idle machine polls it
    // together with the device backends' fds. drain_wake() re-arms it.
    int wake_fd() const { return m_wake_fd; }
    void drain_wake();
    // Ordering: acquire pairs with the reader thread's release store, so a quit request
    // is seen together with every byte queued before it.
    bool quit_requested() const { return m_quit.load(std::memory_order_acquire); }

    static void write(uint8_t byte);

private:
    void reader();
    void push(uint8_t byte);

    void signal_wake();

    std::mutex m_mutex;
    int m_wake_fd = -1;  // eventfd
    std::deque<uint8_t> m_queue;
    std::atomic<bool> m_quit{false};
    std::atomic<bool> m_stopping{false};
    bool m_escape = false;  // previous byte was Ctrl-A
    bool m_raw = false;
    termios m_saved{};
    int m_wake_pipe[2] = {-1, -1};
    std::thread m_thread;
};

}  // namespace trapeze::machine
