// Shared by the fuzz targets: guest RAM with inaccessible guard pages on both sides of its
// host mapping (where the address space allows), so a device access that escaped guest RAM
// faults at once instead of silently touching neighbouring host memory (ASan does not track
// mmap'd RAM); a reader of fuzz input; and the tracking that lets a large, sparse RAM be
// cleared between runs for the cost of what was written.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "memory/guest_memory.hpp"

namespace trapeze::fuzz {

inline constexpr uint64_t kRamBase = 0x10000;
inline constexpr uint64_t kRamSize = 64 * 1024;
// Queue layout for queues of up to 16 entries: the rings the driver writes come first in RAM,
// hence first in the fuzz input, so short inputs reach them.
inline constexpr Gpa kAvailRing{kRamBase};
inline constexpr Gpa kDescTable{kRamBase + 0x40};
inline constexpr Gpa kUsedRing{kRamBase + 0x8000};

// Guest errors are logged once per device, and these targets make a device per input: send
// the logs to a sink that drops them, at the most verbose level, so every message is still
// formatted (a bad argument still shows) but none is written.
inline void quiet_logs() {
    auto logger = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

// Best effort: if another mapping already sits there, that side stays unguarded (noted once).
inline void guard_page_at(uint8_t* where) {
    void* p = ::mmap(where, GuestMemory::kPageSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == where) return;
    if (p != MAP_FAILED) ::munmap(p, GuestMemory::kPageSize);  // old kernels ignore NOREPLACE
    std::fprintf(stderr, "fuzz: no guard page at %p (something is mapped there)\n", static_cast<void*>(where));
}

// A guest RAM of `size` bytes at `base`, guarded on both sides, alive until the process ends
// (each target makes its RAM once: mapping it per input would cost more than the input).
inline GuestMemory& make_guarded_ram(Gpa base, uint64_t size) {
    auto* m = new GuestMemory(GuestMemory::create(base, size).value());
    guard_page_at(m->host_base() + m->size());
    guard_page_at(m->host_base() - GuestMemory::kPageSize);
    return *m;
}

inline GuestMemory& fuzz_ram() {
    static GuestMemory& mem = make_guarded_ram(Gpa(kRamBase), kRamSize);
    return mem;
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

// Reads the fuzz input front to back, little-endian; past the end every read is zero, so a
// short input is still a whole program (and seeds are easy to write).
class ByteReader {
public:
    ByteReader(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}

    bool empty() const { return m_pos >= m_size; }
    size_t left() const { return m_size - m_pos; }
    uint8_t u8() { return m_pos < m_size ? m_data[m_pos++] : 0; }
    uint16_t u16() { return static_cast<uint16_t>(u8() | (uint32_t{u8()} << 8)); }
    uint32_t u32() { return u16() | (uint32_t{u16()} << 16); }
    uint64_t u64() { return u32() | (uint64_t{u32()} << 32); }
    // Up to `n` bytes (fewer at the end of the input).
    std::span<const uint8_t> bytes(size_t n) {
        const size_t k = n < left() ? n : left();
        const std::span<const uint8_t> out(m_data + m_pos, k);
        m_pos += k;
        return out;
    }

private:
    const uint8_t* m_data;
    size_t m_size;
    size_t m_pos = 0;
};

// Follows every write reported to `mem`'s write observer (devices report each buffer they
// fill, GuestMemory::notify_written) plus the harness's own (mark), checks that each lies
// inside RAM, and zeroes exactly those pages on clear(): a 64 MiB RAM costs a run what it
// touched, not 64 MiB of memset. One per RAM; installs itself as that RAM's observer.
class DirtyPages {
public:
    explicit DirtyPages(GuestMemory& mem) : m_mem(mem), m_dirty(mem.size() / GuestMemory::kPageSize, false) {
        mem.set_write_observer([this](Gpa gpa, uint64_t len) {
            if (!m_mem.contains(gpa, len)) __builtin_trap();  // a device wrote (or said so) outside RAM
            mark(gpa, len);
        });
    }
    ~DirtyPages() { m_mem.set_write_observer({}); }
    DirtyPages(const DirtyPages&) = delete;
    DirtyPages& operator=(const DirtyPages&) = delete;

    void mark(Gpa gpa, uint64_t len) {
        if (len == 0 || !m_mem.contains(gpa, len)) return;
        const uint64_t first = (gpa.value - m_mem.base().value) / GuestMemory::kPageSize;
        const uint64_t last = (gpa.value - m_mem.base().value + len - 1) / GuestMemory::kPageSize;
        for (uint64_t p = first; p <= last; ++p) {
            if (m_dirty[p]) continue;
            m_dirty[p] = true;
            m_list.push_back(p);
        }
    }

    void clear() {
        for (const uint64_t p : m_list) {
            std::memset(m_mem.host_base() + p * GuestMemory::kPageSize, 0, GuestMemory::kPageSize);
            m_dirty[p] = false;
        }
        m_list.clear();
    }

private:
    GuestMemory& m_mem;
    std::vector<bool> m_dirty;
    std::vector<uint64_t> m_list;
};

}  // namespace trapeze::fuzz
