// From a Firecracker configuration (api::VmResources) to the machine's own: the RISC-V board's
// MachineConfig or the x86-64 KVM board's X86Config, with Firecracker's rules for the root
// drive (first, and named on the kernel command line) and the defaults of a VMM process.
#pragma once

#include "api/vm_resources.hpp"
#include "base/result.hpp"
#include "machine/machine_config.hpp"
#include "machine/x86_machine.hpp"

namespace trapeze::vmm {

// What the VMM process's command line adds to the API's configuration.
struct VmmOptions {
    machine::Engine engine = machine::Engine::Jit;
    unsigned cpu_quota_percent = 0;
};

// The drives in the order the machine attaches them (root first): their ids.
std::vector<std::string> drive_order(const api::VmResources& r);

Result<machine::MachineConfig> riscv_config(const api::VmResources& r, const VmmOptions& o);
Result<X86Config> x86_config(const api::VmResources& r, const VmmOptions& o);

}  // namespace trapeze::vmm
