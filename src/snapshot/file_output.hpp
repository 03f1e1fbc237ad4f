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
#include "base/unique_fd.hpp"

namespace trapeze::snapshot {

// A file being written: `path`.tmp-PID-N (mode 0600) until commit() renames it over `path`.
// Dropped uncommitted, the temporary file is removed and `path` is left as it was. A snapshot
// stages both of its files before it commits either (snapshot_files.hpp).
class StagedFile {
public:
    static Result<StagedFile> create(const std::string& path);
    StagedFile(StagedFile&& other) noexcept;
    StagedFile& operator=(StagedFile&&) = delete;
    StagedFile(const StagedFile&) = delete;
    ~StagedFile();

    int fd() const { return m_fd.get(); }
    Result<void> commit();

private:
    StagedFile(std::string path, std::string tmp, UniqueFd fd);

    std::string m_path;
    std::string m_tmp;  // empty once committed or moved from
    UniqueFd m_fd;
};

// Stages `path`, lets fill() write it and commits it; on any failure `path` is left as it was.
Result<void> write_atomically(const std::string& path, const std::function<Result<void>(int fd)>& fill);

// pwrite(2) until done (EINTR and short writes handled).
Result<void> write_all(int fd, uint64_t offset, std::span<const uint8_t> bytes);

}  // namespace trapeze::snapshot
