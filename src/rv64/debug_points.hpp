// DebugPoints: a debugger's breakpoints and watchpoints, as the harts and engines of one
// machine see them (the gdb stub sets them: src/gdb/riscv_target).
//
// Breakpoints are virtual addresses, compared with a hart's pc before the instruction there
// runs. Decoded blocks are keyed by physical address, and one block may run under several
// mappings, so the code caches cannot know which of their blocks a virtual breakpoint falls
// in; but a block never crosses a page, and an address's offset in its page is the same in
// every mapping. So every block is ended before an instruction at the page offset of any
// breakpoint, a block that starts at such an offset is marked (Block::debug_check) and the
// engines compare the hart's pc with the breakpoints before they run a marked block; the JIT
// never translates marked blocks, so the translated code around a breakpoint keeps running
// translated and only the blocks at its offset run through the interpreter's semantics.
//
// Watchpoints are virtual ranges checked in the harts' memory slow paths: a hart caches no TLB
// entry for a page a watchpoint covers (for the kind of access watched), so every such access
// of either engine reaches Hart::load_slow/store_slow/amo_pointer, which stops the hart before
// the access happens (Hart::debug_event), with pc at the instruction. That is where RISC-V's
// own triggers stop (debug spec, Sdtrig `timing` 0) and what gdb's riscv target expects: it
// treats watchpoints as non-steppable, removes them, steps the instruction and compares the
// values itself.
//
// Thread: changed only while every hart is paused (pause rendezvous: the harts see the change
// when they resume); read by the hart threads. Each change bumps a generation, which the
// machine compares between slices to flush TLBs (watchpoints) and re-split code (breakpoints).
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace trapeze::rv64 {

enum class WatchKind : uint8_t { Write = 1, Read = 2, Access = 3 };

struct Watchpoint {
    uint64_t addr = 0;
    uint64_t len = 0;
    WatchKind kind = WatchKind::Write;
};

class DebugPoints {
public:
    // False if it is already there (or, for removal, not there).
    bool add_breakpoint(uint64_t va);
    bool remove_breakpoint(uint64_t va);
    bool add_watchpoint(const Watchpoint& w);
    bool remove_watchpoint(const Watchpoint& w);
    void clear();

    bool is_breakpoint(uint64_t va) const;
    // Some breakpoint's address has this page offset (2-byte granules: instructions are).
    bool offset_has_breakpoint(uint64_t addr) const { return m_offsets[(addr & 0xfff) >> 1]; }
    const std::bitset<2048>& breakpoint_offsets() const { return m_offsets; }
    bool has_breakpoints() const { return !m_breakpoints.empty(); }
    size_t breakpoints() const { return m_breakpoints.size(); }

    bool has_watchpoints() const { return !m_watchpoints.empty(); }
    size_t watchpoints() const { return m_watchpoints.size(); }
    // The watchpoint an access of [va, va+size) hits, if any; `write` says which kinds apply.
    const Watchpoint* watch_hit(uint64_t va, uint64_t size, bool write) const;
    // Whether any watchpoint of a kind that applies touches the 4 KiB page of `va`.
    bool watches_page(uint64_t va, bool write) const;

    uint64_t breakpoint_generation() const { return m_breakpoint_gen; }
    uint64_t watchpoint_generation() const { return m_watchpoint_gen; }

private:
    absl::flat_hash_set<uint64_t> m_breakpoints;  // a hart looks one up when its offset matches
    std::vector<Watchpoint> m_watchpoints;
    std::bitset<2048> m_offsets;
    std::array<uint32_t, 2048> m_at_offset{};  // breakpoints per offset: m_offsets without a rescan
    uint64_t m_breakpoint_gen = 0;
    uint64_t m_watchpoint_gen = 0;
};

}  // namespace trapeze::rv64
