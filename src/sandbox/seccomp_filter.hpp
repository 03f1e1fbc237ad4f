// SeccompFilter: a libseccomp filter under construction, in which every system call traps
// (SIGSYS) unless a rule allows it; load() installs it on the calling thread only (no TSYNC),
// with PR_SET_NO_NEW_PRIVS.
//
// Rules for one system call are alternatives: the call passes if any of them holds. The
// conditions of one rule must all hold (libseccomp allows one condition per argument).
// A rule that libseccomp refuses is kept as the first error and reported by load(), so a list
// reads as a plain sequence of allow() calls.
#pragma once

#include <seccomp.h>

#include <bitset>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "base/result.hpp"

namespace trapeze::sandbox {

// Argument conditions. Arguments the kernel takes as 32-bit (an int flag, an ioctl command)
// are compared on their low 32 bits only: a caller may pass them sign-extended.
inline scmp_arg_cmp arg32_eq(unsigned arg, uint32_t value) {
    return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, 0xffff'ffffu, value};
}
// Every bit of `mask` clear (e.g. no PROT_EXEC in mmap's prot).
inline scmp_arg_cmp arg_bits_clear(unsigned arg, uint64_t mask) {
    return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, mask, 0};
}
// Every bit of `mask` set (e.g. CLONE_THREAD in clone's flags).
inline scmp_arg_cmp arg_bits_set(unsigned arg, uint64_t mask) {
    return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, mask, mask};
}
// The bits outside `mask` clear and the bits inside equal to `value` (a command with flags:
// futex's op without FUTEX_PRIVATE_FLAG).
inline scmp_arg_cmp arg32_masked_eq(unsigned arg, uint32_t mask, uint32_t value) {
    return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, mask, value};
}

class SeccompFilter {
public:
    static Result<SeccompFilter> create();

    // Allows `nr` whatever its arguments.
    void allow(int nr);
    // Allows `nr` when every condition holds.
    void allow_if(int nr, std::initializer_list<scmp_arg_cmp> conditions);
    // Makes `nr` fail with `err` instead of trapping (clone3, whose flags a filter cannot read,
    // answers ENOSYS so glibc falls back to clone, whose flags it can).
    void fail_with(int nr, int err);
    // Makes `nr` fail with `err` unless a rule above allows it (in some form).
    void fail_unless_allowed(int nr, int err);

    Result<void> load();

private:
    struct Release {
        void operator()(void* ctx) const { seccomp_release(ctx); }
    };
    explicit SeccompFilter(scmp_filter_ctx ctx) : m_ctx(ctx) {}
    void keep_error(int rc, int nr);

    void note_allowed(int nr);

    std::unique_ptr<void, Release> m_ctx;
    std::string m_error;  // the first rule libseccomp refused
    static constexpr int kTracked = 512;  // x86-64's system call numbers, with room
    std::bitset<kTracked> m_allowed;      // those with an allow rule
};

}  // namespace trapeze::sandbox
