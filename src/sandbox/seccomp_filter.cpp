#include "sandbox/seccomp_filter.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace trapeze::sandbox {

namespace {

std::string syscall_name(int nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    std::string s = name != nullptr ? name : fmt::format("#{}", nr);
    std::free(name);  // libseccomp strdup()s it
    return s;
}

}  // namespace

Result<SeccompFilter> SeccompFilter::create() {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (ctx == nullptr) return make_error("seccomp_init failed");
    SeccompFilter f(ctx);
    // Ours alone: the other threads keep theirs (TSYNC off), and no execve could gain
    // privileges anyway (NO_NEW_PRIVS, which an unprivileged filter needs).
    if (const int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 0); rc != 0)
        return make_error("seccomp_attr_set(TSYNC): {}", std::strerror(-rc));
    if (const int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1); rc != 0)
        return make_error("seccomp_attr_set(NNP): {}", std::strerror(-rc));
    // A call through another ABI (int 0x80) is reported too, instead of killing the thread alone.
    if (const int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP); rc != 0)
        return make_error("seccomp_attr_set(BADARCH): {}", std::strerror(-rc));
    return f;
}

void SeccompFilter::keep_error(int rc, int nr) {
    // -EEXIST: the same rule again (lists share groups); harmless.
    if (rc == 0 || rc == -EEXIST || !m_error.empty()) return;
    m_error = fmt::format("rule for {}: {}", syscall_name(nr), std::strerror(-rc));
}

void SeccompFilter::note_allowed(int nr) {
    if (nr >= 0 && nr < kTracked) m_allowed.set(static_cast<size_t>(nr));
}

void SeccompFilter::allow(int nr) {
    note_allowed(nr);
    keep_error(seccomp_rule_add(m_ctx.get(), SCMP_ACT_ALLOW, nr, 0), nr);
}

void SeccompFilter::allow_if(int nr, std::initializer_list<scmp_arg_cmp> conditions) {
    note_allowed(nr);
    keep_error(seccomp_rule_add_array(m_ctx.get(), SCMP_ACT_ALLOW, nr, static_cast<unsigned>(conditions.size()),
                                      conditions.begin()),
               nr);
}

void SeccompFilter::fail_with(int nr, int err) {
    keep_error(seccomp_rule_add(m_ctx.get(), SCMP_ACT_ERRNO(static_cast<uint32_t>(err)), nr, 0), nr);
}

void SeccompFilter::fail_unless_allowed(int nr, int err) {
    if (nr >= 0 && nr < kTracked && m_allowed.test(static_cast<size_t>(nr))) return;
    fail_with(nr, err);
}

Result<void> SeccompFilter::load() {
    if (!m_error.empty()) return make_error("{}", m_error);
    if (const int rc = seccomp_load(m_ctx.get()); rc != 0) return make_error("seccomp_load: {}", std::strerror(-rc));
    return ok();
}

}  // namespace trapeze::sandbox
