#include "bus/mmio_bus.hpp"

#include <algorithm>

namespace trapeze {

Result<void> MmioBus::map(Gpa base, uint64_t size, MmioDevice& device, std::string name) {
    for (const auto& r : m_ranges) {
        if (base.value < r.base + r.size && r.base < base.value + size)
            return make_error("MMIO window '{}' at {:#x} overlaps '{}'", name, base.value, r.name);
    }
    m_ranges.push_back(Range{base.value, size, &device, std::move(name)});
    std::sort(m_ranges.begin(), m_ranges.end(), [](const Range& a, const Range& b) { return a.base < b.base; });
    m_last = nullptr;
    return ok();
}

const MmioBus::Range* MmioBus::find(uint64_t addr, unsigned size) {
    // Guest drivers hammer one device at a time (UART, PLIC claim): try the last hit first.
    if (m_last != nullptr && addr - m_last->base < m_last->size && addr + size - m_last->base <= m_last->size) return m_last;
    for (const auto& r : m_ranges) {
        if (addr >= r.base && addr - r.base < r.size && addr + size - r.base <= r.size) {
            m_last = &r;
            return &r;
        }
    }
    return nullptr;
}

namespace {

std::unique_lock<std::mutex> hold(std::mutex* m) {
    return m != nullptr ? std::unique_lock(*m) : std::unique_lock<std::mutex>();
}

}  // namespace

std::optional<uint64_t> MmioBus::read(Gpa addr, unsigned size) {
    const auto lock = hold(m_lock);
    ++m_reads;
    const Range* r = find(addr.value, size);
    if (r == nullptr) return std::nullopt;
    return r->device->mmio_read(addr.value - r->base, size);
}

bool MmioBus::write(Gpa addr, uint64_t value, unsigned size) {
    const auto lock = hold(m_lock);
    ++m_writes;
    const Range* r = find(addr.value, size);
    if (r == nullptr) return false;
    r->device->mmio_write(addr.value - r->base, value, size);
    return true;
}

}  // namespace trapeze
