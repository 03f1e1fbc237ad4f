#include "sandbox/sigsys_report.hpp"

#include <linux/audit.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace trapeze::sandbox {

namespace {

// x86-64 has about 460 system calls; a number past the table is reported as "unknown".
constexpr int kNames = 512;
constexpr size_t kNameBytes = 32;  // the longest name, landlock_create_ruleset, has 23
std::array<std::array<char, kNameBytes>, kNames> g_names{};

// Read in the handler: thread_local in the executable is at a fixed offset from the thread
// pointer (no allocation, no lock), so reading it there is async-signal-safe.
thread_local std::array<char, 16> t_name{};  // the kernel's comm: 15 bytes and a NUL
thread_local const char* t_kind = nullptr;

// A line for write(2), built without allocating.
class Line {
public:
    void add(const char* s) {
        while (*s != '\0' && m_len < m_buf.size()) m_buf[m_len++] = *s++;
    }
    void add_number(unsigned long v) {
        char digits[24];
        int n = 0;
        do {
            digits[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0 && n < 24);
        while (n > 0 && m_len < m_buf.size()) m_buf[m_len++] = digits[--n];
    }
    void write_to(int fd) const {
        size_t done = 0;
        while (done < m_len) {
            const ssize_t n = ::write(fd, m_buf.data() + done, m_len - done);
            if (n <= 0) return;
            done += static_cast<size_t>(n);
        }
    }

private:
    std::array<char, 256> m_buf{};
    size_t m_len = 0;
};

void on_sigsys(int, siginfo_t* info, void*) {
    Line line;
    line.add("trapeze: seccomp: thread '");
    line.add(t_name[0] != '\0' ? t_name.data() : "?");
    line.add("' (");
    line.add(t_kind != nullptr ? t_kind : "started by a confined thread");
    line.add(") made forbidden system call ");
    const int nr = info->si_syscall;
    line.add_number(static_cast<unsigned>(nr));
    line.add(" (");
    if (info->si_arch != AUDIT_ARCH_X86_64)
        line.add("not an x86-64 system call");
    else if (nr >= 0 && nr < kNames && g_names[static_cast<size_t>(nr)][0] != '\0')
        line.add(g_names[static_cast<size_t>(nr)].data());
    else
        line.add("unknown");
    line.add("); stopping\n");
    line.write_to(STDERR_FILENO);
    _exit(kForbiddenCallStatus);
}

void fill_names() {
    for (int nr = 0; nr < kNames; ++nr) {
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
        if (name == nullptr) continue;
        std::strncpy(g_names[static_cast<size_t>(nr)].data(), name, kNameBytes - 1);
        std::free(name);  // libseccomp strdup()s it
    }
}

}  // namespace

void install_sigsys_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        fill_names();
        struct sigaction sa {};
        sa.sa_sigaction = on_sigsys;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSYS, &sa, nullptr);
    });
}

void remember_thread(ThreadKind kind) {
    t_kind = to_string(kind);
    char name[16] = {};
    if (prctl(PR_GET_NAME, name) == 0) std::memcpy(t_name.data(), name, sizeof name);
    t_name.back() = '\0';
}

}  // namespace trapeze::sandbox
