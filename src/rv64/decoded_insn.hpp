// DecodedInsn: one pre-decoded instruction, the unit the interpreter executes.
//
// Decoding happens once per block (decoder.cpp); execution calls `fn`, which
// returns true to continue with the next instruction of the block, or false to
// leave the block (taken branch/jump: pc already set; trap: raised; state change
// that can alter translation or interrupt delivery).
#pragma once

#include <cstdint>

namespace trapeze::rv64 {

class Hart;
struct DecodedInsn;

using ExecFn = bool (*)(Hart& h, const DecodedInsn& d);

struct DecodedInsn {
    ExecFn fn = nullptr;   // this instruction alone (the JIT's fallback, traces)
    ExecFn tfn = nullptr;  // threaded: this instruction, then the rest of its block (interp::threaded)
    int32_t imm = 0;   // sign-extended immediate; CSR number for CSR ops; shift amount for SH
    uint8_t rd = 0;    // for X destinations, 0 is replaced by 32 (the write sink)
    uint8_t rs1 = 0;   // also the uimm of csrr*i
    uint8_t rs2 = 0;
    uint8_t rs3 = 0;
    uint8_t rm = 0;    // funct3: rounding mode for F/D
    uint8_t len = 4;   // 2 for compressed instructions
    uint16_t op = 0;   // index in the encoding table (Op enum)
    uint32_t raw = 0;  // the 32-bit (expanded) encoding; mtval of an illegal instruction uses the original
};

}  // namespace trapeze::rv64
