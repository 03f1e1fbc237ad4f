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

// Whether a FENCE (unpriv spec §2.7) orders earlier stores before later loads: the one
// ordering an x86-64 host (TSO) does not give by itself, so the only one that costs an
// instruction. imm[7:4] is the predecessor set, imm[3:0] the successor set (bits I O R W);
// FENCE.TSO (fm = 1000) orders everything except exactly that.
inline bool fence_orders_store_to_load(const DecodedInsn& d) {
    const auto imm = static_cast<uint32_t>(d.imm) & 0xfff;
    const uint32_t fm = imm >> 8, pred = (imm >> 4) & 0xf, succ = imm & 0xf;
    constexpr uint32_t kStores = 0b0101;  // O, W
    constexpr uint32_t kLoads = 0b1010;   // I, R
    return fm != 0b1000 && (pred & kStores) != 0 && (succ & kLoads) != 0;
}

}  // namespace trapeze::rv64
