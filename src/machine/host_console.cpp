#include "machine/host_console.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "sandbox/sandbox.hpp"

namespace trapeze::machine {

namespace {
constexpr uint8_t kCtrlA = 0x01;
constexpr int kFullRetryMs = 10;  // how often a reader with a full queue looks again
constexpr int kOutputRetryMs = 50;  // how often output waiting for its terminal looks for a quit
}

HostConsole::~HostConsole() { stop(); }

void HostConsole::start() {
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &m_saved) == 0) {
        termios raw = m_saved;
        cfmakeraw(&raw);
        raw.c_oflag |= OPOST | ONLCR;  // keep host-side newline translation for our own messages
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) m_raw.store(true, std::memory_order_release);
    }
    if (pipe(m_wake_pipe) != 0) m_wake_pipe[0] = m_wake_pipe[1] = -1;
    m_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    m_thread = std::thread([this] { reader(); });
}

void HostConsole::stop() {
    flush();
    if (m_thread.joinable()) {
        m_stopping.store(true, std::memory_order_relaxed);
        if (m_wake_pipe[1] >= 0) {
            const char c = 0;
            [[maybe_unused]] auto n = ::write(m_wake_pipe[1], &c, 1);
        }
        m_thread.join();
    }
    for (int& fd : m_wake_pipe) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
    if (m_wake_fd >= 0) ::close(m_wake_fd);
    m_wake_fd = -1;
    restore_terminal();
}

void HostConsole::restore_terminal() {
    // Ordering: acq_rel, so the thread that wins the exchange sees m_saved as start() wrote
    // it (start's release store of m_raw).
    if (m_raw.exchange(false, std::memory_order_acq_rel)) tcsetattr(STDIN_FILENO, TCSANOW, &m_saved);
}

void HostConsole::request_quit() {
    m_quit.store(true, std::memory_order_release);
    signal_wake();
}

void HostConsole::signal_wake() {
    const uint64_t one = 1;
    if (m_wake_fd >= 0) [[maybe_unused]] auto n = ::write(m_wake_fd, &one, sizeof one);
}

void HostConsole::drain_wake() {
    uint64_t count = 0;
    if (m_wake_fd >= 0) [[maybe_unused]] auto n = ::read(m_wake_fd, &count, sizeof count);
}

void HostConsole::reader() {
    pthread_setname_np(pthread_self(), "trapeze-console");  // for top -H, gdb and the sandbox
    // Before it reads any input. A reader that cannot be confined stops the machine: the VM
    // must not run with an unconfined thread, and without this one it would get no input.
    if (auto confined = sandbox::confine_this_thread(sandbox::ThreadKind::ConsoleReader); !confined) {
        fmt::print(stderr, "trapeze: console input: {}\n", confined.error().message);
        request_quit();
        return;
    }
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {m_wake_pipe[0], POLLIN, 0}};
    const nfds_t nfds = m_wake_pipe[0] >= 0 ? 2 : 1;
    while (!m_stopping.load(std::memory_order_relaxed)) {
        // Input the guest has not taken stays in stdin (the pipe or the terminal's buffer)
        // rather than in our memory: with kMaxQueuedInput bytes queued, stdin is not read.
        const size_t room = kMaxQueuedInput - queued();
        fds[0].fd = room == 0 ? -1 : STDIN_FILENO;
        if (::poll(fds, nfds, room == 0 ? kFullRetryMs : 200) <= 0) continue;
        if (nfds == 2 && (fds[1].revents & POLLIN)) return;
        if ((fds[0].revents & (POLLIN | POLLHUP)) == 0) continue;
        uint8_t buf[256];
        const ssize_t n = ::read(STDIN_FILENO, buf, std::min(sizeof buf, room));
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return;  // EOF: the guest simply gets no more input
        for (ssize_t i = 0; i < n; ++i) push(buf[i]);
    }
}

void HostConsole::push(uint8_t byte) {
    const bool raw = m_raw.load(std::memory_order_relaxed);  // Ordering: only this thread's own reads
    if (raw && m_escape) {
        m_escape = false;
        if (byte == 'x' || byte == 'X') {
            request_quit();
            return;
        }
        if (byte == 's' || byte == 'S') {
            if (m_on_snapshot_key) m_on_snapshot_key();
            return;
        }
        if (byte != kCtrlA) return;  // unknown escape: dropped, as QEMU does
    } else if (raw && byte == kCtrlA) {
        m_escape = true;
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        m_queue.push_back(byte);
    }
    signal_wake();
}

size_t HostConsole::queued() {
    std::lock_guard lock(m_mutex);
    return m_queue.size();
}

bool HostConsole::pop(uint8_t& byte) {
    std::lock_guard lock(m_mutex);
    if (m_queue.empty()) return false;
    byte = m_queue.front();
    m_queue.pop_front();
    return true;
}


void HostConsole::write(std::span<const uint8_t> bytes) {
    if (m_output_tap) m_output_tap(bytes);
    if (bytes.size() <= m_out.size() - m_out_len) {
        std::memcpy(m_out.data() + m_out_len, bytes.data(), bytes.size());
        m_out_len += bytes.size();
        return;
    }
    flush();
    if (bytes.size() >= m_out.size()) {
        write_all(bytes);
        return;
    }
    std::memcpy(m_out.data(), bytes.data(), bytes.size());
    m_out_len = bytes.size();
}

void HostConsole::flush() {
    write_all(std::span(m_out).first(m_out_len));
    m_out_len = 0;
}

// A terminal that takes no output (a pipe whose reader stopped reading, a stalled pty) must
// not hold the machine's thread in write(2): it could then not stop on a signal or Ctrl-A x
// (QEMU's serial waits for its chardev without blocking its main loop). So each write waits in
// poll() first, giving up once quit is requested, and writes at most PIPE_BUF bytes, which a
// pipe that polls writable takes without blocking. An O_NONBLOCK terminal's EAGAIN waits too,
// instead of losing the output.
void HostConsole::write_all(std::span<const uint8_t> bytes) {
    size_t done = 0;
    while (done < bytes.size() && !m_output_failed) {
        if (!wait_writable()) return;  // quitting, and the terminal takes nothing: dropped
        const size_t chunk = std::min<size_t>(bytes.size() - done, PIPE_BUF);
        const ssize_t n = ::write(m_out_fd, bytes.data() + done, chunk);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) {
            output_failed(n < 0 ? errno : EIO);
            return;
        }
        done += static_cast<size_t>(n);
    }
}

bool HostConsole::wait_writable() {
    pollfd out{m_out_fd, POLLOUT, 0};
    for (;;) {
        const int n = ::poll(&out, 1, kOutputRetryMs);
        if (n > 0 || (n < 0 && errno != EINTR)) return true;  // or an error the write will report
        if (quit_requested()) return false;
    }
}

// Closed, EPIPE, EIO after a hang-up: the output is lost, never the machine, and one line says so.
void HostConsole::output_failed(int error) {
    m_output_failed = true;
    fmt::print(stderr, "trapeze: console output: {}: the guest's output is dropped from now on\n", std::strerror(error));
}

}  // namespace trapeze::machine
