// Which x registers of a loop region hold a value that came from memory: what decides which of
// its loads and stores get page memos (emit_memory.cpp). A memo pays where an access stays in
// one page from one iteration to the next: an array stepped through, a stack frame, a buffer
// being filled. An address computed from a loaded value (a tree or list node, a hash chain, a
// match position read from a dictionary, as in LZMA's binary-tree match finder) lands on
// another page nearly every time; its memo then misses, so the access pays the memo's compare,
// its branch and its update on top of the probe it was to save. Such accesses probe inline.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rv64/decoded_insn.hpp"
#include "rv64/interp/code_cache.hpp"

namespace trapeze::rv64::jit {

// Bit x set: x register x holds a chased value, one loaded from memory or computed from one.
using Chased = uint32_t;

// Whether x register x is chased in c (x0 never is).
inline bool is_chased(Chased c, unsigned x) { return x != 0 && x < 32 && ((c >> x) & 1) != 0; }

// Which of d's rs1 and rs2 it reads as x registers, by its format: R, S and B read both, I and
// SH rs1. Only a heuristic for FP operations, whose f sources are counted as x registers.
struct XSources {
    bool rs1 = false;
    bool rs2 = false;
};
XSources x_sources(const DecodedInsn& d);

// The x registers the region's blocks write (x0 never): the others hold what they held when
// the loop was entered, for all of its iterations.
Chased written_in(std::span<const interp::Block* const> blocks);

// The chased registers after d, given those before it and the registers its region writes.
// A load's destination is chased when its address moves, that is when its base is written in
// the region: a field read again through a pointer the loop never changes (as compiled code
// does where a store might have changed it) holds the same value each time, whose page the
// memo keeps. A result of at most 16 bits (a byte or halfword loaded, a field masked or
// shifted out) is not chased: it indexes a table or a window of few pages. A pointer stepped
// by a constant (addi rd, rd, imm) is not chased, as it walks on from where it was; any other
// result is chased when one of its sources is.
Chased chase(const DecodedInsn& d, Chased before, Chased written);

// Per block of a region (its blocks in any order, linked by static jumps within the page):
// the registers chased on every path into it from the region's own blocks. Entries from
// outside the region are not counted: a loop takes its back edges far more often than it is
// entered. A block no other block of the region reaches has none chased.
// `written`: written_in(blocks).
std::vector<Chased> chased_at_entry(std::span<const interp::Block* const> blocks, Chased written);

}  // namespace trapeze::rv64::jit
