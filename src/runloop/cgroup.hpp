// join_cgroup: `--cgroup DIR` moves the VMM process, every thread of it, into a cgroup v2
// that the operator (or an orchestrator) created and limited beforehand, e.g.
//
//     mkdir /sys/fs/cgroup/vm1 && echo "30000 100000" > /sys/fs/cgroup/vm1/cpu.max
//     chown $USER /sys/fs/cgroup/vm1/cgroup.procs   # or run trapeze as root
//     trapeze run --cgroup /sys/fs/cgroup/vm1 ...
//
// The kernel then enforces the group's cpu.max (and memory.max, io.max...) on the whole
// process, with no help from trapeze; this is how Firecracker's jailer places a microVM.
// --cpu-quota (runloop/cpu_quota.hpp) is the same CPU limit without privileges.
//
// Thread: call at start, before other threads exist, so none is left behind (the kernel moves
// every thread of the process either way, cgroup v2 §"Processes").
#pragma once

#include <string>

#include "base/result.hpp"

namespace trapeze::runloop {

// Writes the process's pid to DIR/cgroup.procs. Errors name DIR and say why: not a cgroup v2
// directory, no such directory, or not writable by this user.
Result<void> join_cgroup(const std::string& dir);

}  // namespace trapeze::runloop
