#include "snapshot/file_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "base/unique_fd.hpp"

namespace trapeze::snapshot {

Result<void> write_all(int fd, uint64_t offset, std::span<const uint8_t> bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return make_error("write: {}", n < 0 ? std::strerror(errno) : "no progress");
        bytes = bytes.subspan(static_cast<size_t>(n));
        offset += static_cast<uint64_t>(n);
    }
    return ok();
}

Result<StagedFile> StagedFile::create(const std::string& path) {
    // Numbered as well, so two staged files never share a name (two paths naming one file).
    static std::atomic<uint64_t> staged{0};
    std::string tmp = fmt::format("{}.tmp-{}-{}", path, ::getpid(), staged.fetch_add(1, std::memory_order_relaxed));
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return make_error("create '{}': {}", tmp, std::strerror(errno));
    return StagedFile(path, std::move(tmp), std::move(fd));
}

StagedFile::StagedFile(std::string path, std::string tmp, UniqueFd fd)
    : m_path(std::move(path)), m_tmp(std::move(tmp)), m_fd(std::move(fd)) {}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : m_path(std::move(other.m_path)), m_tmp(std::exchange(other.m_tmp, {})), m_fd(std::move(other.m_fd)) {}

StagedFile::~StagedFile() {
    if (!m_tmp.empty()) ::unlink(m_tmp.c_str());
}

Result<void> StagedFile::commit() {
    if (::rename(m_tmp.c_str(), m_path.c_str()) != 0) return make_error("rename to '{}': {}", m_path, std::strerror(errno));
    m_tmp.clear();
    return ok();
}

Result<void> write_atomically(const std::string& path, const std::function<Result<void>(int fd)>& fill) {
    auto filled = [&]() -> Result<void> {
        TRAPEZE_TRY_ASSIGN(file, StagedFile::create(path));
        TRAPEZE_TRY(fill(file.fd()));
        return file.commit();
    }();
    if (!filled) return std::move(filled).context(fmt::format("'{}'", path));
    return ok();
}

}  // namespace trapeze::snapshot
