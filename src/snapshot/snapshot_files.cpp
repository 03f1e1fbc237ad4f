#include "snapshot/snapshot_files.hpp"

#include "snapshot/file_output.hpp"

namespace trapeze::snapshot {

Result<MemorySaveStats> write_snapshot_files(const SnapshotWriter& state, const GuestMemory& mem,
                                             const uint64_t* dirty, const SnapshotPaths& paths) {
    // The state file is staged first: it is small, so a bad state path fails before RAM is written.
    auto state_file = StagedFile::create(paths.state);
    if (!state_file) return std::move(state_file).context("snapshot state").error();
    if (auto w = write_all(state_file->fd(), 0, state.serialize()); !w)
        return std::move(w).context(fmt::format("snapshot state: '{}'", paths.state)).error();
    auto memory_file = StagedFile::create(paths.memory);
    if (!memory_file) return std::move(memory_file).context("snapshot memory").error();
    auto stats = write_memory(mem, dirty, memory_file->fd());
    if (!stats) return std::move(stats).context(fmt::format("snapshot memory: '{}'", paths.memory)).error();
    if (auto c = memory_file->commit(); !c) return std::move(c).context("snapshot memory").error();
    if (auto c = state_file->commit(); !c) return std::move(c).context("snapshot state").error();
    return stats;
}

}  // namespace trapeze::snapshot
