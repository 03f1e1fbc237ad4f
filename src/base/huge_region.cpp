#include "base/huge_region.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace trapeze {

// Reserves a huge page more than asked, then returns the unaligned head and the tail to the
// host: mmap itself promises only 4 KiB alignment.
Result<HugeRegion> HugeRegion::map(size_t size) {
    if (size == 0) return make_error("a huge-page region of 0 bytes");
    if (size > SIZE_MAX - kHugePage) return make_error("a huge-page region of {} bytes is too large", size);
    const size_t reserve = size + kHugePage;
    void* p = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return make_error("mmap of {} bytes: {}", size, std::strerror(errno));
    auto* start = static_cast<uint8_t*>(p);
    auto* aligned = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(start) + kHugePage - 1) & ~(kHugePage - 1));
    const auto head = static_cast<size_t>(aligned - start);
    if (head != 0) ::munmap(start, head);
    const size_t tail = reserve - head - size;
    if (tail != 0) ::munmap(aligned + size, tail);
    (void)::madvise(aligned, size, MADV_HUGEPAGE);
    return HugeRegion(aligned, size);
}

Result<HugeRegion> HugeRegion::map_file_private(int fd, size_t size) {
    if (size == 0) return make_error("a file mapping of 0 bytes");
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) return make_error("mmap of {} bytes of a file: {}", size, std::strerror(errno));
    return HugeRegion(static_cast<uint8_t*>(p), size);
}

Result<void> HugeRegion::remap_file_private(int fd) {
    void* p = ::mmap(m_data, m_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) return make_error("mmap of {} bytes of a file over guest RAM: {}", m_size, std::strerror(errno));
    return ok();
}

void HugeRegion::unmap() {
    if (m_data != nullptr) ::munmap(m_data, m_size);
    m_data = nullptr;
    m_size = 0;
}

}  // namespace trapeze
