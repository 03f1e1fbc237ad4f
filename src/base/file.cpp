#include "base/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.hpp"

namespace trapeze {

// O_NONBLOCK: a FIFO (or a device) named as a file is refused below instead of blocking the
// open; on a regular file the flag changes nothing.
Result<UniqueFd> open_regular(const std::string& path, uint64_t* size) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) return make_error("open '{}': {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return make_error("stat '{}': {}", path, std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return make_error("'{}' is not a regular file", path);
    *size = static_cast<uint64_t>(st.st_size);
    return fd;
}

Result<size_t> read_up_to(const UniqueFd& fd, const std::string& path, std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error("read '{}': {}", path, std::strerror(errno));
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    return done;
}

Result<std::vector<uint8_t>> read_file(const std::string& path, uint64_t max_bytes) {
    uint64_t size = 0;
    auto fd = open_regular(path, &size);
    if (!fd) return fd.error();
    if (size > max_bytes) return make_error("'{}' is {} bytes, more than {}", path, size, max_bytes);
    std::vector<uint8_t> data(static_cast<size_t>(size));
    auto done = read_up_to(*fd, path, data);
    if (!done) return done.error();
    data.resize(*done);
    return data;
}

Result<uint64_t> file_size(const std::string& path) {
    uint64_t size = 0;
    auto fd = open_regular(path, &size);
    if (!fd) return fd.error();
    return size;
}

Result<void> read_file_into(const std::string& path, std::span<uint8_t> out) {
    uint64_t size = 0;
    auto fd = open_regular(path, &size);
    if (!fd) return fd.error();
    auto done = read_up_to(*fd, path, out);
    if (!done) return done.error();
    if (*done != out.size()) return make_error("'{}' is {} bytes; {} were expected (did it change?)", path, *done, out.size());
    return ok();
}

}  // namespace trapeze
