// Writing snapshot files so that nobody sees one half-written: the data goes to a temporary
// file beside the destination, which is renamed over it once complete. A VM restored from a
// memory file keeps that file mapped copy-on-write; writing a new snapshot to the same path
// therefore replaces the directory entry and never changes the bytes under the mapping.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "base/result.hpp"

namespace trapeze::snapshot {

// Creates `path`.tmp-PID (mode 0600), lets fill() write it, renames it over `path`; on any
// failure the temporary file is removed and `path` is left as it was.
Result<void> write_atomically(const std::string& path, const std::function<Result<void>(int fd)>& fill);

// pwrite(2) until done (EINTR and short writes handled).
Result<void> write_all(int fd, uint64_t offset, std::span<const uint8_t> bytes);

}  // namespace trapeze::snapshot
