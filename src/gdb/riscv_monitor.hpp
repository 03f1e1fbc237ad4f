// The RISC-V target's `monitor` commands (gdb's qRcmd), in the spirit of QEMU's monitor:
//   info mtree         the board's map: RAM and every device window
//   info harts         each hart's pc, privilege, satp and whether it waits in WFI
//   info tlb [HART]    the mappings of the hart's current page table (satp), VA -> PA with
//                      permissions, contiguous runs merged (QEMU's `info tlb`/`info mem`);
//                      a recursive mapping is not followed, and the walk reads a bounded
//                      number of tables (the dump then says it was cut)
//   help               the lines above, which the session's `help` appends to its own
// The session handles `phys` and `sstep` itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "machine/riscv_machine.hpp"

namespace trapeze::gdb {

// The text to show, or nullopt if there is no such command. The machine is paused.
std::optional<std::string> riscv_monitor(machine::RiscvMachine& m, std::string_view command);

}  // namespace trapeze::gdb
