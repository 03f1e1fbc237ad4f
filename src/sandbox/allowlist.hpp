// The system calls each kind of thread may make: the lists behind the sandbox.
//
// Each list is built from groups (what glibc and libstdc++ need on any thread, starting
// threads, waiting on fds, disk I/O, the network backends, the terminal, KVM). A list names
// only the groups its thread uses; where an argument tells a legitimate call from a dangerous
// one cheaply, the rule checks it (mmap and mprotect never with PROT_EXEC, clone only for
// threads, ioctl only with the commands the thread issues, openat never on hart threads unless
// libslirp needs it). How each group was found: strace -f of the guest tests (see
// docs/architecture.md, "Sandbox").
#pragma once

#include "sandbox/sandbox.hpp"
#include "sandbox/seccomp_filter.hpp"

namespace trapeze::sandbox {

void add_allowlist(SeccompFilter& filter, ThreadKind kind, const Needs& needs);

}  // namespace trapeze::sandbox
