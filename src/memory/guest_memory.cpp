#include "memory/guest_memory.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace trapeze {

Result<GuestMemory> GuestMemory::create(Gpa base, uint64_t size) {
    if (size == 0 || size % kPageSize != 0)
        return make_error("guest RAM size {:#x} is not a positive multiple of 4 KiB", size);
    if (base.value + size < base.value)
        return make_error("guest RAM at {:#x} of size {:#x} wraps the address space", base.value, size);
    // A booting kernel first touches hundreds of MiB page by page: huge pages (HugeRegion)
    // took a JIT boot from 1.78 s to 1.55 s.
    auto ram = HugeRegion::map(size);
    if (!ram) return make_error("guest RAM: {}", ram.error().message);
    GuestMemory mem(base, std::move(*ram));
    mem.m_anonymous = true;
    return mem;
}

Result<GuestMemory> GuestMemory::create_from_file(Gpa base, uint64_t size, int fd) {
    if (size == 0 || size % kPageSize != 0)
        return make_error("guest RAM size {:#x} is not a positive multiple of 4 KiB", size);
    if (base.value + size < base.value)
        return make_error("guest RAM at {:#x} of size {:#x} wraps the address space", base.value, size);
    // A mapping past the file's end would fault (SIGBUS) at the guest's first touch there.
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != size)
        return make_error("the memory file is not a regular file of the RAM's {} bytes", size);
    auto ram = HugeRegion::map_file_private(fd, size);
    if (!ram) return make_error("guest RAM: {}", ram.error().message);
    return GuestMemory(base, std::move(*ram));
}

Result<void> GuestMemory::replace_from_file(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != size())
        return make_error("the memory file is not a regular file of the RAM's {} bytes", size());
    m_prefaulter.reset();
    m_anonymous = false;
    return m_ram.remap_file_private(fd);
}

void GuestMemory::start_prefaulting() {
    if (m_anonymous && !m_prefaulter) m_prefaulter = RamPrefaulter::start(m_ram.data(), size());
}

GuestMemory::GuestMemory(Gpa base, HugeRegion ram)
    : m_base(base), m_ram(std::move(ram)), m_dirty(new std::atomic<uint64_t>[(page_count() + 63) / 64]()) {}

void GuestMemory::mark_dirty(Gpa gpa, uint64_t len) const {
    if (len == 0 || gpa.value < m_base.value) return;
    const uint64_t first = (gpa.value - m_base.value) / kPageSize;
    const uint64_t last = std::min((gpa.value - m_base.value + (len - 1)) / kPageSize, page_count() - 1);
    for (uint64_t p = first; p <= last; ++p) {
        std::atomic<uint64_t>& word = m_dirty[p / 64];
        const uint64_t bit = uint64_t{1} << (p % 64);
        // The plain load first: most marks find the bit set, and a locked OR on a shared line
        // from several harts would cost more than the store it accompanies.
        if ((word.load(std::memory_order_relaxed) & bit) == 0) word.fetch_or(bit, std::memory_order_relaxed);
    }
}

std::vector<uint64_t> GuestMemory::take_dirty() {
    std::vector<uint64_t> out((page_count() + 63) / 64);
    for (size_t i = 0; i < out.size(); ++i) out[i] = m_dirty[i].exchange(0, std::memory_order_relaxed);
    return out;
}

void GuestMemory::return_dirty(std::span<const uint64_t> dirty) {
    const size_t words = std::min(dirty.size(), static_cast<size_t>((page_count() + 63) / 64));
    for (size_t i = 0; i < words; ++i) {
        if (dirty[i] != 0) m_dirty[i].fetch_or(dirty[i], std::memory_order_relaxed);
    }
}

bool GuestMemory::read(Gpa gpa, std::span<uint8_t> out) const {
    auto s = span(gpa, out.size());
    if (s.size() != out.size()) return false;
    if (!out.empty()) std::memcpy(out.data(), s.data(), out.size());
    return true;
}

bool GuestMemory::write(Gpa gpa, std::span<const uint8_t> in) {
    auto s = span(gpa, in.size());
    if (s.size() != in.size()) return false;
    if (!in.empty()) std::memcpy(s.data(), in.data(), in.size());
    notify_written(gpa, in.size());
    return true;
}

}  // namespace trapeze
