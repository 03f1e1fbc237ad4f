// The x86 page walk a debugger needs: a linear address to guest-physical through a vCPU's
// current paging mode, read from the page tables in guest RAM. Intel SDM Vol. 3A §4.1.1 picks
// the mode from CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57: none (linear = physical), 32-bit
// paging (§4.3), PAE paging (§4.4), 4-level and 5-level paging (§4.5).
//
// The walk only reads: it sets no accessed or dirty bit, and it ignores the permission bits
// (a debugger reads and writes what the guest could not). Our own walk rather than KVM's
// KVM_TRANSLATE, so it does not depend on what the host's KVM implements.
#pragma once

#include <cstdint>
#include <optional>

#include "memory/address.hpp"
#include "memory/guest_memory.hpp"

namespace trapeze::x86 {

// The registers that select and root the paging structures (kvm_sregs has them all).
struct PagingRegs {
    uint64_t cr0 = 0;
    uint64_t cr3 = 0;
    uint64_t cr4 = 0;
    uint64_t efer = 0;
};

// The guest-physical address of `linear`, or nullopt if a paging entry on the way is not
// present, a paging structure is outside RAM, or the address is not canonical (long mode).
std::optional<Gpa> translate_linear(const GuestMemory& mem, const PagingRegs& regs, Gva linear);

}  // namespace trapeze::x86
