// HostConsole: the terminal side of the guest console.
//
// A reader thread takes bytes from stdin (in raw mode when it is a terminal) and queues
// them for the hart thread, which feeds them to the UART when it can take them. Ctrl-A x
// asks the machine to quit, as in QEMU; Ctrl-A s asks for a snapshot (set_snapshot_key);
// Ctrl-A Ctrl-A sends one Ctrl-A.
//
// Output is buffered: a booting kernel prints some 20 KB one UART byte at a time, and a
// write(2) per byte cost ~3% of a JIT boot. The machine flushes after every slice or I/O tick
// (RiscvMachine::poll_io), so the terminal lags the guest by one slice or tick at most.
//
// Memory bound: kMaxQueuedInput bytes of input and a 4 KiB output buffer, whatever the guest
// does (input it does not take waits in stdin; output longer than the buffer is written
// straight from the span it came in).
//
// Thread: start/stop on the machine's thread; pop/write/flush by one thread at a time (the
// machine's device lock serialises them); the reader thread only pushes to the queue under
// m_mutex.
#pragma once

#include <termios.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>

namespace trapeze::machine {

class HostConsole {
public:
    // Input read ahead of the guest: at most this many bytes wait in memory.
    static constexpr size_t kMaxQueuedInput = 64 * 1024;

    // out_fd: where guest output goes (stdout; a test passes a pipe). Not owned.
    explicit HostConsole(int out_fd = STDOUT_FILENO) : m_out_fd(out_fd) {}
    HostConsole(const HostConsole&) = delete;
    HostConsole& operator=(const HostConsole&) = delete;
    ~HostConsole();

    void start();
    void stop();
    // Sends guest output to `fd` instead (Firecracker's serial_out_path); before start().
    // Not owned.
    void set_output(int fd) { m_out_fd = fd; }
    // What Ctrl-A s does (nothing if unset); runs on the reader thread, so it must only hand
    // the request on (write an eventfd). Before start().
    void set_snapshot_key(std::function<void()> on_key) { m_on_snapshot_key = std::move(on_key); }

    bool pop(uint8_t& byte);
    // Readable while input is queued or quit was requested; the idle machine polls it
    // together with the device backends' fds. drain_wake() re-arms it.
    int wake_fd() const { return m_wake_fd; }
    void drain_wake();
    // Ordering: acquire pairs with the reader thread's release store, so a quit request
    // is seen together with every byte queued before it.
    bool quit_requested() const { return m_quit.load(std::memory_order_acquire); }
    // Asks the machine to quit, as Ctrl-A x does (any thread: the shutdown signals' watcher).
    void request_quit();
    // Puts the terminal back as start() found it; any thread, once (a forced exit on a
    // second signal calls it while the machine's thread may be stuck writing output).
    void restore_terminal();

    // Also told of every byte of guest output as it is queued (record and replay hash it:
    // machine::HostInputs::output). Before the machine runs.
    void set_output_tap(std::function<void(std::span<const uint8_t>)> tap) { m_output_tap = std::move(tap); }

    // Queues one byte of guest output; a full buffer is written out at once.
    void write(uint8_t byte) {
        if (m_output_tap) [[unlikely]]
            m_output_tap(std::span(&byte, 1));
        if (m_out_len == m_out.size()) flush();
        m_out[m_out_len++] = byte;
    }
    // Queues bytes of guest output; a span longer than the buffer is written out directly
    // (after what was queued before it), so output costs no host memory beyond the buffer.
    void write(std::span<const uint8_t> bytes);
    // Writes out what is queued, waiting while the terminal takes no more until quit is
    // requested (then what it does not take is dropped). A terminal that fails (closed,
    // EPIPE) loses the output, never the machine: one line on stderr says so.
    void flush();

private:
    void reader();
    void push(uint8_t byte);
    size_t queued();

    void signal_wake();
    void write_all(std::span<const uint8_t> bytes);
    // Waits until m_out_fd takes output (or fails); false if quit was requested first.
    bool wait_writable();
    void output_failed(int error);

    int m_out_fd;
    std::array<uint8_t, 4096> m_out{};
    size_t m_out_len = 0;
    bool m_output_failed = false;  // a write failed: output is dropped from then on
    std::mutex m_mutex;
    int m_wake_fd = -1;  // eventfd
    std::deque<uint8_t> m_queue;
    std::atomic<bool> m_quit{false};
    std::atomic<bool> m_stopping{false};
    bool m_escape = false;  // previous byte was Ctrl-A
    std::function<void()> m_on_snapshot_key;
    std::function<void(std::span<const uint8_t>)> m_output_tap;
    std::atomic<bool> m_raw{false};  // m_saved holds the modes to restore
    termios m_saved{};
    int m_wake_pipe[2] = {-1, -1};
    std::thread m_thread;
};

}  // namespace trapeze::machine
