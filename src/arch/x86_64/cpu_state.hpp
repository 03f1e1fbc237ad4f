// Initial register state of the boot vCPU for each supported entry protocol.
#pragma once

#include <linux/kvm.h>

#include <cstdint>

namespace trapeze::x86 {

// PVH (Xen docs/misc/pvh.pandoc, "VCPU hardware state"): 32-bit protected mode, paging off,
// CS a flat 32-bit execute/read segment, DS/ES/SS flat 32-bit read/write, CR4 = 0,
// EFLAGS with IF, TF and VM clear, %ebx = physical address of hvm_start_info.
void set_pvh_entry_state(kvm_sregs& sregs, kvm_regs& regs, uint64_t entry, uint64_t start_info);

}  // namespace trapeze::x86
