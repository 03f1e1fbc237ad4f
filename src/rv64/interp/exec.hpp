// Declarations of the interpreter's instruction semantics: exec_<name> for every
// line of insns.inc. Implementations are grouped per extension:
//   exec_i.cpp (RV64I, M, Zba/Zbb/Zbs), exec_a.cpp (A), exec_system.cpp (Zicsr,
//   Zifencei, privileged, Zicbo*), exec_fp.cpp (F, D).
#pragma once

#include "rv64/decoded_insn.hpp"
#include "rv64/hart.hpp"

namespace trapeze::rv64::interp {

#define INSN(name, mnem, mask, match, fmt, dest) bool exec_##name(Hart& h, const DecodedInsn& d);
#include "rv64/isa/insns.inc"
#undef INSN

// Executes an instruction that failed to decode: raises illegal instruction.
bool exec_illegal(Hart& h, const DecodedInsn& d);

// Op::crossing: fetches the upper half through the current translation, then decodes and
// runs the whole instruction.
bool exec_crossing(Hart& h, const DecodedInsn& d);

}  // namespace trapeze::rv64::interp
