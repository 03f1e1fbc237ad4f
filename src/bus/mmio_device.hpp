// MmioDevice: what the bus calls for a guest access to a device's register window.
//
// Offsets are relative to the window base; size is 1, 2, 4 or 8. Devices decide
// themselves how to treat sizes they do not support (usually: reads return 0,
// writes are ignored) — a guest access is never an error of the VMM.
#pragma once

#include <cstdint>

namespace trapeze {

class MmioDevice {
public:
    virtual ~MmioDevice() = default;
    virtual uint64_t mmio_read(uint64_t offset, unsigned size) = 0;
    virtual void mmio_write(uint64_t offset, uint64_t value, unsigned size) = 0;
};

}  // namespace trapeze
