#include "machine/boot_disk.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>

#include "base/bits.hpp"
#include "base/unique_fd.hpp"

namespace trapeze::machine {

namespace {

constexpr uint64_t kSector = 512;
// The MBR (UEFI spec 2.10 §5.2.1): four 16-byte entries from byte 446, the signature 55 AA at 510.
constexpr size_t kMbrEntries = 446;
constexpr size_t kMbrEntrySize = 16;
constexpr uint8_t kTypeGptProtective = 0xee;
constexpr uint8_t kTypeLinux = 0x83;
// ext2/3/4: the superblock 1024 bytes into the file system, s_magic 0xEF53 at its offset 0x38.
constexpr uint64_t kExtMagicOffset = 1024 + 0x38;
constexpr uint16_t kExtMagic = 0xef53;

Result<void> read_exactly(int fd, uint64_t offset, std::span<uint8_t> out, const std::string& path) {
    const ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
    if (n < 0) return make_error("--boot disk: cannot read '{}': {}", path, std::strerror(errno));
    if (static_cast<size_t>(n) != out.size())
        return make_error("--boot disk: '{}' is too small to hold a partition table and a file system", path);
    return ok();
}

}  // namespace

Result<void> check_boot_disk(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) return make_error("--boot disk: cannot open '{}': {}", path, std::strerror(errno));
    std::array<uint8_t, kSector> mbr{};
    TRAPEZE_TRY(read_exactly(fd.get(), 0, mbr, path));
    if (mbr[510] != 0x55 || mbr[511] != 0xaa)
        return make_error("--boot disk: '{}' has no partition table: U-Boot boots the extlinux.conf of a partition "
                          "(tools/debian-image makes such a disk)", path);
    bool linux_partition = false;
    for (size_t i = 0; i < 4; ++i) {
        const uint8_t* entry = mbr.data() + kMbrEntries + i * kMbrEntrySize;
        const uint8_t type = entry[4];
        if (type == kTypeGptProtective) return ok();
        if (type != kTypeLinux) continue;
        linux_partition = true;
        std::array<uint8_t, 2> magic{};
        TRAPEZE_TRY(read_exactly(fd.get(), uint64_t{load_le<uint32_t>(entry + 8)} * kSector + kExtMagicOffset, magic, path));
        if (load_le<uint16_t>(magic.data()) == kExtMagic) return ok();
    }
    if (!linux_partition) return make_error("--boot disk: '{}' has no Linux partition (type 83) to boot from", path);
    return make_error("--boot disk: no Linux partition of '{}' holds an ext2/3/4 file system", path);
}

}  // namespace trapeze::machine
