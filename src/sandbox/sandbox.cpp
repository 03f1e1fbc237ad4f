#include "sandbox/sandbox.hpp"

#include <malloc.h>
#include <seccomp.h>
#include <sys/sysinfo.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include "sandbox/allowlist.hpp"
#include "sandbox/seccomp_filter.hpp"
#include "sandbox/sigsys_report.hpp"

namespace trapeze::sandbox {

namespace {

// Ordering: relaxed; main sets both before it starts the threads that read them, and starting
// a thread orders everything before it.
std::atomic<bool> g_enabled{true};
std::atomic<bool> g_user_net{false};
std::atomic<bool> g_rebuild{false};
std::atomic<bool> g_checkpoints{false};  // Needs::checkpoints
std::atomic<bool> g_time_travel{false};  // Needs::time_travel

// Some of what glibc and libseccomp do once per process, lazily, on whichever thread comes
// first, and which would need a file a confined thread may not open. Done here, before any
// filter:
// * glibc's malloc reads /sys/devices/system/cpu/online when the ninth thread to allocate
//   needs an arena (arena.c, arena_get2, for its default limit of 8 per CPU), unless the limit
//   was set: it is set here to that same default.
// * glibc's malloc reads /proc/sys/vm/overcommit_memory the first time an arena other than
//   the main one shrinks (arena.c, check_may_shrink_heap): a thread of its own gets a new
//   arena, grows it past the trim threshold (128 KiB) in blocks below the mmap threshold, and
//   frees them, which shrinks it.
// * localtime_r reads /etc/localtime once (spdlog's timestamps after PUT /logger).
// * libseccomp probes the kernel's seccomp API once (seccomp_api_get).
void prime_lazy_initialisation() {
    mallopt(M_ARENA_MAX, 8 * get_nprocs());
    std::thread([] {
        // malloc itself, not new: it is glibc's arena that is exercised.
        std::vector<void*> blocks;
        for (int i = 0; i < 64; ++i) blocks.push_back(std::malloc(8 * 1024));
        for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
    }).join();
    tzset();
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    (void)seccomp_api_get();
}

void prime_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        prime_lazy_initialisation();
        install_sigsys_handler();
    });
}

}  // namespace

const char* to_string(ThreadKind kind) {
    switch (kind) {
        case ThreadKind::Vmm:
            return "vmm";
        case ThreadKind::Api:
            return "api";
        case ThreadKind::Hart:
            return "hart";
        case ThreadKind::Translator:
            return "translator";
        case ThreadKind::Prefaulter:
            return "ram prefaulter";
        case ThreadKind::ConsoleReader:
            return "console reader";
        case ThreadKind::ConsolePump:
            return "console pump";
        case ThreadKind::Signals:
            return "signal watcher";
        case ThreadKind::Vcpu:
            return "vcpu";
        case ThreadKind::IoNotifier:
            return "io notifier";
        case ThreadKind::SnapshotKey:
            return "snapshot-key";
        case ThreadKind::Debugger:
            return "debugger";
        case ThreadKind::X86Debugger:
            return "x86 debugger";
    }
    return "?";
}

void enable(bool on) {
    g_enabled.store(on, std::memory_order_relaxed);
    if (on && !sanitizer_build()) prime_once();
}

bool enabled() {
    return g_enabled.load(std::memory_order_relaxed);
}

void set_needs(const Needs& needs) {
    g_user_net.store(needs.user_net, std::memory_order_relaxed);
    g_rebuild.store(needs.rebuild, std::memory_order_relaxed);
    g_checkpoints.store(needs.checkpoints, std::memory_order_relaxed);
    g_time_travel.store(needs.time_travel, std::memory_order_relaxed);
}

Needs needs() {
    return Needs{g_user_net.load(std::memory_order_relaxed), g_rebuild.load(std::memory_order_relaxed),
                 g_checkpoints.load(std::memory_order_relaxed), g_time_travel.load(std::memory_order_relaxed)};
}

bool sanitizer_build() {
#ifdef TRAPEZE_SANDBOX_SANITIZER_BUILD
    return true;
#else
    return false;
#endif
}

Result<void> confine_this_thread(ThreadKind kind) {
    if (!enabled() || sanitizer_build()) return ok();
    return install_filter(kind);
}

Result<void> install_filter(ThreadKind kind) {
    prime_once();
    auto filter = SeccompFilter::create();
    if (!filter) return std::move(filter).context("seccomp").error();
    add_allowlist(*filter, kind, needs());
    // A thread whose list has no openat gets EACCES for one rather than stopping the process:
    // glibc opens files lazily on whichever thread needs them first, and what primes that
    // (prime_lazy_initialisation) cannot always come first. Its malloc reads
    // /proc/sys/vm/overcommit_memory when a thread's arena first shrinks past the trim threshold,
    // which it raises as big mapped chunks are freed (up to 64 MiB): with the threshold raised
    // before the priming thread ran, a translator thread's arena shrinking later stopped the
    // process (Sandbox.ThreadArenaShrinkingPastARaisedTrimThresholdIsAllowed). Refused, glibc
    // takes the safe answer (no shrinking in place); the thread still opens nothing.
    filter->fail_unless_allowed(SCMP_SYS(openat), EACCES);
    remember_thread(kind);
    return filter->load().context(fmt::format("seccomp filter of the {} thread", to_string(kind)));
}

}  // namespace trapeze::sandbox
