// The snapshot's memory file: guest RAM byte for byte (offset 0 = the first byte of RAM),
// kept apart from the state file so that restore maps it copy-on-write instead of reading it
// (GuestMemory::create_from_file) and restore time does not grow with the RAM size.
//
// Full: every page that is not all zeroes is written; zero pages stay holes of a sparse file
// (a guest that has touched 100 MiB of 512 MiB costs about 100 MiB of disk). Diff (Firecracker's
// snapshot_type Diff): only the pages written since the last snapshot, at their offsets, the
// rest holes; such a file is merged onto the memory file of the snapshot before it with
// rebase_memory_file() (Firecracker's rebase-snap) before it can be restored.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "memory/guest_memory.hpp"

namespace trapeze::snapshot {

struct MemorySaveStats {
    uint64_t pages_written = 0;  // 4 KiB pages with data in the file
    uint64_t bytes = 0;          // the file's length (RAM size)
};

// Writes RAM into fd, a file it makes the length of RAM: with `dirty` null every page that is
// not all zeroes (Full), else the pages whose bits are set in it (Diff; GuestMemory::take_dirty's
// bitmap, page_count() bits).
Result<MemorySaveStats> write_memory(const GuestMemory& mem, const uint64_t* dirty, int fd);
// Writes all of RAM (zero pages as holes). Atomically replaces `path` (file_output.hpp).
Result<MemorySaveStats> save_memory_full(const GuestMemory& mem, const std::string& path);
// Writes the pages whose bits are set in `dirty` (GuestMemory::take_dirty's bitmap).
Result<MemorySaveStats> save_memory_diff(const GuestMemory& mem, std::span<const uint64_t> dirty,
                                         const std::string& path);

// Opens a memory file for restore: a regular file of exactly `ram_size` bytes, or an error
// saying what is wrong with it.
Result<UniqueFd> open_memory_file(const std::string& path, uint64_t ram_size);

// Copies every data extent of the diff file onto the base file (SEEK_DATA/SEEK_HOLE), which
// then holds the memory of the diff's snapshot. Both files must be the same length.
Result<uint64_t> rebase_memory_file(const std::string& base_path, const std::string& diff_path);

}  // namespace trapeze::snapshot
