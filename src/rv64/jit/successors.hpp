// The static successors of a block within its page: what a region (Jit::region) is built
// from and what the emitter weighs its registers by (how short a loop each block is on).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rv64/interp/code_cache.hpp"
#include "rv64/interp/dispatch.hpp"
#include "rv64/isa/op.hpp"

namespace trapeze::rv64::jit {

// The guest-physical addresses b's last instruction continues at, when known statically
// (branches, jal, a block cut short by its size or by a CSR instruction) and in b's page.
struct Successors {
    std::array<uint64_t, 2> pa{};
    size_t n = 0;
    void add(uint64_t at, uint64_t page) {
        if (at >> 12 == page) pa[n++] = at;
    }
    const uint64_t* begin() const { return pa.data(); }
    const uint64_t* end() const { return pa.data() + n; }
};

inline Successors static_successors(const interp::Block& b) {
    Successors out;
    int64_t end = 0;
    for (const DecodedInsn& d : b.insns) end += d.len;
    const DecodedInsn& last = b.insns.back();
    const int64_t at = end - last.len;
    const uint64_t page = b.pa >> 12;
    switch (static_cast<Op>(last.op)) {
        case Op::beq: case Op::bne: case Op::blt: case Op::bge: case Op::bltu: case Op::bgeu:
            out.add(b.pa + static_cast<uint64_t>(end), page);
            out.add(b.pa + static_cast<uint64_t>(at + last.imm), page);
            break;
        case Op::jal: out.add(b.pa + static_cast<uint64_t>(at + last.imm), page); break;
        case Op::crossing: break;
        default:
            if (!interp::ends_block(last)) out.add(b.pa + static_cast<uint64_t>(end), page);
            break;
    }
    return out;
}

}  // namespace trapeze::rv64::jit
