// ExitSlot: where a translated block finds its successor's code without returning to the
// dispatcher. A slot is valid while the code cache generation equals its key (no code was
// invalidated since it was filled) and, for a successor in another virtual page (static
// exits across pages and the jump cache), while the hart's current fetch-TLB view still
// maps the successor's pc to the same host page: then the dispatcher's lookup would find
// the same physical block (Jit::lookup probes that very entry first). This survives ASID
// switches and unrelated TLB flushes, which the interpreter's rule (context generation,
// Interpreter::follow_link) does not. The dispatcher fills slots; emitted code only reads them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rv64/hart_state.hpp"

namespace trapeze::rv64::jit {

struct alignas(64) ExitSlot {
    uint64_t pc = ~0ull;         // guest virtual pc the code was looked up for
    uint64_t key = ~0ull;        // code generation when filled; ~0 never matches
    const void* code = nullptr;  // host code of the successor
    uintptr_t addend = 0;        // fetch-TLB addend of pc when filled (not for same_page)
    Priv priv = Priv::M;         // privilege it was looked up under
    bool same_page = false;      // successor in the same virtual page: no TLB check needed
};
static_assert(sizeof(ExitSlot) == 64);
static_assert(offsetof(ExitSlot, pc) == 0 && offsetof(ExitSlot, key) == 8 && offsetof(ExitSlot, code) == 16 &&
              offsetof(ExitSlot, addend) == 24 && offsetof(ExitSlot, priv) == 32);

// Fixed-capacity storage for the slots of static exits: slots never move (emitted code holds
// their addresses) and die all at once when the code buffer is flushed.
class SlotArena {
public:
    // The storage is reserved once (untouched until used) and never reallocated.
    explicit SlotArena(size_t capacity) : m_capacity(capacity) { m_slots.reserve(capacity); }
    ExitSlot* alloc() { return m_slots.size() < m_capacity ? &m_slots.emplace_back() : nullptr; }
    size_t free() const { return m_capacity - m_slots.size(); }
    void clear() { m_slots.clear(); }

private:
    std::vector<ExitSlot> m_slots;
    size_t m_capacity;
};

// Registers the dispatcher and the translations agree on. Emitted code runs between
// Jit's prologue and epilogue with: rbx = Hart*, r12 = instructions retired and not yet
// added to minstret/mcycle, r13 = budget units used, r14 = budget, r15 = RunState*.
struct RunState {
    uint64_t retired = 0;  // instructions retired and accounted in this entry
    uint64_t done = 0;     // budget units used (a trapping first instruction counts one)
    uint64_t budget = 0;
};
static_assert(offsetof(RunState, retired) == 0 && offsetof(RunState, done) == 8 && offsetof(RunState, budget) == 16);

}  // namespace trapeze::rv64::jit
