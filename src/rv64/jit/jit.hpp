// Jit: the `--engine jit` CPU engine, a dynamic binary translator from RISC-V to x86-64.
// Same shape as interp::Interpreter: attach every hart, then run(hart, budget) in slices.
//
// Translation units are the interpreter's decoded blocks (interp::CodeCache: keyed by the
// guest-physical pc, never crossing a page), so both engines agree on block boundaries,
// code invalidation (CodeWatch and GuestMemory's write observer) and where interrupts are
// taken. A translation depends only on the physical code: privilege, translation mode and
// ASID change what the loads and stores see, and emitted code reads the hart's current TLB
// view and ASID at run time, so one translation serves every mode. Mode changes matter to
// chaining only, which re-checks the fetch translation at run time (see ExitSlot).
//
// Thread: one hart thread: the harts of a machine take turns on it, or, with harts in
// parallel, each hart has a Jit of its own (CodeCoherence). With JitConfig::background the
// emitter runs on the Translator's thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "rv64/hart.hpp"
#include "rv64/interp/code_cache.hpp"
#include "rv64/jit/code_buffer.hpp"
#include "rv64/jit/emitter.hpp"
#include "rv64/jit/exit_slot.hpp"
#include "rv64/jit/translator.hpp"

namespace trapeze::rv64::jit {

struct JitConfig {
    size_t code_bytes = 64u << 20;  // flushed and refilled when full
    size_t exit_slots = 1u << 20;
    // A block runs through the interpreter's semantics this many times before it is
    // translated: most of a boot's code runs a handful of times, and translating a block
    // costs as much as interpreting it about a hundred times.
    uint32_t translate_after = 16;
    // Translations are made on a thread of their own (Translator) while the hart thread runs
    // their blocks through the interpreter's semantics; else in line, when first needed (so
    // when a block starts running native code depends on nothing but the guest: for tests).
    bool background = false;
};

class Jit {
public:
    // Debug: the hart stopped for the debugger (Hart::debug_event), before its pc.
    enum class Exit { Budget, Wfi, Debug };

    static Result<std::unique_ptr<Jit>> create(GuestMemory& mem, const JitConfig& cfg = {});
    Jit(const Jit&) = delete;
    Jit& operator=(const Jit&) = delete;
    ~Jit();

    void attach(Hart& h);
    // Runs h for about `budget` instructions (exactly as many blocks as the interpreter
    // would), or until it waits in WFI.
    Exit run(Hart& h, uint64_t budget);

    // With JitConfig::background: returns once every translation asked for is made (the next
    // run() installs them). For tests.
    void wait_for_translations() {
        if (m_translator != nullptr) m_translator->wait_idle();
    }

    uint64_t retired() const { return m_retired; }
    uint64_t dispatches() const { return m_dispatches; }  // entries into translated code
    uint64_t side_entries() const { return m_side_entries; }
    uint64_t lookups() const { return m_lookups; }        // blocks found by pc (not by a link)
    interp::CodeCache& cache() { return m_cache; }
    const Emitter::Stats& stats() const { return m_stats; }
    uint64_t flushes() const { return m_flushes; }
    std::string summary() const;

private:
    using EnterFn = ExitSlot* (*)(Hart* h, const void* code, RunState* st);
    static constexpr size_t kJumpCacheSize = 32768;
    // Room that must be free before a block is translated (64 instructions, worst case).
    static constexpr size_t kMaxBlockBytes = 64 * 1024;
    static constexpr size_t kMaxBlockSlots = 2 * interp::CodeCache::kMaxBlockInsns;

    Jit(GuestMemory& mem, CodeBuffer code, const JitConfig& cfg);
    void init(Hart& h);
    void flush();
    void translate(interp::Block& b, const Hart& h);
    void prepare_crossing(interp::Block& b, const Hart& h);
    std::vector<const interp::Block*> region(const interp::Block& b);
    struct Translation {
        std::span<const uint8_t> code;
        std::span<const Emitter::Patch> patches;
        std::span<const Emitter::Entry> entries;
        size_t blocks;
    };
    void install(interp::Block& head, const Translation& t);
    void install_finished();
    void write_perf_map(const interp::Block& b, size_t size, size_t blocks);
    struct BlockCacheEntry;
    BlockCacheEntry* lookup(Hart& h);  // null: the fetch faulted (the trap is taken)
    interp::Block* interpret(Hart& h, interp::Block& b, RunState& st);
    void fill(ExitSlot& slot, const Hart& h, interp::Block& b);
    void unlink(ExitSlot& slot);
    void on_drop(interp::Block& b);
    static size_t block_cache_index(uint64_t pa) { return (pa >> 1) % kBlockCacheSize; }

    // Direct-mapped cache in front of the code cache's hash map for the dispatcher's
    // lookups by guest-physical pc, with the block's translation once it has one; an entry
    // is cleared when its block is dropped.
    struct BlockCacheEntry {
        uint64_t pa = ~0ull;
        interp::Block* block = nullptr;
        const void* code = nullptr;
    };
    static constexpr size_t kBlockCacheSize = 32768;

    interp::CodeCache m_cache;
    std::vector<BlockCacheEntry> m_block_cache = std::vector<BlockCacheEntry>(kBlockCacheSize);
    CodeBuffer m_code;
    SlotArena m_slots;
    std::vector<ExitSlot> m_jump_cache = std::vector<ExitSlot>(kJumpCacheSize);
    std::unique_ptr<Emitter> m_emitter;  // created on the first attach (needs a Hart's layout)
    std::unique_ptr<Translator> m_translator;  // with JitConfig::background, after m_emitter
    Emitter::Stats m_stats;
    EnterFn m_enter = nullptr;
    const void* m_link_stub = nullptr;
    size_t m_code_base = 0;  // buffer use by the trampoline, kept across flushes
    uint64_t m_retired = 0;
    uint64_t m_flushes = 0;
    std::FILE* m_perf_map = nullptr;  // TRAPEZE_PERF_MAP=1: /tmp/perf-PID.map for `perf report`
    uint64_t m_dispatches = 0;  // entries into translated code from the dispatcher
    uint64_t m_fills = 0;       // of which to fill an exit slot
    uint64_t m_side_entries = 0;  // blocks whose code is an entry into a region headed elsewhere
    uint64_t m_interpreted = 0;  // blocks run through the interpreter's semantics
    uint64_t m_lookups = 0;
    uint32_t m_translate_after = 0;
    bool m_background = false;
};

}  // namespace trapeze::rv64::jit
