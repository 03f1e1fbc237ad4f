// Snapshots from the command line and the API: opening a snapshot to restore (state file
// checked, memory file opened and sized against it) and taking one of a running RISC-V VM.
#pragma once

#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "machine/riscv_machine.hpp"
#include "machine/x86_machine.hpp"
#include "snapshot/snapshot_file.hpp"

namespace trapeze::vmm {

struct SnapshotSource {
    std::string state_path;
    snapshot::SnapshotContents contents;
    snapshot::MachineHeader header;
    UniqueFd memory;  // the memory file, checked to be the snapshot's RAM size
};

// `trapeze run --restore STATE` without --mem-file: the memory file beside it.
inline std::string default_memory_path(const std::string& state_path) { return state_path + ".mem"; }

Result<SnapshotSource> open_snapshot(const std::string& state_path, const std::string& memory_path);

// Pauses the machine (if it is not paused already), saves, resumes it; the line to report:
// where it went, how many pages, how long the VM stood still.
Result<std::string> save_riscv_snapshot(machine::RiscvMachine& m, const machine::SnapshotTarget& target);
// The same for x86-64 (Full only), the memory file beside the state file.
Result<std::string> save_x86_snapshot(X86Machine& m, const std::string& state_path);

}  // namespace trapeze::vmm
