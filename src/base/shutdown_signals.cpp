#include "base/shutdown_signals.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "base/started_thread.hpp"

namespace trapeze {

namespace {

constexpr int kSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};

sigset_t shutdown_set() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kSignals) sigaddset(&set, s);
    return set;
}

}  // namespace

Result<std::unique_ptr<ShutdownSignals>> ShutdownSignals::start(Handler on_stop, Handler on_force,
                                                                ThreadStart on_thread_start) {
    const sigset_t set = shutdown_set();
    if (const int e = pthread_sigmask(SIG_BLOCK, &set, nullptr); e != 0)
        return make_error("block shutdown signals: {}", std::strerror(e));
    UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC));
    if (!sfd.valid()) return make_error("signalfd: {}", std::strerror(errno));
    UniqueFd stop(::eventfd(0, EFD_CLOEXEC));
    if (!stop.valid()) return make_error("eventfd: {}", std::strerror(errno));
    std::unique_ptr<ShutdownSignals> s(
        new ShutdownSignals(std::move(sfd), std::move(stop), std::move(on_stop), std::move(on_force)));
    auto thread = start_thread("trapeze-signals", std::move(on_thread_start), [p = s.get()] { p->watch(); });
    if (!thread) return make_error("signal watcher: {}", thread.error().message);
    s->m_thread = std::move(*thread);
    return s;
}

ShutdownSignals::ShutdownSignals(UniqueFd signal_fd, UniqueFd stop_fd, Handler on_stop, Handler on_force)
    : m_signal_fd(std::move(signal_fd)),
      m_stop_fd(std::move(stop_fd)),
      m_on_stop(std::move(on_stop)),
      m_on_force(std::move(on_force)) {}

ShutdownSignals::~ShutdownSignals() {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(m_stop_fd.get(), &one, sizeof one);
    if (m_thread.joinable()) m_thread.join();
    // The signals stay blocked: the process is about to exit, and a signal that arrives now
    // waits in the pending set instead of killing it half-way through its last words.
}

void ShutdownSignals::watch() {
    pollfd fds[2] = {{m_signal_fd.get(), POLLIN, 0}, {m_stop_fd.get(), POLLIN, 0}};
    for (;;) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (fds[1].revents != 0) return;
        signalfd_siginfo info{};
        if (::read(m_signal_fd.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
        const Caught c{static_cast<int>(info.ssi_signo), static_cast<pid_t>(info.ssi_pid)};
        if (m_signo.load(std::memory_order_acquire) != 0) {
            m_on_force(c);
            continue;
        }
        m_sender.store(c.sender, std::memory_order_relaxed);
        m_signo.store(c.signo, std::memory_order_release);
        m_on_stop(c);
    }
}

std::optional<ShutdownSignals::Caught> ShutdownSignals::caught() const {
    const int signo = m_signo.load(std::memory_order_acquire);
    if (signo == 0) return std::nullopt;
    return Caught{signo, m_sender.load(std::memory_order_relaxed)};
}

std::string ShutdownSignals::describe(const Caught& c) {
    const char* name = sigabbrev_np(c.signo);
    std::string s = fmt::format("signal {} (SIG{})", c.signo, name != nullptr ? name : "?");
    if (c.sender != 0) s += fmt::format(" from pid {}", c.sender);
    return s;
}

}  // namespace trapeze
