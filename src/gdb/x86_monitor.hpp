// The x86 target's `monitor` commands (gdb's qRcmd), in the spirit of QEMU's monitor:
//   info registers [N]  vCPU N's (every vCPU's) system state: control registers, EFER,
//                       segment descriptors, GDT/IDT, APIC base, run state
//   info vcpus          each vCPU's rip, mode and run state
//   info mtree          the board's map: RAM, the MMIO windows, the ports
//   info tlb [N]        the mappings of vCPU N's (0's) page tables, linear -> physical with
//                       permissions, contiguous runs merged (QEMU's `info tlb`)
// The session handles `help`, `phys` and `sstep` itself; `help` here lists the above.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "machine/x86_machine.hpp"

namespace trapeze::gdb {

// The text to show, or nullopt if there is no such command. The machine is paused.
std::optional<std::string> x86_monitor(X86Machine& m, std::string_view command);

// One line on vCPU `index` for gdb's `info threads`: "vCPU 0, 64-bit, CPL 0, halted".
std::string x86_vcpu_summary(const X86Machine& m, unsigned index);

}  // namespace trapeze::gdb
