// Op: one enumerator per line of insns.inc, plus the table itself as data.
#pragma once

#include <cstdint>
#include <span>

namespace trapeze::rv64 {

enum class Op : uint16_t {
#define INSN(name, mnem, mask, match, fmt, dest) name,
#include "rv64/isa/insns.inc"
#undef INSN
    invalid,
    // Not an encoding: a 32-bit instruction whose upper half lies in the next page. Its
    // block holds only the lower half (raw) and fetches the rest each time it runs.
    crossing,
};

enum class Format : uint8_t { R, R4, I, S, B, U, J, SH, CSR, NONE };
enum class Dest : uint8_t { X, F, N };

struct OpInfo {
    Op op;
    const char* mnemonic;
    uint32_t mask;
    uint32_t match;
    Format format;
    Dest dest;
};

std::span<const OpInfo> op_table();
const char* mnemonic(Op op);

}  // namespace trapeze::rv64
