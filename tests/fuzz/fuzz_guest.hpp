// Shared by the fuzz targets: a small guest RAM with inaccessible guard pages on both sides
// of its host mapping (where the address space allows), so a device access that escaped guest RAM faults at once instead of
// silently touching neighbouring host memory (ASan does not track mmap'd RAM).
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "memory/guest_memory.hpp"

namespace trapeze::fuzz {

inline constexpr uint64_t kRamBase = 0x10000;
inline constexpr uint64_t kRamSize = 64 * 1024;
// Queue layout for queues of up to 16 entries: the rings the driver writes come first in RAM,
// hence first in the fuzz input, so short inputs reach them.
inline constexpr Gpa kAvailRing{kRamBase};
inline constexpr Gpa kDescTable{kRamBase + 0x40};
inline constexpr Gpa kUsedRing{kRamBase + 0x8000};

// Best effort: if another mapping already sits there, that side stays unguarded (noted once).
inline void guard_page_at(uint8_t* where) {
    void* p = ::mmap(where, GuestMemory::kPageSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == where) return;
    if (p != MAP_FAILED) ::munmap(p, GuestMemory::kPageSize);  // old kernels ignore NOREPLACE
    std::fprintf(stderr, "fuzz: no guard page at %p (something is mapped there)\n", static_cast<void*>(where));
}

inline GuestMemory& fuzz_ram() {
    static GuestMemory* mem = [] {
        auto* m = new GuestMemory(GuestMemory::create(Gpa(kRamBase), kRamSize).value());
        guard_page_at(m->host_base() + m->size());
        guard_page_at(m->host_base() - GuestMemory::kPageSize);
        return m;
    }();
    return *mem;
}

// Guest RAM holds `data` from its start, zeroes after it.
inline void load_ram(GuestMemory& mem, const uint8_t* data, size_t size) {
    const size_t n = size < mem.size() ? size : static_cast<size_t>(mem.size());
    std::memset(mem.host_base(), 0, static_cast<size_t>(mem.size()));
    if (n != 0) std::memcpy(mem.host_base(), data, n);
}

// A span handed to a device that is not inside guest RAM is a bug: stop the run.
inline void require_inside(const GuestMemory& mem, const uint8_t* p, size_t len) {
    if (len == 0) return;
    const uint8_t* lo = mem.host_base();
    if (p < lo || len > mem.size() || p > lo + (mem.size() - len)) __builtin_trap();
}

}  // namespace trapeze::fuzz
