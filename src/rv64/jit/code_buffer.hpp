// CodeBuffer: the executable memory translations live in, W^X by a dual mapping of one
// memfd: code is written through a read-write view and run from a read-execute view, so
// no page is ever writable and executable and no mprotect is needed per translation.
// Translations are position-independent (internal jumps are relative, everything else
// is reached through absolute addresses in registers), so they run at the RX address; the
// relative jumps between a translation's two parts are the ones placing it rewrites.
//
// Hot and cold: a translation's code that runs (its blocks, their exits) fills the buffer from
// the start up, the code that seldom does (slow paths, traps: the emitter's cold code) from
// the end down, so that the code a program keeps running sits on as few pages (host TLB
// entries) and cache lines as it can. The two parts of one translation reach each other by
// rel32 jumps that placing it rewrites (place_split).
//
// Thread: reserve (and append) from any thread at once: a reservation claims its room with one
// compare-and-swap of both ends, and maps pages under a lock of its own only when the room
// reaches past what is mapped, so the Translator places its code without the code cache's
// mutex. truncate only where no thread reserves (the Jit's flush); patch_rel32 under the code
// cache's mutex; free() and used() from any.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <span>

#include "base/result.hpp"

namespace trapeze::rv64::jit {

class CodeBuffer {
public:
    static Result<CodeBuffer> create(size_t size);

    CodeBuffer(CodeBuffer&& o) noexcept;
    CodeBuffer& operator=(CodeBuffer&&) = delete;
    CodeBuffer(const CodeBuffer&) = delete;
    CodeBuffer& operator=(const CodeBuffer&) = delete;
    ~CodeBuffer();

    // Translations start on a fetch-line boundary (jump targets).
    static constexpr size_t kAlign = 16;
    // The largest buffer create() makes: a rel32 reaches from any byte to any other.
    static constexpr size_t kMaxSize = INT32_MAX;
    // The most room a translation of `bytes` takes, each of its two parts aligned.
    static constexpr size_t room_for(size_t bytes) { return bytes + 2 * kAlign; }

    // Copies code in and returns its executable address, or nullptr if it does not fit.
    const uint8_t* append(std::span<const uint8_t> code);
    // Room for `size` bytes of code, mapped, that the caller fills through `rw` (nothing else
    // is handed that room, and nothing runs it before it is published) and runs at `rx`; both
    // null if it would leave fewer than `keep_free` bytes free.
    struct Room {
        uint8_t* rw = nullptr;
        const uint8_t* rx = nullptr;
    };
    Room reserve(size_t size, size_t keep_free = 0);
    // Room for a translation of hot.size() + cold bytes, its first `hot` at the start end of
    // the buffer and the rest at the other (both null as reserve's).
    struct SplitRoom {
        Room hot;
        Room cold;
    };
    SplitRoom reserve_split(size_t hot, size_t cold, size_t keep_free = 0);
    // Where a translation placed in two parts runs: an offset into the code as emitted (hot
    // part first) to its executable address.
    struct Placed {
        const uint8_t* hot = nullptr;
        const uint8_t* cold = nullptr;
        size_t hot_size = 0;
        const uint8_t* at(size_t offset) const { return offset < hot_size ? hot + offset : cold + (offset - hot_size); }
    };
    // Copies code in, its first `hot` bytes to the start end and the rest to the other, and
    // rewrites the rel32 displacements at the offsets `cross` (of jumps from one part into
    // the other, relative to the code as emitted) to reach across. Placed{} (hot null) if
    // it does not fit with keep_free bytes free. A `hot` of code.size() places it whole.
    Placed place_split(std::span<const uint8_t> code, size_t hot, std::span<const uint32_t> cross, size_t keep_free = 0);
    // Rewrites the rel32 of a jump at `at` (an executable address append() returned code at)
    // to lead to `target`.
    void patch_rel32(const uint8_t* at, const void* target);
    // Where the jump whose rel32 is at `at` leads (as placed, or as last patched).
    static const uint8_t* rel32_target(const uint8_t* at) {
        int32_t rel = 0;
        std::memcpy(&rel, at, sizeof rel);
        return at + 4 + rel;
    }
    // Forgets every translation placed after `mark` (a value of mark()): they are dead.
    uint64_t mark() const { return m_ends.load(std::memory_order_relaxed); }
    void truncate(uint64_t mark) { m_ends.store(mark, std::memory_order_relaxed); }
    size_t used() const { return hot_used(mark()) + cold_used(mark()); }
    size_t free() const { return m_size - used(); }
    size_t size() const { return m_size; }

private:
    CodeBuffer(uint8_t* rw, uint8_t* rx, size_t size) : m_rw(rw), m_rx(rx), m_size(size) {}

    uint8_t* m_rw = nullptr;
    uint8_t* m_rx = nullptr;
    size_t m_size = 0;
    static constexpr size_t kPopulateBytes = size_t{1} << 20;

    void populate_to(size_t end);
    void populate_top_to(size_t start);
    void populate(size_t from, size_t n);
    // The read-write view of the byte at executable address rx.
    uint8_t* rw_of(const uint8_t* rx) const { return m_rw + (rx - m_rx); }

    // Both ends in one word, so that one compare-and-swap claims a translation's two parts:
    // the bytes used from the start (low half) and from the end (high half).
    static size_t hot_used(uint64_t ends) { return static_cast<size_t>(ends & 0xffffffffu); }
    static size_t cold_used(uint64_t ends) { return static_cast<size_t>(ends >> 32); }
    std::atomic<uint64_t> m_ends{0};  // read by every hart's dispatcher (free())
    // Bytes from the start, and from the end, mapped in both views; grown under
    // m_populate_mu (populate_to, populate_top_to).
    std::atomic<size_t> m_populated{0};
    std::atomic<size_t> m_populated_top{0};
    std::mutex m_populate_mu;
};

}  // namespace trapeze::rv64::jit
