#include "memory/guest_memory.hpp"

#include <cstring>
#include <utility>

namespace trapeze {

Result<GuestMemory> GuestMemory::create(Gpa base, uint64_t size) {
    if (size == 0 || size % kPageSize != 0)
        return make_error("guest RAM size {:#x} is not a positive multiple of 4 KiB", size);
    if (base.value + size < base.value)
        return make_error("guest RAM at {:#x} of size {:#x} wraps the address space", base.value, size);
    // A booting kernel first touches hundreds of MiB page by page: with huge pages that took
    // a tenth off a JIT boot (HugeRegion).
    auto ram = HugeRegion::map(size);
    if (!ram) return make_error("guest RAM: {}", ram.error().message);
    return GuestMemory(base, std::move(*ram));
}

GuestMemory::GuestMemory(GuestMemory&& o) noexcept
    : m_base(o.m_base),
      m_ram(std::move(o.m_ram)),
      m_size(std::exchange(o.m_size, 0)),
      m_host(std::exchange(o.m_host, nullptr)),
      m_observer(std::move(o.m_observer)) {}

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
