// Jit: the `--engine jit` CPU engine, a dynamic binary translator from RISC-V to x86-64.
// Same shape as interp::Interpreter: attach every hart, then run(hart, budget) in slices.
//
// Translation units are the interpreter's decoded blocks (interp::CodeCache: keyed by the
// guest-physical pc, never crossing a page), so both engines agree on block boundaries,
// code invalidation (CodeWatch and GuestMemory's write observer) and where interrupts are
// taken. A translation depends only on the physical code: privilege, translation mode and
// ASID change what the loads and stores see, and emitted code reads the hart's current TLB
// view and ASID at run time, so one translation serves every mode — and every hart.
//
// One Jit per machine: its code cache, code buffer, translations and Translator are shared
// by all harts, whether they take turns on one thread or run on threads of their own (a
// block translated for one hart runs on all of them). What a hart's dispatcher caches is the
// hart's own (HartContext): the block cache, the jump cache and the exit slots of jumps across
// pages, whose validity depends on the hart's own translation (its fetch key); translated
// code reaches the last two off the Hart pointer (Hart::engine). Direct jumps within a page
// are patched into the shared code (valid for every hart: both blocks are in one physical
// page). The shared state is changed under the code cache's mutex; the dispatchers' fast paths
// (translated code, block-cache hits, links) take no lock. A flush frees every block and
// translation at once, inside the code cache's ExclusiveSection.
//
// Thread: run(h) on hart h's thread, concurrently for different harts; with
// JitConfig::background the emitter runs on the Translator's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/huge_region.hpp"
#include "base/page_allocator.hpp"
#include "base/result.hpp"
#include "rv64/hart.hpp"
#include "rv64/interp/code_cache.hpp"
#include "rv64/jit/code_buffer.hpp"
#include "rv64/jit/emitter.hpp"
#include "rv64/jit/exit_slot.hpp"
#include "rv64/jit/translator.hpp"

namespace trapeze::rv64::jit {

struct JitConfig {
    // Flushed and refilled when full; resident only as far as filled (CodeBuffer maps a MiB
    // at a time). A Debian boot fills about 21 MiB, one `gcc -O2 -c` of Lua's parser in the
    // guest another 80 MiB (bench/programs.sh): at 64 MiB that compile flushed twice and took
    // 7.0 s instead of 5.6 s. QEMU's system-mode default is 1 GiB.
    size_t code_bytes = 256u << 20;
    size_t exit_slots = 1u << 20;
    // A block runs through the interpreter's semantics this many times before it is
    // translated: most of a boot's code runs a handful of times, and translating a block
    // costs as much as interpreting it about a hundred times.
    uint32_t translate_after = 16;
    // A block whose translation waits in the Translator's queue is translated on the hart thread
    // once it has run this many times (through the interpreter's semantics meanwhile): when the
    // harts keep every core busy, the translator thread (nice 10, see Translator) gets a
    // twentieth of a core, and a hot loop ran interpreted for a long time. Measured on 2 cores,
    // bench/smp.sh's 2 harts: one loop block ran interpreted 1.2M times waiting for its code.
    // Translating costs about what a hundred interpreted runs do, so this bounds the loss.
    uint32_t steal_after = 1024;
    // Translations are made on a thread of their own (Translator) while the hart thread runs
    // their blocks through the interpreter's semantics; else in line, when first needed (so
    // when a block starts running native code depends on nothing but the guest: for tests).
    bool background = false;
    // Harts run on threads of their own (runloop::HartThreads), so another thread (a hart
    // writing the CLINT's msip for an IPI or a remote fence, the I/O thread raising a PLIC
    // line) may raise a hart's pin while its translated code runs. Translated code looks only
    // at its budget, so the dispatcher then enters it with at most kPromptUnits of the slice
    // at a time and looks at the pins in between (see Jit::dispatch).
    bool prompt_interrupts = false;
    // How long the translator thread, with nothing to do, naps (waits without needing a wakeup
    // from the hart thread that next submits a job) before it sleeps (Translator).
    std::chrono::microseconds translator_naps_for = Translator::kNapFor;
};

class Jit {
public:
    // Debug: the hart stopped for the debugger (Hart::debug_event), before its pc.
    enum class Exit { Budget, Wfi, Debug };

