// Interpreter: the `--engine interp` CPU engine. Runs harts block by block from the
// CodeCache, taking interrupts at block boundaries.
//
// Thread: one hart thread: the harts of a machine take turns on it, or, with harts in
// parallel, each hart has an Interpreter of its own (CodeCoherence).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rv64/hart.hpp"
#include "rv64/interp/code_cache.hpp"

namespace trapeze::rv64::interp {

class Interpreter {
public:
    // Debug: the hart stopped for the debugger (Hart::debug_event), before its pc.
    enum class Exit { Budget, Wfi, Debug };

    explicit Interpreter(GuestMemory& mem);

    void attach(Hart& h);
    // Runs h for about `budget` instructions, or until it waits in WFI.
    Exit run(Hart& h, uint64_t budget);

    uint64_t retired() const { return m_retired; }
    std::string summary() const;
    CodeCache& cache() { return m_cache; }

private:
    Block* lookup(Hart& h);  // null: the fetch faulted (the trap is taken)
    uint64_t execute(Hart& h, const Block& b);
    uint64_t execute_traced(Hart& h, const Block& b);
    void account(Hart& h, uint64_t n);

    // Direct-mapped cache in front of the code cache's hash map, for indirect jumps and
    // returns (the successors links do not cover). Valid while the code generation matches.
    struct JumpCacheEntry {
        uint64_t pa = ~0ull;
        uint64_t gen = 0;
        Block* block = nullptr;
    };
    static constexpr size_t kJumpCacheSize = 4096;

    CodeCache m_cache;
    std::vector<JumpCacheEntry> m_jump_cache = std::vector<JumpCacheEntry>(kJumpCacheSize);
    uint64_t m_retired = 0;
    bool m_trace = false;
};

}  // namespace trapeze::rv64::interp
