// Emitter: turns one decoded block (interp::Block) into x86-64 code with xbyak.
//
// Guest registers stay in HartState (reached off rbx, see RunState for the pinned
// registers); every instruction either has an emit_<mnemonic> or is run through the
// interpreter's semantics (exec_for) by a call, so coverage grows one instruction at a time.
// The code is position-independent and is copied into the CodeBuffer by the caller, in two
// parts whose jumps to each other the copy rewrites (hot_size, cross).
//
// Thread: one at a time (the hart thread, or the Jit's Translator thread).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>

#include "rv64/interp/code_cache.hpp"
#include "rv64/jit/exit_slot.hpp"
#include "rv64/jit/layout.hpp"

namespace trapeze::rv64::jit {

class Emitter {
public:
    struct Stats {
        uint64_t blocks = 0;      // translations
        uint64_t regions = 0;     // of which covering more than one block
        uint64_t translated = 0;  // instructions with native code
        uint64_t fallbacks = 0;   // instructions calling the interpreter's semantics
        uint64_t shared_probes = 0;  // loads and stores in groups sharing one TLB probe
        uint64_t memo_accesses = 0;  // loads and stores through a loop region's page memo
        uint64_t pinned_memos = 0;   // blocks jumping to themselves with a memo's addend in rsi
        uint64_t wide = 0;           // translations caching ten registers (pc and budget in the frame)
        uint64_t largest = 0;        // bytes of the largest translation

        Stats& operator+=(const Stats& o) {
            blocks += o.blocks;
            regions += o.regions;
            translated += o.translated;
            fallbacks += o.fallbacks;
            shared_probes += o.shared_probes;
            memo_accesses += o.memo_accesses;
            pinned_memos += o.pinned_memos;
            wide += o.wide;
            largest = std::max(largest, o.largest);
            return *this;
        }
    };

    Emitter(const Layout& layout, SlotArena& slots, uint64_t jump_cache_mask);
    ~Emitter();
    Emitter(const Emitter&) = delete;
    Emitter& operator=(const Emitter&) = delete;

    // The entry trampoline `void* enter(Hart*, const void* code, RunState*)`. Its epilogue,
    // which every exit jumps to with rax = the ExitSlot to fill (or null), is at
    // epilogue_offset; the link stub, where unfilled slots lead (rdx = the slot), at
    // link_stub_offset; the fetch recheck of a cross-page slot whose key is stale (rdx = the
    // slot, rbp = its pc), at recheck_offset.
    struct Trampoline {
        std::span<const uint8_t> code;
        size_t epilogue_offset = 0;
        size_t link_stub_offset = 0;
        size_t recheck_offset = 0;
    };
    Trampoline emit_trampoline();
    void set_trampoline(const void* epilogue, const void* link_stub, const void* recheck);

    // The translation of a region (valid until the next call), or an empty span if it did not
    // fit: blocks[0], the head, where the code is entered, and blocks of the same guest page
    // that lead back to it (Jit::region picks them), which its exits jump to directly. Its
    // figures are added to `stats`. Reads only the blocks' pa, insns and crossing, so it may
    // run on another thread than the one running the blocks (see Translator).
    std::span<const uint8_t> emit_region(std::span<const interp::Block* const> blocks, Stats& stats);
    // The last block's direct jumps: the rel32 at `offset` in its code jumps to the slot's
    // successor once the slot is filled (Jit::fill patches it; until then it leads to the
    // way back to the dispatcher in the cold part).
    struct Patch {
        ExitSlot* slot;
        size_t offset;
        uint32_t target_page_off;  // the successor's offset in the (region's one) page
    };
    std::span<const Patch> patches() const;
    // The last loop region's entries at its other blocks, at `offset` in its code: entered as
    // the head is (rbp = that block's pc, nothing cached), they load the canonical registers
    // and jump to the block. Jit::install makes each the code of its block, unless that block
    // has code already, so a loop entered at different blocks runs one translation, not one
    // per block (which would multiply its host code and the branch predictor's work).
    struct Entry {
        uint64_t pa;
        size_t offset;
    };
    std::span<const Entry> entries() const;
    // The last translation in two parts (CodeBuffer::place_split): its first hot_size() bytes
    // run, the rest is its cold code (slow paths, traps, the way out to the dispatcher), and
    // the rel32 displacements at the offsets cross() are those of the jumps between the two.
    // hot_size() is the whole size where the parts cannot be placed apart.
    size_t hot_size() const;
    std::span<const uint32_t> cross() const;

    // The page memo (in the trampoline's frame) that a loop region's load or store at
    // guest-physical address pa uses: the same in every region containing the instruction.
    static unsigned memo_slot(uint64_t pa, bool store);

private:
    class Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace trapeze::rv64::jit
