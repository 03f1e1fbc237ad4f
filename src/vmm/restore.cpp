#include "vmm/restore.hpp"

#include "base/guest_clock.hpp"
#include "snapshot/memory_file.hpp"

namespace trapeze::vmm {

Result<SnapshotSource> open_snapshot(const std::string& state_path, const std::string& memory_path) {
    SnapshotSource src;
    src.state_path = state_path;
    TRAPEZE_TRY_ASSIGN(contents, snapshot::read_snapshot_file(state_path));
    src.contents = std::move(contents);
    TRAPEZE_TRY_ASSIGN(header, std::move(snapshot::peek_machine_header(src.contents)).context(
                                   fmt::format("snapshot '{}'", state_path)));
    src.header = header;
    TRAPEZE_TRY_ASSIGN(memory, snapshot::open_memory_file(memory_path, header.ram_size));
    src.memory = std::move(memory);
    return src;
}

Result<std::string> save_riscv_snapshot(machine::RiscvMachine& m, const machine::SnapshotTarget& target) {
    const uint64_t start = GuestClock::host_ns();
    m.pause();
    auto saved = m.save_snapshot(target);
    m.resume();
    const double ms = static_cast<double>(GuestClock::host_ns() - start) / 1e6;
    if (!saved) return saved.error();
    return fmt::format("snapshot saved to '{}' and '{}' ({} pages of RAM, the VM stood still {:.1f} ms)",
                       target.state_path, target.memory_path, saved->pages_written, ms);
}

Result<std::string> save_x86_snapshot(X86Machine& m, const std::string& state_path) {
    const std::string mem = default_memory_path(state_path);
    const uint64_t start = GuestClock::host_ns();
    m.pause();
    auto saved = m.save_snapshot(state_path, mem);
    m.resume();
    const double ms = static_cast<double>(GuestClock::host_ns() - start) / 1e6;
    if (!saved) return saved.error();
    return fmt::format("snapshot saved to '{}' and '{}' (the VM stood still {:.1f} ms)", state_path, mem, ms);
}

}  // namespace trapeze::vmm
