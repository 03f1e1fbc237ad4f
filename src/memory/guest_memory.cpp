#include "memory/guest_memory.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace trapeze {

Result<GuestMemory> GuestMemory::create(Gpa base, uint64_t size) {
    if (size == 0 || size % kPageSize != 0) return make_error("guest RAM size {:#x} is not a positive multiple of 4 KiB", size);
    if (base.value + size < base.value) return make_error("guest RAM at {:#x} of size {:#x} wraps the address space", base.value, size);
    auto host = map_ram(size);
    if (!host) return host.error();
    return GuestMemory(base, size, *host);
}

// MAP_NORESERVE: RAM is touched lazily, so a large guest costs only what it uses.
// The mapping starts on a 2 MiB boundary and asks for transparent huge pages, as QEMU does
// for its RAM blocks: a booting kernel first touches hundreds of MiB page by page, and one
// fault per 2 MiB instead of per 4 KiB saves a tenth of a JIT boot. The advice is a hint;
// a host with THP off keeps 4 KiB pages.
Result<uint8_t*> GuestMemory::map_ram(uint64_t size) {
    constexpr uint64_t kHuge = uint64_t{2} << 20;
    const uint64_t reserve = size + kHuge;
    void* p = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return make_error("mmap {} MiB of guest RAM: {}", size >> 20, std::strerror(errno));
    auto* start = static_cast<uint8_t*>(p);
    auto* aligned = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(start) + kHuge - 1) & ~(kHuge - 1));
    const auto head = static_cast<size_t>(aligned - start);
    if (head != 0) ::munmap(start, head);
    ::munmap(aligned + size, static_cast<size_t>(reserve - head - size));
    (void)::madvise(aligned, size, MADV_HUGEPAGE);
    return aligned;
}

GuestMemory::GuestMemory(GuestMemory&& o) noexcept
    : m_base(o.m_base),
      m_size(std::exchange(o.m_size, 0)),
      m_host(std::exchange(o.m_host, nullptr)),
      m_observer(std::move(o.m_observer)) {}

GuestMemory::~GuestMemory() {
    if (m_host != nullptr) ::munmap(m_host, m_size);
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
