// Which host CPUs each hart's thread may run on (`trapeze run --hart-affinity`), as operators
// pin vCPUs with libvirt's <vcpupin> or cloud-hypervisor's `--cpus affinity=`: to keep a VM's
// harts off CPUs that other work needs, to give each hart a core of its own, or to measure
// what placement does to a multi-hart guest (bench/smp.sh --hart-affinity).
#pragma once

#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace trapeze::runloop {

// [hart] = the host CPUs its thread may run on (sorted, no repeats); empty: every hart
// runs where the host's scheduler puts it.
using HartAffinity = std::vector<std::vector<unsigned>>;

// "LIST/LIST/...": one list per hart, in hart order, each in taskset(1)'s list format: CPU
// numbers and ranges, comma-separated ("3", "0,2", "4-7", "0-3,8"). Exactly `harts` lists.
// Every CPU must be one this process may run on (sched_getaffinity: a cgroup's cpuset, a
// taskset around trapeze), so that a typo is an error at start rather than a hart that
// cannot be placed.
Result<HartAffinity> parse_hart_affinity(std::string_view spec, unsigned harts);

// Pins the calling thread to `cpus` (nothing if empty). Allowed under the sandbox to a thread
// started by a confined one, before it installs its own filter (see HartThreads::start).
Result<void> pin_this_thread(const std::vector<unsigned>& cpus);

}  // namespace trapeze::runloop