    // Room that must be free before a block is translated: a block of the longest
    // instructions fits (JitBounds.AFullBlockOfEveryInstructionFits), the emitter's scratch
    // buffer is larger still.
    static constexpr size_t kMaxBlockBytes = 1024 * interp::CodeCache::kMaxBlockInsns;

    static Result<std::unique_ptr<Jit>> create(GuestMemory& mem, const JitConfig& cfg = {});
    Jit(const Jit&) = delete;
    Jit& operator=(const Jit&) = delete;
    ~Jit();

    // Every hart, before any of them runs.
    void attach(Hart& h);
    // Runs h for about `budget` instructions (exactly as many blocks as the interpreter
    // would), or until it waits in WFI.
    Exit run(Hart& h, uint64_t budget);

    // Forgets every block and translation at once (RAM was replaced under the harts); the
    // caller runs no hart meanwhile.
    void flush_code() {
        m_cache.exclusive().enter();
        flush(true);
        m_cache.exclusive().leave();
    }

    // With JitConfig::background: returns once every translation asked for is made (the next
    // run() installs them). For tests.
    void wait_for_translations() {
        if (m_translator != nullptr) m_translator->wait_idle();
    }
    // For tests: the Translator starts no job while held (wait_for_translations would wait
    // for ever).
    void hold_translator(bool held) {
        if (m_translator != nullptr) m_translator->hold(held);
    }

    uint64_t retired() const { return sum(&Counters::retired); }
    uint64_t dispatches() const { return sum(&Counters::dispatches); }  // entries into translated code
    uint64_t side_entries() const { return m_side_entries.load(std::memory_order_relaxed); }
    uint64_t lookups() const { return sum(&Counters::lookups); }  // blocks found by pc (not by a link)
    // Translations a hart thread made of a block whose job was still queued (steal_after).
    uint64_t stolen() const { return m_stolen.load(std::memory_order_relaxed); }
    // Translations the Translator copied into the code buffer itself (Translator::Placer).
    uint64_t placed() const { return m_placed.load(std::memory_order_relaxed); }
    // Times a hart thread had to wake the sleeping Translator (Translator::wakeups).
    uint64_t translator_wakeups() const { return m_translator != nullptr ? m_translator->wakeups() : 0; }
    // How long the Translator's jobs waited to be started (all zero without a Translator).
    Translator::Waits translator_waits() const { return m_translator != nullptr ? m_translator->waits() : Translator::Waits{}; }
    interp::CodeCache& cache() { return m_cache; }
    Emitter::Stats stats() const;
    uint64_t flushes() const { return m_flushes.load(std::memory_order_relaxed); }
    std::string summary() const;

private:
    using EnterFn = ExitSlot* (*)(Hart* h, const void* code, RunState* st);
    // Indexed by a hash of the virtual pc (Emitter's exit_indirect). Measured on a Debian
    // systemd boot to the login prompt, 1 hart: 3.3M jump-cache misses that went through the
    // dispatcher at 32768 entries indexed by pc bits 1-15, 2.6M at 65536 hashed (1.8M of
    // the rest are slots whose fetch key went stale with no fetch-TLB entry left to recheck).
    static constexpr size_t kJumpCacheSize = 65536;
    // A region's instructions, all its blocks together. Blocks may be longer (a region of
    // one); larger regions were measured no faster on bench/programs.sh. Nor was counting
    // only the blocks a region keeps against it (a walk twice as far, so that a loop's way
    // out, an epilogue reached first, no longer crowds out blocks of the loop, as it did in
    // xz's match finder): xz 0.977 of the build before in 20 alternating rounds, the suite's
    // geomean 1.023 and 0.983 in two of 8.
    static constexpr size_t kMaxRegionInsns = 64;
    static constexpr size_t kMaxBlockSlots = 2 * interp::CodeCache::kMaxBlockInsns;

