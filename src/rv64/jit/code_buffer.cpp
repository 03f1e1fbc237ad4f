#include "rv64/jit/code_buffer.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/unique_fd.hpp"

namespace trapeze::rv64::jit {

Result<CodeBuffer> CodeBuffer::create(size_t size) {
    // A translation's two parts lie at the buffer's two ends and reach each other by rel32
    // jumps (place_split), so the buffer must be within a rel32's reach.
    if (size > kMaxSize) return make_error("JIT code buffer of {} bytes: at most {} (2 GiB)", size, kMaxSize);
    UniqueFd fd(::memfd_create("trapeze-jit", MFD_CLOEXEC));
    if (!fd.valid()) return make_error("JIT code buffer: memfd_create: {}", std::strerror(errno));
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
        return make_error("JIT code buffer: ftruncate to {} bytes: {}", size, std::strerror(errno));
    void* rw = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (rw == MAP_FAILED) return make_error("JIT code buffer: mmap RW: {}", std::strerror(errno));
    void* rx = ::mmap(nullptr, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd.get(), 0);
    if (rx == MAP_FAILED) {
        const int e = errno;
        ::munmap(rw, size);
        return make_error("JIT code buffer: mmap RX: {}", std::strerror(e));
    }
    return CodeBuffer(static_cast<uint8_t*>(rw), static_cast<uint8_t*>(rx), size);
}

CodeBuffer::CodeBuffer(CodeBuffer&& o) noexcept
    : m_rw(std::exchange(o.m_rw, nullptr)),
      m_rx(std::exchange(o.m_rx, nullptr)),
      m_size(std::exchange(o.m_size, 0)),
      m_ends(o.m_ends.exchange(0, std::memory_order_relaxed)),
      m_populated(o.m_populated.exchange(0, std::memory_order_relaxed)),
      m_populated_top(o.m_populated_top.exchange(0, std::memory_order_relaxed)) {}

CodeBuffer::~CodeBuffer() {
    if (m_rw != nullptr) ::munmap(m_rw, m_size);
    if (m_rx != nullptr) ::munmap(m_rx, m_size);
}

const uint8_t* CodeBuffer::append(std::span<const uint8_t> code) {
    const Room room = reserve(code.size());
    if (room.rw != nullptr) std::memcpy(room.rw, code.data(), code.size());
    // x86-64 keeps instruction fetch coherent with stores, also through another mapping
    // of the same physical page (Intel SDM vol. 3 §8.1.3); no explicit flush is needed.
    return room.rx;
}

// The claim is one compare-and-swap of the ends, so that harts (under the code cache's mutex)
// and the Translator (without it: Jit::place) reserve at once and never overlap. The room is
// mapped before it is handed out; the caller's copy into it needs no lock.
CodeBuffer::Room CodeBuffer::reserve(size_t size, size_t keep_free) {
    return reserve_split(size, 0, keep_free).hot;
}

CodeBuffer::SplitRoom CodeBuffer::reserve_split(size_t hot, size_t cold, size_t keep_free) {
    uint64_t ends = m_ends.load(std::memory_order_relaxed);
    size_t at = 0;       // the hot part's offset
    size_t cold_at = 0;  // the cold part's
    uint64_t next = 0;
    do {
        at = (hot_used(ends) + kAlign - 1) & ~(kAlign - 1);
        const size_t top = m_size - cold_used(ends);
        if (cold > top) return {};
        cold_at = cold == 0 ? top : (top - cold) & ~(kAlign - 1);
        if (at > cold_at || hot > cold_at - at || keep_free > cold_at - at - hot) return {};
        next = static_cast<uint64_t>(at + hot) | static_cast<uint64_t>(m_size - cold_at) << 32;
    } while (!m_ends.compare_exchange_weak(ends, next, std::memory_order_relaxed));
    if (at + hot > m_populated.load(std::memory_order_acquire)) populate_to(at + hot);
    if (m_size - cold_at > m_populated_top.load(std::memory_order_acquire)) populate_top_to(cold_at);
    return {{m_rw + at, m_rx + at}, {m_rw + cold_at, m_rx + cold_at}};
}

CodeBuffer::Placed CodeBuffer::place_split(std::span<const uint8_t> code, size_t hot, std::span<const uint32_t> cross,
                                           size_t keep_free) {
    assert(hot <= code.size());
    const SplitRoom room = reserve_split(hot, code.size() - hot, keep_free);
    if (room.hot.rw == nullptr) return {};
    std::memcpy(room.hot.rw, code.data(), hot);
    std::memcpy(room.cold.rw, code.data() + hot, code.size() - hot);
    const Placed placed{room.hot.rx, room.cold.rx, hot};
    for (const uint32_t site : cross) {
        // The displacement is relative to its own end (the instruction's), in the same part
        // as the displacement: placed.at(site + 4) would be the cold part's start for a jump
        // that ends the hot part.
        int32_t rel = 0;
        std::memcpy(&rel, code.data() + site, 4);
        const size_t target = static_cast<size_t>(static_cast<int64_t>(site) + 4 + rel);
        assert(target <= code.size() && (site < hot) != (target < hot));
        const auto moved = static_cast<int32_t>(placed.at(target) - (placed.at(site) + 4));
        std::memcpy(rw_of(placed.at(site)), &moved, 4);
    }
    return placed;
}

// The buffer's shared pages would otherwise each fault twice (written through one mapping,
// fetched through the other), a thousand faults per MiB of code: one madvise per mapping
// maps the next MiB at once. Only a hint: a kernel without MADV_POPULATE_* (before 5.14)
// leaves the pages to fault as before. A thread whose room another thread is mapping waits
// for it here.
void CodeBuffer::populate_to(size_t end) {
    std::lock_guard lock(m_populate_mu);
    size_t populated = m_populated.load(std::memory_order_relaxed);
    while (populated < end) {
        const size_t n = std::min(kPopulateBytes, m_size - populated);
        populate(populated, n);
        populated += n;
    }
    m_populated.store(populated, std::memory_order_release);
}

// The same for the cold parts, from the end of the buffer down to `start`.
void CodeBuffer::populate_top_to(size_t start) {
    std::lock_guard lock(m_populate_mu);
    size_t populated = m_populated_top.load(std::memory_order_relaxed);
    while (m_size - populated > start) {
        const size_t n = std::min(kPopulateBytes, m_size - populated);
        populate(m_size - populated - n, n);
        populated += n;
    }
    m_populated_top.store(populated, std::memory_order_release);
}

// Bytes [from, from + n) in both views.
void CodeBuffer::populate(size_t from, size_t n) {
    (void)::madvise(m_rw + from, n, MADV_POPULATE_WRITE);
    (void)::madvise(m_rx + from, n, MADV_POPULATE_READ);
}

void CodeBuffer::patch_rel32(const uint8_t* at, const void* target) {
    const auto off = static_cast<size_t>(at - m_rx);
    assert(off + 4 <= hot_used(mark()) || off >= m_size - cold_used(mark()));
    // Relative to the end of the rel32, which is the end of the jump instruction; the buffer
    // is at most kMaxSize, so every distance fits.
    const auto rel = static_cast<int32_t>(reinterpret_cast<intptr_t>(target) - reinterpret_cast<intptr_t>(at + 4));
    // Other harts may be running the jump: one aligned 4-byte store, which instruction fetch
    // sees whole, old or new (the emitter aligns every patched rel32; as QEMU does for TB jumps).
    assert(off % 4 == 0);
    std::atomic_ref<int32_t>(*reinterpret_cast<int32_t*>(m_rw + off)).store(rel, std::memory_order_relaxed);
}

}  // namespace trapeze::rv64::jit
