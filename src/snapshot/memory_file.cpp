#include "snapshot/memory_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/file.hpp"
#include "snapshot/file_output.hpp"

namespace trapeze::snapshot {

namespace {

constexpr uint64_t kPage = GuestMemory::kPageSize;

bool page_is_zero(const uint8_t* p) {
    // Eight words at a time: the compiler turns this into vector ORs.
    const auto* w = reinterpret_cast<const uint64_t*>(p);
    for (size_t i = 0; i < kPage / 8; i += 8) {
        uint64_t acc = 0;
        for (size_t k = 0; k < 8; ++k) acc |= w[i + k];
        if (acc != 0) return false;
    }
    return true;
}

// Writes the runs of pages for which want(page) holds into fd (a file the length of RAM), one
// pwrite per run.
template <typename Want>
Result<MemorySaveStats> write_pages(const GuestMemory& mem, int fd, Want want) {
    MemorySaveStats stats;
    stats.bytes = mem.size();
    if (::ftruncate(fd, static_cast<off_t>(mem.size())) != 0)
        return make_error("ftruncate to {} bytes: {}", mem.size(), std::strerror(errno));
    const uint64_t pages = mem.page_count();
    const uint8_t* base = mem.host_base();
    for (uint64_t p = 0; p < pages;) {
        if (!want(p)) {
            ++p;
            continue;
        }
        uint64_t end = p + 1;
        while (end < pages && want(end)) ++end;
        TRAPEZE_TRY(write_all(fd, p * kPage, {base + p * kPage, static_cast<size_t>((end - p) * kPage)}));
        stats.pages_written += end - p;
        p = end;
    }
    return stats;
}

Result<MemorySaveStats> save_to_path(const GuestMemory& mem, const std::string& path, const uint64_t* dirty) {
    TRAPEZE_TRY_ASSIGN(file, StagedFile::create(path));
    auto stats = write_memory(mem, dirty, file.fd());
    if (stats) TRAPEZE_TRY(file.commit());
    if (!stats) return std::move(stats).context(fmt::format("'{}'", path));
    return stats;
}

}  // namespace

Result<MemorySaveStats> write_memory(const GuestMemory& mem, const uint64_t* dirty, int fd) {
    if (dirty != nullptr) return write_pages(mem, fd, [dirty](uint64_t p) { return (dirty[p / 64] >> (p % 64) & 1) != 0; });
    const uint8_t* base = mem.host_base();
    return write_pages(mem, fd, [base](uint64_t p) { return !page_is_zero(base + p * kPage); });
}

Result<MemorySaveStats> save_memory_full(const GuestMemory& mem, const std::string& path) {
    return save_to_path(mem, path, nullptr);
}

Result<MemorySaveStats> save_memory_diff(const GuestMemory& mem, std::span<const uint64_t> dirty,
                                         const std::string& path) {
    if (dirty.size() * 64 < mem.page_count()) return make_error("dirty bitmap shorter than RAM");
    return save_to_path(mem, path, dirty.data());
}

Result<UniqueFd> open_memory_file(const std::string& path, uint64_t ram_size) {
    uint64_t size = 0;
    auto fd = open_regular(path, &size);
    if (!fd) return std::move(fd).context("memory file");
    if (size != ram_size)
        return make_error("memory file '{}' is {} bytes, but the snapshot's RAM is {} bytes", path, size, ram_size);
    return fd;
}

Result<uint64_t> rebase_memory_file(const std::string& base_path, const std::string& diff_path) {
    UniqueFd diff(::open(diff_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!diff.valid()) return make_error("diff memory file '{}': {}", diff_path, std::strerror(errno));
    UniqueFd base(::open(base_path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!base.valid()) return make_error("base memory file '{}': {}", base_path, std::strerror(errno));
    struct stat ds {}, bs {};
    if (::fstat(diff.get(), &ds) != 0 || ::fstat(base.get(), &bs) != 0) return make_error("fstat: {}", std::strerror(errno));
    if (!S_ISREG(ds.st_mode) || !S_ISREG(bs.st_mode)) return make_error("memory files must be regular files");
    // By identity, not by name: a hard or symbolic link is the same file as well.
    if (ds.st_dev == bs.st_dev && ds.st_ino == bs.st_ino)
        return make_error("the base memory file '{}' and the diff memory file '{}' are the same file", base_path,
                          diff_path);
    if (ds.st_size != bs.st_size)
        return make_error("diff memory file is {} bytes, base memory file {}: not the same VM's", ds.st_size, bs.st_size);
    std::vector<uint8_t> buf(size_t{1} << 20);
    uint64_t copied = 0;
    off_t at = 0;
    for (;;) {
        const off_t data = ::lseek(diff.get(), at, SEEK_DATA);
        if (data < 0 && errno == ENXIO) break;  // no data after `at`
        if (data < 0) return make_error("diff memory file: SEEK_DATA: {}", std::strerror(errno));
        const off_t hole = ::lseek(diff.get(), data, SEEK_HOLE);
        if (hole < 0) return make_error("diff memory file: SEEK_HOLE: {}", std::strerror(errno));
        for (off_t off = data; off < hole;) {
            const size_t n = static_cast<size_t>(std::min<off_t>(hole - off, static_cast<off_t>(buf.size())));
            const ssize_t r = ::pread(diff.get(), buf.data(), n, off);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return make_error("read diff memory file: {}", r < 0 ? std::strerror(errno) : "short file");
            TRAPEZE_TRY(write_all(base.get(), static_cast<uint64_t>(off), {buf.data(), static_cast<size_t>(r)}));
            off += r;
            copied += static_cast<uint64_t>(r);
        }
        at = hole;
    }
    return copied;
}

}  // namespace trapeze::snapshot
