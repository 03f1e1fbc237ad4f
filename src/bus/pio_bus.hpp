// PioBus: routes x86 port I/O (the 64 KiB I/O address space) to device register windows.
//
// Devices implement the same MmioDevice interface as on the MMIO bus (offset within the
// window, size 1/2/4), so one device object — the 16550 UART — serves port 0x3f8 on x86 and an
// MMIO window on RISC-V without any adapter.
//
// Thread: callers serialise (the x86 machine holds its I/O lock); devices are not re-entrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "bus/mmio_device.hpp"

namespace trapeze {

class PioBus {
public:
    struct Range {
        uint16_t base;
        uint32_t size;
        MmioDevice* device;  // not owned: the machine owns devices and outlives the bus
        std::string name;
    };

    // Fails if the window is empty, passes port 0xffff, or overlaps another (a board bug).
    Result<void> map(uint16_t base, uint32_t size, MmioDevice& device, std::string name);

    // nullopt / false: no device claims every byte of the access (the caller decides what an
    // unclaimed port reads as; on a PC it is all ones).
    std::optional<uint64_t> read(uint16_t port, unsigned size);
    bool write(uint16_t port, uint64_t value, unsigned size);

    const std::vector<Range>& ranges() const { return m_ranges; }

private:
    const Range* find(uint16_t port, unsigned size) const;

    std::vector<Range> m_ranges;  // sorted by base
};

}  // namespace trapeze
