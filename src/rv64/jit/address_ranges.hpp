// Where a block's loads and stores reach, relative to a base register: what access groups
// (emit_memory.cpp) are planned from. Besides base + imm, an access through an address
// computed in the block as base + a bounded index (an element of a small array indexed by a
// masked counter, as in SHA-2's message schedule W[t & 15], or a table indexed by a byte, as
// in CRC and AES) is placed at base + [lo, hi] + imm, so it can share its base's probe.
#pragma once

#include <cstdint>
#include <vector>

#include "rv64/interp/code_cache.hpp"
#include "rv64/isa/op.hpp"

namespace trapeze::rv64::jit {

// The size of a load or store the emitter translates inline (emit_memory), or 0.
inline unsigned access_size(Op op) {
    switch (op) {
        case Op::lb: case Op::lbu: case Op::sb: return 1;
        case Op::lh: case Op::lhu: case Op::sh: return 2;
        case Op::lw: case Op::lwu: case Op::sw: return 4;
        case Op::ld: case Op::sd: return 8;
        default: return 0;
    }
}

// Instruction i of a block, if it is a load or store: its bytes lie in
// [x[base] + lo, x[base] + end), x[base] being the base register's value at the access,
// which the block has not written since the address was computed from it. base 0: not an
// access, or one off x0.
struct AccessRange {
    unsigned base = 0;
    int64_t lo = 0;
    int64_t end = 0;
};

// One per instruction of b. With through_indices false, every access is placed at
// rs1 + [imm, imm + size); with it true, also through addresses computed from a base and a
// bounded index (see the file comment).
std::vector<AccessRange> access_ranges(const interp::Block& b, bool through_indices);

}  // namespace trapeze::rv64::jit
