#include "rv64/interp/dispatch.hpp"

#include <array>

#include "rv64/interp/code_cache.hpp"
#include "rv64/interp/exec.hpp"
#include "rv64/isa/decoder.hpp"
#include "rv64/isa/op.hpp"

namespace trapeze::rv64::interp {

namespace {

constexpr std::array kExec = {
#define INSN(name, mnem, mask, match, fmt, dest) &exec_##name,
#include "rv64/isa/insns.inc"
#undef INSN
    &exec_illegal,  // Op::invalid
    &exec_crossing,
};

// Loads and stores may reach a device whose line then rises (a virtio queue notify served at
// once, a CLINT msip write): the hart leaves its block right after such an instruction, as
// translated code does (jit: a slow path that raised Hart::attention), so that both engines take
// the interrupt at the same instruction (record and replay need it: machine::HostInputs).
constexpr bool leaves_on_attention(Op op) {
    switch (op) {
        case Op::lb: case Op::lh: case Op::lw: case Op::ld: case Op::lbu: case Op::lhu: case Op::lwu:
        case Op::sb: case Op::sh: case Op::sw: case Op::sd:
        case Op::flw: case Op::fsw: case Op::fld: case Op::fsd:
            return true;
        default:
            return false;
    }
}

// Runs F; on success moves pc on and continues with the next instruction of the block as a
// sibling call (a jump), so a block runs without returning to the dispatcher. A false from F
// (trap, taken branch, block end) records which instruction it was and unwinds at once; so does
// a load or store (Attention) after which a device line rose, but as retired.
// The block's last instruction (Last) returns instead of continuing.
template <ExecFn F, bool Last = false, bool Attention = false>
bool threaded(Hart& h, const DecodedInsn& d) {
    if (!F(h, d)) [[unlikely]] {
        h.exit_insn = &d;
        return false;
    }
    h.s.pc += d.len;
    if constexpr (Attention) {
        if (h.attention()) [[unlikely]] {
            h.exit_insn = &d;
            return Last;  // the last one leaves anyway; otherwise "left early, retired"
        }
    }
    if constexpr (Last) {
        return true;
    } else {
        const DecodedInsn& next = (&d)[1];
        return next.tfn(h, next);
    }
}

template <ExecFn F, bool Attention>
constexpr ExecFn threaded_last = &threaded<F, true, Attention>;

constexpr std::array kThreaded = {
#define INSN(name, mnem, mask, match, fmt, dest) &threaded<&exec_##name, false, leaves_on_attention(Op::name)>,
#include "rv64/isa/insns.inc"
#undef INSN
    &threaded<&exec_illegal>,
    &threaded<&exec_crossing>,
};

constexpr std::array kThreadedLast = {
#define INSN(name, mnem, mask, match, fmt, dest) threaded_last<&exec_##name, leaves_on_attention(Op::name)>,
#include "rv64/isa/insns.inc"
#undef INSN
    threaded_last<&exec_illegal, false>,
    threaded_last<&exec_crossing, false>,
};

}  // namespace

// The block's page holds the lower half, which the code cache watches; the upper half's
// page and mapping are not covered by the block, so they are fetched (and permission-checked,
// priv spec §4.3.1: a fault there reports the upper half's address) every time.
bool exec_crossing(Hart& h, const DecodedInsn& d) {
    uint16_t hi = 0;
    if (!h.fetch16(h.s.pc + 2, hi)) return false;
    DecodedInsn full = decode(static_cast<uint32_t>(hi) << 16 | (d.raw & 0xffff));
    full.fn = exec_for(full);
    return full.fn(h, full);
}

ExecFn exec_for(const DecodedInsn& d) { return kExec[d.op]; }

uint64_t execute_block(Hart& h, const Block& b) {
    const DecodedInsn* const begin = b.insns.data();
    if (begin->tfn(h, *begin)) return b.insns.size();
    // An instruction left the block early: it retired unless it trapped.
    const bool trapped = h.trapped();
    h.clear_trapped();
    return static_cast<uint64_t>(h.exit_insn - begin) + (trapped ? 0 : 1);
}

void account_retired(Hart& h, uint64_t n) {
    if ((h.s.mcountinhibit & 1) == 0) h.s.mcycle += n;
    if ((h.s.mcountinhibit & 4) == 0) h.s.minstret += n;
}

ExecFn threaded_for(const DecodedInsn& d, bool last) { return last ? kThreadedLast[d.op] : kThreaded[d.op]; }

bool ends_block(const DecodedInsn& d) {
    switch (static_cast<Op>(d.op)) {
        case Op::jal: case Op::jalr:
        case Op::beq: case Op::bne: case Op::blt: case Op::bge: case Op::bltu: case Op::bgeu:
        case Op::ecall: case Op::ebreak: case Op::mret: case Op::sret: case Op::wfi:
        case Op::sfence_vma: case Op::fence_i: case Op::hfence_vvma: case Op::hfence_gvma:
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
