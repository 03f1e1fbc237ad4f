// ShutdownSignals: SIGTERM, SIGINT, SIGHUP and SIGQUIT turned into an orderly stop, as QEMU
// turns them into "terminating on signal N" instead of dying with the terminal left raw and
// buffered output and disk writes lost.
//
// start() blocks the four signals in the calling thread, which must be the only one so far:
// every thread started later inherits the mask, so no thread is ever interrupted and no code
// runs in signal context. A thread of its own reads them from a signalfd. The first calls
// on_stop, which only asks the machine to stop: the machine's thread then stops the harts,
// syncs the disks, flushes the console and restores the terminal, and the caller exits with
// exit_status(). A second one while that is under way (a terminal that takes no output can
// hold up the last line on stderr) calls on_force, which must end the process at once.
//
// on_thread_start, if given, runs first on the watcher's thread (main passes the sandbox's
// confinement there); start() waits for it and fails with its error.
//
// Thread: start() and the destructor on the main thread; caught() from any thread; the
// handlers run on the watcher's thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace trapeze {

class ShutdownSignals {
public:
    struct Caught {
        int signo = 0;
        pid_t sender = 0;  // 0 if the kernel sent it (e.g. SIGHUP on hangup)
    };
    using Handler = std::function<void(const Caught&)>;
    using ThreadStart = std::function<Result<void>()>;

    static Result<std::unique_ptr<ShutdownSignals>> start(Handler on_stop, Handler on_force,
                                                          ThreadStart on_thread_start = {});
    ~ShutdownSignals();
    ShutdownSignals(const ShutdownSignals&) = delete;
    ShutdownSignals& operator=(const ShutdownSignals&) = delete;

    // The first signal taken, if any.
    std::optional<Caught> caught() const;

    // "signal 15 (SIGTERM) from pid 1234", for the one line the VMM prints.
    static std::string describe(const Caught& c);
    // The shell's convention for a process that ends because of a signal.
    static constexpr int exit_status(int signo) { return 128 + signo; }

private:
    ShutdownSignals(UniqueFd signal_fd, UniqueFd stop_fd, Handler on_stop, Handler on_force);
    void watch();

    UniqueFd m_signal_fd;
    UniqueFd m_stop_fd;  // eventfd: the destructor ends the watcher through it
    Handler m_on_stop;
    Handler m_on_force;
    // Ordering: the watcher publishes the sender with a release store of the signal number;
    // caught() acquires the number first, so it reads the matching sender.
    std::atomic<int> m_signo{0};
    std::atomic<pid_t> m_sender{0};
    std::thread m_thread;
};

}  // namespace trapeze
