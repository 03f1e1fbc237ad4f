// Interpreter: the `--engine interp` CPU engine. Runs harts block by block from the
// CodeCache, taking interrupts at block boundaries.
//
// Thread: one per machine. run(h) on the thread of hart h: the harts take turns on one thread,
// or each runs on a thread of its own, all from the one CodeCache; each hart's jump cache is
// its own (Hart::engine.context).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
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

    uint64_t retired() const;
    // Forgets every decoded block (RAM was replaced under the harts); no hart runs meanwhile.
    void flush_code();
    std::string summary() const;
    CodeCache& cache() { return m_cache; }

private:
    // Direct-mapped cache in front of the code cache's hash map, for indirect jumps and
    // returns (the successors links do not cover). Valid while the code generation matches.
    struct JumpCacheEntry {
        uint64_t pa = ~0ull;
        uint64_t gen = 0;
        Block* block = nullptr;
    };
    static constexpr size_t kJumpCacheSize = 4096;
    // What one hart keeps: only its thread touches it, but for the retired count.
    struct HartContext {
        std::vector<JumpCacheEntry> jump_cache = std::vector<JumpCacheEntry>(kJumpCacheSize);
        std::atomic<uint64_t> retired{0};
    };

    static HartContext& context(Hart& h) { return *static_cast<HartContext*>(h.engine.context); }
    Exit run_blocks(Hart& h, uint64_t budget);
    void maintain();
    Block* lookup(Hart& h);  // null: the fetch faulted (the trap is taken)
    uint64_t execute(Hart& h, const Block& b);
    uint64_t execute_traced(Hart& h, const Block& b);
    void account(Hart& h, uint64_t n);

    CodeCache m_cache;
    std::vector<std::unique_ptr<HartContext>> m_contexts;
    bool m_trace = false;
};

}  // namespace trapeze::rv64::interp
