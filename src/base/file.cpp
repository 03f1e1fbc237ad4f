#include "base/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "base/started_thread.hpp"
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

namespace {

// Fills out until it is full or the file ends: `read_some(done)` reads (read or pread) into
// out from its byte `done` on. Returns the number of bytes read.
template <typename ReadSome>
Result<size_t> fill(const std::string& path, std::span<uint8_t> out, ReadSome read_some) {
    size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = read_some(done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error("read '{}': {}", path, std::strerror(errno));
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    return done;
}

}  // namespace

Result<size_t> read_up_to(const UniqueFd& fd, const std::string& path, std::span<uint8_t> out) {
    return fill(path, out, [&](size_t done) { return ::read(fd.get(), out.data() + done, out.size() - done); });
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

namespace {

// Reads from `offset` until out is full or the file ends (pread: the fd's position is left
// alone, so two threads can read one fd at once).
Result<size_t> pread_up_to(const UniqueFd& fd, const std::string& path, std::span<uint8_t> out, uint64_t offset) {
    return fill(path, out, [&](size_t done) {
        return ::pread(fd.get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    });
}

// From this size on, read_file_into reads the upper half on a thread of its own.
constexpr size_t kHalvesFrom = size_t{8} << 20;

// Reading a kernel into fresh guest RAM is mostly the host faulting the RAM in: Debian's 31 MB
// Image took 96-97 ms of a boot when the host had taken that memory back (a first boot; 6 ms
// when it had not; 52 ms in halves), and two threads fault pages in at about twice the rate of one. So the upper
// half is read on a thread of its own meanwhile; where no thread can be had (a sandboxed
// process reloading a kernel at a guest's reset, say), it is read here after the lower.
Result<size_t> read_in_halves(const UniqueFd& fd, const std::string& path, std::span<uint8_t> out) {
    const size_t half = (out.size() / 2) & ~size_t{4095};
    std::optional<Result<size_t>> upper;
    auto helper = start_thread("trapeze-load", [] { return ok(); },
                               [&] { upper = pread_up_to(fd, path, out.subspan(half), half); });
    auto lower = pread_up_to(fd, path, out.first(half), 0);
    if (helper) helper->join();
    else upper = pread_up_to(fd, path, out.subspan(half), half);
    if (!lower) return lower.error();
    if (!*upper) return upper->error();
    return *lower < half ? *lower : half + **upper;  // a file that ends in the lower half is short
}

}  // namespace

Result<void> read_file_into(const std::string& path, std::span<uint8_t> out) {
    uint64_t size = 0;
    auto fd = open_regular(path, &size);
    if (!fd) return fd.error();
    auto done = out.size() >= kHalvesFrom ? read_in_halves(*fd, path, out) : read_up_to(*fd, path, out);
    if (!done) return done.error();
    if (*done != out.size()) return make_error("'{}' is {} bytes; {} were expected (did it change?)", path, *done, out.size());
    return ok();
}

}  // namespace trapeze
