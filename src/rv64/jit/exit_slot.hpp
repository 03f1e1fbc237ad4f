// ExitSlot: where a translated block finds its successor's code without returning to the
// dispatcher. Emitted code jumps through `code` (or, for a successor in the same page, a
// direct jump patched to it), which leads back to the dispatcher, which fills the slot,
// until the slot is filled. A filled slot sits on its
// successor block's list of incoming slots, and the Jit resets every slot on that list when
// the code cache drops the block, so a filled slot always leads to live code.
//
// For a successor in the same virtual page the slot needs no further check: both blocks were
// reached through one translation of that page, which holds for every hart, so these slots
// (and the jumps patched through them) are shared, in the Jit's SlotArena. A successor in
// another virtual page (static exits across pages, and the jump cache) is followed only while
// the pc matches and the hart's fetch key (Hart::fetch_key) is the one it had when the slot was
// filled (then the pc translates as it did), or else while the current fetch-TLB view maps the
// pc to the host page the slot was filled with (then the slot takes the new key): either way
// the dispatcher's lookup would find the same physical block. That depends on the hart's
// translation, so each hart has slots of its own for these, found off the Hart pointer by the
// index the emitter gave the exit (Hart::engine). The key survives switches of ASID and
// privilege and back; a single-page sfence.vma (Linux issues one every few tens of thousands of
// instructions) changes it, and each slot then pays one TLB probe to take the new one.
//
// A hart's own slots start as zeroed memory, which emitted code treats as unfilled: no fetch
// key is 0 and the fetch recheck never follows a null `code`. A dropped successor leaves a
// slot leading to the link stub, whatever its other fields hold.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "base/huge_region.hpp"
#include "rv64/interp/code_cache.hpp"

namespace trapeze::rv64::jit {

struct alignas(64) ExitSlot {
    uint64_t pc = ~0ull;         // guest virtual pc the code was looked up for
    const void* code = nullptr;  // successor's host code, or the link stub
    uint64_t key = 0;            // the hart's fetch key when last checked (not for same_page)
    union {
        uintptr_t addend = 0;       // across pages: fetch-TLB addend of pc when filled
        const uint8_t* unlinked;    // same page: where its direct jump leads until linked (the
                                    // way to the dispatcher in the translation's cold part)
    };
    ExitSlot* next = nullptr;    // target's incoming list
    ExitSlot** pprev = nullptr;
    const uint8_t* patch = nullptr;  // same page: the rel32 of its direct jump (executable view)
    bool same_page = false;          // successor in the same virtual page: no TLB check needed
};
static_assert(sizeof(ExitSlot) == 64);
static_assert(offsetof(ExitSlot, pc) == 0 && offsetof(ExitSlot, code) == 8 && offsetof(ExitSlot, key) == 16 &&
              offsetof(ExitSlot, addend) == 24);

// Fixed-capacity storage for the shared slots of exits within a page, and the numbering of
// the exits across pages (whose slots each hart keeps, see ExitSlot): slots never move (emitted
// code holds their addresses or indices) and die all at once when the code buffer is flushed.
// The emitters allocate (the Translator's on its thread, if the Jit has one, and the hart
// threads' under the code cache's mutex) while hart threads read free(); clear() only while
// nothing is being emitted.
class SlotArena {
public:
    // The storage is reserved once (untouched until used, in huge pages: HugeRegion) and
    // never reallocated. Out of host memory throws std::bad_alloc, as operator new would.
    explicit SlotArena(size_t capacity) : m_region(reserve(capacity)) {}
    SlotArena(const SlotArena&) = delete;
    SlotArena& operator=(const SlotArena&) = delete;

    // A new slot leads to `link_stub` until it is filled.
    // Two emitters may allocate at once (the Translator's, and a hart thread's under the code
    // cache's mutex: Jit::translate), so each takes its index with one atomic step.
    ExitSlot* alloc(const void* link_stub) {
        const int64_t n = take(m_used);
        if (n < 0) return nullptr;
        ExitSlot* s = new (reinterpret_cast<ExitSlot*>(m_region.data()) + n) ExitSlot{};
        s->code = link_stub;
        return s;
    }
    // The index of a new exit across pages in every hart's slots (of `capacity` each), or -1.
    int64_t alloc_cross() { return take(m_cross); }
    size_t free() const {
        return capacity() - std::max(m_used.load(std::memory_order_acquire), m_cross.load(std::memory_order_acquire));
    }
    void clear() {
        m_used.store(0, std::memory_order_release);
        m_cross.store(0, std::memory_order_release);
    }
    size_t capacity() const { return m_region.size() / sizeof(ExitSlot); }

private:
    int64_t take(std::atomic<size_t>& used) {
        size_t n = used.load(std::memory_order_relaxed);
        do {
            if (n == capacity()) return -1;
        } while (!used.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel, std::memory_order_relaxed));
        return static_cast<int64_t>(n);
    }
    static HugeRegion reserve(size_t capacity) {
        auto r = HugeRegion::map(capacity * sizeof(ExitSlot));
        if (!r) throw std::bad_alloc();
        return std::move(*r);
    }

    static_assert(std::is_trivially_destructible_v<ExitSlot>);
    static_assert(HugeRegion::kHugePage % alignof(ExitSlot) == 0);

    HugeRegion m_region;
    std::atomic<size_t> m_used{0};
    std::atomic<size_t> m_cross{0};
};

// Registers the dispatcher and the translations agree on. Emitted code runs between
// Jit's prologue and epilogue with: rbx = Hart* + Layout::kHartBias, rbp = the guest pc
// (HartState::pc is stale until the epilogue or a helper call writes it), r13 = budget units
// left (a block's exit subtracts its instructions and leaves when none are left); the
// RunState*, the budget and r13 as of the last update of minstret/mcycle are in the
// trampoline's frame; r8-r12, r14 and r15 hold a block's cached guest registers. A wide
// translation keeps the pc and the units left in its frame while it runs and caches guest
// registers in rbp and r13 too, but loads them back before it leaves (Emitter::Impl::m_wide),
// so this holds at every entry and exit.
struct RunState {
    uint64_t retired = 0;  // instructions retired and accounted in this entry
    uint64_t done = 0;     // budget units used (a trapping first instruction counts one)
    uint64_t budget = 0;
};
static_assert(offsetof(RunState, retired) == 0 && offsetof(RunState, done) == 8 && offsetof(RunState, budget) == 16);

}  // namespace trapeze::rv64::jit
