// MmioBus: routes guest-physical accesses outside RAM to device register windows.
//
// Thread: any, once a lock is set (set_lock: the machine's device lock, taken around every
// access, so a device is touched by one thread at a time); without one, a single thread.
// Devices are not re-entrant.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "bus/mmio_device.hpp"
#include "memory/address.hpp"

namespace trapeze {

class MmioBus {
public:
    struct Range {
        uint64_t base;
        uint64_t size;
        MmioDevice* device;  // not owned: the Machine owns devices and outlives the bus
        std::string name;
    };

    // Fails if the window overlaps an existing one (a bug in the board description).
    Result<void> map(Gpa base, uint64_t size, MmioDevice& device, std::string name);

    // Every access holds `lock` (not owned; outlives the bus).
    void set_lock(std::mutex* lock) { m_lock = lock; }

    // nullopt: no device there (the engine raises an access fault).
    std::optional<uint64_t> read(Gpa addr, unsigned size);
    bool write(Gpa addr, uint64_t value, unsigned size);
    // The device windows, by base (`monitor info mtree`). Fixed once the board is built.
    const std::vector<Range>& ranges() const { return m_ranges; }
    // Accesses so far (Firecracker's vcpu exit_mmio_read/exit_mmio_write); under the lock.
    uint64_t reads() const { return m_reads; }
    uint64_t writes() const { return m_writes; }

private:
    const Range* find(uint64_t addr, unsigned size);

    std::vector<Range> m_ranges;  // sorted by base
    const Range* m_last = nullptr;  // under m_lock
    std::mutex* m_lock = nullptr;
    uint64_t m_reads = 0;   // under m_lock
    uint64_t m_writes = 0;  // under m_lock
};

}  // namespace trapeze
