#include "sandbox/sandbox.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"

extern char** environ;

namespace trapeze::sandbox::test {
namespace {

// The report of a forbidden call by the thread named `thread` of kind `kind`.
std::string report(const std::string& thread, const std::string& kind, int nr, const std::string& name) {
    return "trapeze: seccomp: thread '" + thread + "' (" + kind + ") made forbidden system call " + std::to_string(nr) +
           " (" + name + "); stopping\n";
}

// A child that names its thread and confines it, with the lists widened by `needs` first;
// `then` runs under the filter.
ChildEnd confined_child_with_needs(const Needs& needs, ThreadKind kind, const char* name,
                                   const std::function<int()>& then) {
    return run_in_child([&] {
        set_needs(needs);
        prctl(PR_SET_NAME, name);
        if (auto r = install_filter(kind); !r) {
            std::fprintf(stderr, "%s\n", r.error().message.c_str());
            return 100;
        }
        return then();
    });
}

ChildEnd confined_child(ThreadKind kind, const char* name, const std::function<int()>& then) {
    return confined_child_with_needs(Needs{}, kind, name, then);
}

// Sanitizer runtimes make system calls of their own (ASan's allocator probes memory through a
// pipe, its _exit looks at the signal stack): a filter stops them at once. Such builds install
// no filters in trapeze (sandbox.hpp), and these tests need one.
#define TRAPEZE_SKIP_UNDER_SANITIZERS() \
    if (sanitizer_build()) GTEST_SKIP() << "sanitizer runtimes make system calls of their own"

void expect_stopped(const ChildEnd& end, const std::string& line) {
    EXPECT_TRUE(end.exited) << "ended by signal " << end.status;
    EXPECT_EQ(end.status, kForbiddenCallStatus);
    EXPECT_EQ(end.stderr_text, line);
}

TEST(Sandbox, HartThreadThatCallsExecveStopsTheProcessWithOneLine) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    const ChildEnd end = confined_child(ThreadKind::Hart, "trapeze-hart0", [] {
        char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
        ::execve("/bin/true", argv, environ);
        return 1;
    });
    expect_stopped(end, report("trapeze-hart0", "hart", 59, "execve"));
}

TEST(Sandbox, HartThreadCannotOpenASocket) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    const ChildEnd end = confined_child(ThreadKind::Hart, "trapeze-hart1", [] {
        (void)::socket(AF_UNIX, SOCK_STREAM, 0);
        return 1;
    });
    expect_stopped(end, report("trapeze-hart1", "hart", 41, "socket"));
}

// Refused with EACCES rather than stopped (glibc's lazy opens: see install_filter).
TEST(Sandbox, HartThreadCannotOpenAFile) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    const ChildEnd end = confined_child(ThreadKind::Hart, "trapeze-hart2", [] {
        const int fd = ::open("/etc/passwd", O_RDONLY | O_CLOEXEC);
        return fd == -1 && errno == EACCES ? 0 : 1;
    });
    EXPECT_TRUE(end.exited) << "ended by signal " << end.status;
    EXPECT_EQ(end.status, 0) << end.stderr_text;
    EXPECT_EQ(end.stderr_text, "");
}

TEST(Sandbox, HartThreadKeepsWhatGlibcAndItsDevicesNeed) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    char path[] = "/tmp/trapeze-sandbox-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::unlink(path);
    const ChildEnd end = confined_child(ThreadKind::Hart, "trapeze-hart3", [fd] {
        // malloc in many sizes, grown and freed (arenas, mmap'd chunks, trimming).
        std::vector<std::vector<uint8_t>> blocks;
        for (size_t i = 0; i < 200; ++i) blocks.emplace_back((i % 7) * 40'000 + 16, uint8_t{1});
        blocks.clear();
        std::mutex m;
        { std::lock_guard lock(m); }
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);  // the CPU quota's clock: a real system call
        std::vector<uint8_t> sector(4096, 0xab);
        if (::pwrite(fd, sector.data(), sector.size(), 4096) != 4096) return 2;  // virtio-blk
        if (::pread(fd, sector.data(), sector.size(), 0) != 4096) return 3;
        if (::fdatasync(fd) != 0) return 4;
        (void)::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);  // discard
        uint8_t entropy[64];
        if (::getrandom(entropy, sizeof entropy, 0) != 64) return 5;  // virtio-rng
        pollfd out{STDERR_FILENO, POLLOUT, 0};
        if (::poll(&out, 1, 0) < 0) return 7;                         // console output waiting
        if (::write(STDERR_FILENO, "ok", 2) != 2) return 6;           // console and logs
        return 0;
    });
    ::close(fd);
    EXPECT_TRUE(end.exited);
    EXPECT_EQ(end.status, 0) << end.stderr_text;
    EXPECT_EQ(end.stderr_text, "ok");
}

