// CodeBuffer: the executable memory translations live in, W^X by a dual mapping of one
// memfd: code is written through a read-write view and run from a read-execute view, so
// no page is ever writable and executable and no mprotect is needed per translation.
// Translations are position-independent (internal jumps are relative, everything else
// is reached through absolute addresses in registers), so they run at the RX address.
//
// Thread: reserve (and append) from any thread at once: a reservation claims its room with one
// compare-and-swap of the buffer's end, and maps pages under a lock of its own only when the
// room reaches past what is mapped, so the Translator places its code without the code cache's
// mutex. truncate only where no thread reserves (the Jit's flush); patch_rel32 under the code
// cache's mutex; free() and used() from any.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
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
    // Rewrites the rel32 of a jump at `at` (an executable address append() returned code at)
    // to lead to `target`.
    void patch_rel32(const uint8_t* at, const void* target);
    // Forgets everything after `mark` (a value of used()): the translations there are dead.
    void truncate(size_t mark) { m_used.store(mark, std::memory_order_relaxed); }
    size_t used() const { return m_used.load(std::memory_order_relaxed); }
    size_t free() const { return m_size - used(); }
    size_t size() const { return m_size; }

private:
    CodeBuffer(uint8_t* rw, uint8_t* rx, size_t size) : m_rw(rw), m_rx(rx), m_size(size) {}

    uint8_t* m_rw = nullptr;
    uint8_t* m_rx = nullptr;
    size_t m_size = 0;
    static constexpr size_t kPopulateBytes = size_t{1} << 20;

    void populate_to(size_t end);

    std::atomic<size_t> m_used{0};  // read by every hart's dispatcher (free())
    // Bytes from the start mapped in both views; grown under m_populate_mu (populate_to).
    std::atomic<size_t> m_populated{0};
    std::mutex m_populate_mu;
};

}  // namespace trapeze::rv64::jit
