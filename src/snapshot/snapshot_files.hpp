// A snapshot's two files written as one: the state file and the memory file are each staged
// beside their destination (StagedFile) and renamed over them only once both are complete, the
// state file last. A request that fails (a directory that is not there, a full disk) leaves both
// destinations as they were and no temporary file behind: an existing pair is never half
// replaced, so a state file never meets a memory file of another instant. (Only a rename of the
// state file failing after the memory file's succeeded could part them: both are renames within
// a directory the process has just created a file in.)
#pragma once

#include <cstdint>
#include <string>

#include "base/result.hpp"
#include "memory/guest_memory.hpp"
#include "snapshot/memory_file.hpp"
#include "snapshot/snapshot_file.hpp"

namespace trapeze::snapshot {

struct SnapshotPaths {
    std::string state;
    std::string memory;
};

// `dirty`: null for a Full snapshot, else the bitmap of pages a Diff holds (write_memory).
// Errors say which file ("snapshot state: ...", "snapshot memory: ...").
Result<MemorySaveStats> write_snapshot_files(const SnapshotWriter& state, const GuestMemory& mem,
                                             const uint64_t* dirty, const SnapshotPaths& paths);

}  // namespace trapeze::snapshot
