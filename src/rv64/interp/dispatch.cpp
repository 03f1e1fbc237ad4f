#include "rv64/interp/dispatch.hpp"

#include <array>

#include "rv64/interp/exec.hpp"
#include "rv64/isa/op.hpp"

namespace trapeze::rv64::interp {

namespace {

constexpr std::array kExec = {
#define INSN(name, mnem, mask, match, fmt, dest) &exec_##name,
#include "rv64/isa/insns.inc"
#undef INSN
    &exec_illegal,  // Op::invalid
};

}  // namespace

ExecFn exec_for(const DecodedInsn& d) { return kExec[d.op]; }

bool ends_block(const DecodedInsn& d) {
    switch (static_cast<Op>(d.op)) {
        case Op::jal: case Op::jalr:
        case Op::beq: case Op::bne: case Op::blt: case Op::bge: case Op::bltu: case Op::bgeu:
        case Op::ecall: case Op::ebreak: case Op::mret: case Op::sret: case Op::wfi:
        case Op::sfence_vma: case Op::fence_i:
        case Op::csrrw: case Op::csrrs: case Op::csrrc: case Op::csrrwi: case Op::csrrsi: case Op::csrrci:
        case Op::invalid:
            return true;
        default:
            return false;
    }
}

bool starts_block(const DecodedInsn& d) {
    switch (static_cast<Op>(d.op)) {
        case Op::csrrw: case Op::csrrs: case Op::csrrc: case Op::csrrwi: case Op::csrrsi: case Op::csrrci:
            return true;
        default:
            return false;
    }
}

}  // namespace trapeze::rv64::interp