    // Direct-mapped cache in front of the code cache's hash map for the dispatcher's
    // lookups by guest-physical pc, with the block's translation once it has one. Written by
    // its hart under the cache's mutex; an entry is reset (under the mutex) by whichever
    // thread drops its block, so fields are read and written as relaxed atomics (a torn read
    // is either a miss or a block that was live a moment ago). An entry without a block is
    // empty: all zeroes, as the table starts (PageArray).
    struct BlockCacheEntry {
        uint64_t pa;
        interp::Block* block;
        const void* code;
    };
    // Measured on the same boot: 1.43M misses into the code cache's index (each under its
    // mutex) at 32768 entries indexed by pa bits 1-15, 0.59M at 65536 with block_cache_index
    // (a page frame number folded in: blocks 64 KiB apart no longer always share an entry),
    // 0.45M at 131072. The table (1.5 MiB) is in huge pages (Pages::huge, 2 MiB resident per
    // hart once used): a lookup's entry was a host cache miss and, in 4 KiB pages, as often a
    // host TLB miss, 41% of the dispatcher loop's samples in a gcc compile in the guest; gcc ran
    // 1.036 times as fast (faster in 7 of 10 alternating rounds), python3 1.035, sqlite3 1.012.
    // The soft TLB stays in 4 KiB pages (Hart::m_tlb_memory: xz was slower in huge ones).
    static constexpr size_t kBlockCacheSize = 65536;

