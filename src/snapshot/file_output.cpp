#include "snapshot/file_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

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

Result<void> write_atomically(const std::string& path, const std::function<Result<void>(int fd)>& fill) {
    const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return make_error("create '{}': {}", tmp, std::strerror(errno));
    auto filled = fill(fd.get());
    if (filled && ::rename(tmp.c_str(), path.c_str()) != 0) filled = make_error("rename to '{}': {}", path, std::strerror(errno));
    if (!filled) {
        ::unlink(tmp.c_str());
        return std::move(filled).context(fmt::format("'{}'", path));
    }
    return ok();
}

}  // namespace trapeze::snapshot
