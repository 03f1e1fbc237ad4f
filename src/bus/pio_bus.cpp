#include "bus/pio_bus.hpp"

#include <algorithm>

namespace trapeze {

namespace {
constexpr uint32_t kPortSpace = 0x10000;
}

Result<void> PioBus::map(uint16_t base, uint32_t size, MmioDevice& device, std::string name) {
    if (size == 0 || size > kPortSpace - base)
        return make_error("port window '{}' at {:#x} with size {:#x} does not fit the I/O space", name, base, size);
    for (const auto& r : m_ranges) {
        if (base < r.base + r.size && r.base < base + size)
            return make_error("port window '{}' at {:#x} overlaps '{}'", name, base, r.name);
    }
    m_ranges.push_back(Range{base, size, &device, std::move(name)});
    std::sort(m_ranges.begin(), m_ranges.end(), [](const Range& a, const Range& b) { return a.base < b.base; });
    return ok();
}

const PioBus::Range* PioBus::find(uint16_t port, unsigned size) const {
    for (const auto& r : m_ranges) {
        if (port >= r.base && uint32_t{port} + size <= r.base + r.size) return &r;
    }
    return nullptr;
}

std::optional<uint64_t> PioBus::read(uint16_t port, unsigned size) {
    const Range* r = find(port, size);
    if (r == nullptr) return std::nullopt;
    return r->device->mmio_read(port - r->base, size);
}

bool PioBus::write(uint16_t port, uint64_t value, unsigned size) {
    const Range* r = find(port, size);
    if (r == nullptr) return false;
    r->device->mmio_write(port - r->base, value, size);
    return true;
}

}  // namespace trapeze