    // Event counts, each written by its hart's thread only (relaxed: read for statistics).
    struct Counters {
        std::atomic<uint64_t> retired{0};
        std::atomic<uint64_t> dispatches{0};   // entries into translated code from the dispatcher
        std::atomic<uint64_t> fills{0};        // of which to fill an exit slot
        std::atomic<uint64_t> interpreted{0};  // blocks run through the interpreter's semantics
        std::atomic<uint64_t> lookups{0};
    };
    static void add(std::atomic<uint64_t>& c, uint64_t n) {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

    // What one hart keeps. exit_slots and jump_cache are ExitSlots that only emitted code and
    // this hart's dispatcher fill; zeroed memory is an unfilled slot (see ExitSlot).
    struct HartContext {
        Hart* hart = nullptr;
        PageArray<BlockCacheEntry> block_cache{kBlockCacheSize, Pages::huge};
        HugeRegion exit_slots;  // by the index SlotArena::alloc_cross gave the exit
        HugeRegion jump_cache;  // kJumpCacheSize slots, by virtual pc
        Counters counters;
    };

    Jit(GuestMemory& mem, CodeBuffer code, const JitConfig& cfg);
    static HartContext& context(Hart& h) { return *static_cast<HartContext*>(h.engine.context); }
    uint64_t sum(std::atomic<uint64_t> Counters::* c) const;
    void init(Hart& h);
    Exit dispatch(Hart& h, uint64_t budget);
    bool needs_flush() const;
    void flush(bool always = false);
    void translate(interp::Block& b, Hart& h);
    void prepare_crossing(interp::Block& b, const Hart& h);
    std::vector<const interp::Block*> region(const interp::Block& b);
    struct Translation {
        std::span<const uint8_t> code;  // as emitted, unless `placed`
        size_t hot_size;                // Emitter::hot_size
        std::span<const uint32_t> cross;  // Emitter::cross
        std::span<const Emitter::Patch> patches;
        std::span<const Emitter::Entry> entries;
        size_t blocks;
        size_t size = 0;                 // of the code if `placed`
        CodeBuffer::Placed placed = {};  // in the code buffer already, by the Translator (place)
    };
    void install(interp::Block& head, const Translation& t);
    CodeBuffer::Placed place(std::span<const uint8_t> code, size_t hot, std::span<const uint32_t> cross);
    // What the buffer keeps free for a hart's own translation (dispatch() flushes below it):
    // the largest, and the alignment of each of its two parts.
    static constexpr size_t kKeepFree = CodeBuffer::room_for(kMaxBlockBytes);
    void install_finished();
    void open_perf_files();
    void write_perf_map(const interp::Block& b, const CodeBuffer::Placed& code, size_t size, size_t blocks);
    void write_perf_part(const std::string& name, const void* code, size_t size);
    BlockCacheEntry* lookup(Hart& h);  // null: the fetch faulted (the trap is taken)
    const void* code_for(BlockCacheEntry& e, Hart& h);
    bool wants_translation(const interp::Block& b) const;
    interp::Block* interpret(Hart& h, interp::Block& b, RunState& st);
    ExitSlot* enter(Hart& h, const void* code, uint64_t budget, RunState& st);
    void fill(ExitSlot& slot, const Hart& h, interp::Block& b);
    void wait_for_code(ExitSlot& slot, const Hart& h, interp::Block& b);
    bool attach(ExitSlot& slot, const Hart& h, interp::Block& b);
    void join(ExitSlot& slot, interp::Block& b);
    void link_new_slot(ExitSlot& slot, uint64_t target_pa);
    void lead_to(ExitSlot& slot, const void* code);
    void link_waiting(const interp::Block& b);
    void unlink(ExitSlot& slot);
    void on_drop(interp::Block& b);
    static size_t block_cache_index(uint64_t pa) {
        return ((pa >> 1) ^ (pa >> 15) ^ (pa >> 29)) % kBlockCacheSize;
    }

    interp::CodeCache m_cache;
    CodeBuffer m_code;  // appended to and patched under m_cache.mutex()
    SlotArena m_slots;
    std::unique_ptr<Emitter> m_emitter;  // created on the first attach (needs a Hart's layout)
    std::unique_ptr<Translator> m_translator;  // with JitConfig::background, after m_emitter
    // install_finished's jobs, kept for the capacity it hands back to the Translator.
    std::vector<Translator::Job> m_finished_jobs;
    // With a Translator (which has m_emitter to itself), the hart threads' emitter for the
    // blocks they take back from its queue; used under m_cache.mutex().
    std::unique_ptr<Emitter> m_hart_emitter;
    std::vector<std::unique_ptr<HartContext>> m_contexts;
    Emitter::Stats m_stats;  // under m_cache.mutex()
    EnterFn m_enter = nullptr;
    const void* m_link_stub = nullptr;
    uint64_t m_code_base = 0;  // buffer use by the trampoline (CodeBuffer::mark), kept across flushes
    std::atomic<uint64_t> m_flushes{0};
    std::atomic<uint64_t> m_stolen{0};
    std::atomic<uint64_t> m_placed{0};  // translations installed where the Translator put them
    std::atomic<uint64_t> m_side_entries{0};  // blocks whose code is an entry into a region headed elsewhere
    std::FILE* m_perf_map = nullptr;  // TRAPEZE_PERF_MAP=1: /tmp/perf-PID.map for `perf report`
    std::FILE* m_perf_code = nullptr;  // and /tmp/perf-PID.code, the code itself (tools/jit-profile)
    uint32_t m_translate_after = 0;
    uint32_t m_steal_after = 0;
    size_t m_exit_slots = 0;
    bool m_background = false;
    bool m_prompt_interrupts = false;  // JitConfig::prompt_interrupts
    // With prompt_interrupts, the most budget units (about instructions) one entry into
    // translated code may use: the dispatcher looks at the pins after each, so a pin another
    // thread raises is seen within about 25 us of translated code instead of the slice's 100.
    // Measured on 2 cores, 2 harts (Debian's kernel; medians): a guest mprotect() pair, each
    // a remote fence that OpenSBI sends to the other hart and waits for, 102-110 us against
    // 179-217 us with whole slices (QEMU's MTTCG: 254); 20,000 gained no more and cost
    // cpubench's 2-hart batch 4% (11 runs), 50,000 nothing measurable.
    static constexpr uint64_t kPromptUnits = 50'000;
    std::chrono::microseconds m_translator_naps_for;
};

}  // namespace trapeze::rv64::jit
