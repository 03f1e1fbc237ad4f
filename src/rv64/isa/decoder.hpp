// The decoder: raw encodings to DecodedInsn, driven by the table in insns.inc.
// Compressed (C) instructions are first expanded to their 32-bit equivalents
// (unpriv spec ch. 16, "RVC instruction set listings").
#pragma once

#include <cstdint>
#include <string>

#include "rv64/decoded_insn.hpp"
#include "rv64/isa/op.hpp"

namespace trapeze::rv64 {

// Expands a 16-bit RVC parcel to the equivalent 32-bit instruction; 0 if reserved/illegal.
uint32_t expand_compressed(uint16_t c);

// Finds the table entry for a 32-bit encoding (Op::invalid if none).
Op lookup_op(uint32_t raw);

// Decodes one instruction. `raw` is the 32-bit encoding or a 16-bit parcel (when
// (raw & 3) != 3). The result's fn is set by the engine (see interp::exec_for).
DecodedInsn decode(uint32_t raw);

// "addi x10, x11, -3" style text for traces and test failures.
std::string disassemble(const DecodedInsn& d);

}  // namespace trapeze::rv64