// glibc's malloc raises its trim threshold (up to 64 MiB) each time a mapped chunk larger than
// its mmap threshold is freed, as the VMM thread does before any filter (files read whole,
// device trees). A confined thread whose arena then shrinks past that threshold must not be
// the first to read /proc/sys/vm/overcommit_memory (malloc/arena.c, check_may_shrink_heap).
TEST(Sandbox, ThreadArenaShrinkingPastARaisedTrimThresholdIsAllowed) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    const ChildEnd end = run_in_child([] {
        void* volatile big = std::malloc(8 << 20);  // mapped, then freed: thresholds 8 and 16 MiB
        std::free(big);
        int status = 1;
        std::thread([&status] {
            prctl(PR_SET_NAME, "trapeze-jit");
            if (!install_filter(ThreadKind::Translator)) return;
            std::vector<void*> blocks;
            for (int i = 0; i < 256; ++i) blocks.push_back(std::malloc(128 * 1024));  // 32 MiB of heap
            for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
            status = 0;
        }).join();
        return status;
    });
    EXPECT_TRUE(end.exited) << "ended by signal " << end.status;
    EXPECT_EQ(end.status, 0) << end.stderr_text;
    EXPECT_EQ(end.stderr_text, "");
}

TEST(Sandbox, TranslatorCannotMapExecutableMemory) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    const ChildEnd end = confined_child(ThreadKind::Translator, "trapeze-jit", [] {
        (void)::mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return 1;
    });
    expect_stopped(end, report("trapeze-jit", "translator", 9, "mmap"));
}

// RAM's prefaulter (memory/RamPrefaulter) populates guest RAM and does nothing else.
TEST(Sandbox, RamPrefaulterPopulatesMemoryButCannotOpenASocket) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    const ChildEnd end = confined_child(ThreadKind::Prefaulter, "trapeze-ram", [] {
        void* ram = ::mmap(nullptr, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (ram == MAP_FAILED || ::madvise(ram, 2 << 20, MADV_POPULATE_WRITE) != 0) return 2;
        (void)::socket(AF_INET, SOCK_STREAM, 0);
        return 1;
    });
    expect_stopped(end, report("trapeze-ram", "ram prefaulter", 41, "socket"));
}

TEST(Sandbox, VcpuThreadMayIssueOnlyTheKvmIoctlsItUses) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    const ChildEnd end = confined_child(ThreadKind::Vcpu, "trapeze-vcpu0", [] {
        (void)::ioctl(STDIN_FILENO, TIOCSTI, "x");  // pushing input into the terminal
        return 1;
    });
    expect_stopped(end, report("trapeze-vcpu0", "vcpu", 16, "ioctl"));
}

TEST(Sandbox, VmmThreadStartsThreadsThatConfineThemselvesButNoProcess) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    const ChildEnd end = confined_child(ThreadKind::Vmm, "trapeze", [] {
        bool hart_confined = false;
        std::thread([&] {
            prctl(PR_SET_NAME, "trapeze-hart0");
            hart_confined = install_filter(ThreadKind::Hart).ok();
        }).join();
        if (!hart_confined) return 2;
        (void)::fork();  // clone without CLONE_THREAD
        return 1;
    });
    expect_stopped(end, report("trapeze", "vmm", 56, "clone"));
}

// --on-reboot restart: the VMM thread, confined, starts the next machine's JIT translator
// thread, which lowers its priority under the VMM thread's filter before it installs its own
// (rv64/jit/Translator). Only its own (who 0), and only to kTranslatorNice: a thread raising a
// priority, or setting another's, is stopped.
ChildEnd translator_started_by_rebuilding_vmm(int nice, id_t who = 0) {
    return confined_child_with_needs(Needs{.user_net = false, .rebuild = true}, ThreadKind::Vmm, "trapeze", [nice, who] {
        bool confined = false;
        std::thread([&] {
            prctl(PR_SET_NAME, "trapeze-jit");
            if (::setpriority(PRIO_PROCESS, who, nice) != 0) return;
            confined = install_filter(ThreadKind::Translator).ok();
        }).join();
        return confined ? 0 : 2;
    });
}

TEST(Sandbox, RebuildingVmmLetsItsTranslatorThreadLowerItsPriority) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    const ChildEnd end = translator_started_by_rebuilding_vmm(kTranslatorNice);
    EXPECT_TRUE(end.exited);
    EXPECT_EQ(end.status, 0) << end.stderr_text;
}

TEST(Sandbox, RebuildingVmmLetsNoThreadRaiseAPriority) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    expect_stopped(translator_started_by_rebuilding_vmm(-5),
                   report("?", "started by a confined thread", 141, "setpriority"));
}

TEST(Sandbox, RebuildingVmmLetsNoThreadSetAnothersPriority) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    expect_stopped(translator_started_by_rebuilding_vmm(kTranslatorNice, static_cast<id_t>(::getpid())),
                   report("?", "started by a confined thread", 141, "setpriority"));
}

TEST(Sandbox, FilterConfinesOnlyTheThreadThatInstalledIt) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    const ChildEnd end = run_in_child([] {
        bool confined = false;
        std::thread([&] { confined = install_filter(ThreadKind::Hart).ok(); }).join();
        if (!confined) return 2;
        const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);  // this thread has no filter
        return s >= 0 ? 0 : 3;
    });
    EXPECT_TRUE(end.exited);
    EXPECT_EQ(end.status, 0) << end.stderr_text;
}

TEST(Sandbox, IsOnByDefault) {
    EXPECT_TRUE(enabled());
}

TEST(Sandbox, ConfineThisThreadInstallsNothingWhenTurnedOff) {
    const ChildEnd end = run_in_child([] {
        enable(false);
        if (!confine_this_thread(ThreadKind::Hart)) return 2;
        if (prctl(PR_GET_SECCOMP) != 0) return 3;  // not in filter mode
        return ::socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : 4;
    });
    EXPECT_TRUE(end.exited);
    EXPECT_EQ(end.status, 0) << end.stderr_text;
}

TEST(Sandbox, ConfineThisThreadInstallsTheFilterWhenOnExceptUnderSanitizers) {
    const ChildEnd end = run_in_child([] {
        enable(true);
        prctl(PR_SET_NAME, "trapeze-hart0");
        if (!confine_this_thread(ThreadKind::Hart)) return 2;
        return ::socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : 3;
    });
    if (sanitizer_build()) {
        EXPECT_TRUE(end.exited);
        EXPECT_EQ(end.status, 0) << end.stderr_text;
        return;
    }
    expect_stopped(end, report("trapeze-hart0", "hart", 41, "socket"));
}

TEST(Sandbox, UserNetworkingLetsHartsOpenInternetSocketsOnly) {
    TRAPEZE_SKIP_UNDER_SANITIZERS();
    const auto child = [](int domain) {
        return run_in_child([domain] {
            set_needs(Needs{.user_net = true, .rebuild = false});
            prctl(PR_SET_NAME, "trapeze-hart0");
            if (!install_filter(ThreadKind::Hart)) return 2;
            const int s = ::socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
            return s >= 0 ? 0 : 3;
        });
    };
    const ChildEnd inet = child(AF_INET);
    EXPECT_TRUE(inet.exited);
    EXPECT_EQ(inet.status, 0) << inet.stderr_text;
    expect_stopped(child(AF_UNIX), report("trapeze-hart0", "hart", 41, "socket"));
}

}  // namespace
}  // namespace trapeze::sandbox::test
