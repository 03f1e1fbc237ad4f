#include "rv64/jit/chased.hpp"

#include "rv64/isa/op.hpp"
#include "rv64/jit/address_ranges.hpp"
#include "rv64/jit/successors.hpp"

namespace trapeze::rv64::jit {

namespace {

// The bit of the x register d writes, or 0.
Chased written_by(const DecodedInsn& d) {
    if (d.op >= op_table().size() || op_table()[d.op].dest != Dest::X || d.rd == 0 || d.rd >= 32) return 0;
    return Chased{1} << d.rd;
}

// Whether d's x result is a value read from memory: a load, LR or AMO (SC writes a status).
bool loads(Op op) {
    if (access_size(op) != 0) return true;  // lb ... ld; stores write no x register
    switch (op) {
        case Op::lr_w: case Op::lr_d:
        case Op::amoswap_w: case Op::amoadd_w: case Op::amoxor_w: case Op::amoand_w: case Op::amoor_w:
        case Op::amomin_w: case Op::amomax_w: case Op::amominu_w: case Op::amomaxu_w:
        case Op::amoswap_d: case Op::amoadd_d: case Op::amoxor_d: case Op::amoand_d: case Op::amoor_d:
        case Op::amomin_d: case Op::amomax_d: case Op::amominu_d: case Op::amomaxu_d:
            return true;
        default: return false;
    }
}

// Whether d's result has at most 16 significant bits (a byte or halfword loaded, a field
// masked or shifted out): an index into a table of at most 64 Ki entries, or a distance back
// into a window of at most 64 KiB, as in inflate's codes; the pages such accesses reach are
// few, and their memos hit more often than not.
bool narrow(const DecodedInsn& d) {
    switch (static_cast<Op>(d.op)) {
        case Op::lb: case Op::lbu: case Op::lh: case Op::lhu: case Op::zext_h: return true;
        case Op::andi: return d.imm >= 0;
        case Op::srliw: return d.imm >= 16;
        case Op::srli: return d.imm >= 48;
        default: return false;
    }
}

// The chased registers at the end of b, entered with `c`.
Chased through(const interp::Block& b, Chased c, Chased written) {
    for (const DecodedInsn& d : b.insns) c = chase(d, c, written);
    return c;
}

}  // namespace

XSources x_sources(const DecodedInsn& d) {
    if (d.op >= op_table().size()) return {};
    const Format f = op_table()[d.op].format;
    const bool two = f == Format::R || f == Format::S || f == Format::B;
    return {(two || f == Format::I || f == Format::SH) && d.rs1 < 32, two && d.rs2 < 32};
}

Chased written_in(std::span<const interp::Block* const> blocks) {
    Chased written = 0;
    for (const interp::Block* b : blocks)
        for (const DecodedInsn& d : b->insns) written |= written_by(d);
    return written;
}

Chased chase(const DecodedInsn& d, Chased before, Chased written) {
    const Chased bit = written_by(d);
    if (bit == 0) return before;
    const auto op = static_cast<Op>(d.op);
    bool chased = false;
    if (narrow(d)) {
        chased = false;
    } else if (loads(op)) {
        chased = is_chased(written, d.rs1);
    } else if (op != Op::addi || d.rs1 != d.rd) {
        // An FP operation's f source may alias a chased x register: the access only probes inline.
        const XSources s = x_sources(d);
        chased = (s.rs1 && is_chased(before, d.rs1)) || (s.rs2 && is_chased(before, d.rs2));
    }
    return chased ? before | bit : before & ~bit;
}

// A must analysis over the region's static jumps, down to a fixpoint from every block's exit
// assumed to leave chased all the registers the region writes: a round can only clear bits,
// so the rounds end. A register the region never writes holds what it held before the loop,
// which counts as not chased.
std::vector<Chased> chased_at_entry(std::span<const interp::Block* const> blocks, Chased written) {
    std::vector<std::vector<size_t>> preds(blocks.size());
    for (size_t k = 0; k < blocks.size(); ++k)
        for (const uint64_t pa : static_successors(*blocks[k]))
            for (size_t j = 0; j < blocks.size(); ++j)
                if (blocks[j]->pa == pa) preds[j].push_back(k);
    std::vector<Chased> entry(blocks.size(), 0), exit(blocks.size(), written);
    for (bool moved = true; moved;) {
        moved = false;
        for (size_t k = 0; k < blocks.size(); ++k) {
            Chased in = preds[k].empty() ? 0 : ~Chased{0};
            for (const size_t p : preds[k]) in &= exit[p];
            entry[k] = in;
            const Chased out = through(*blocks[k], in, written);
            moved |= out != exit[k];
            exit[k] = out;
        }
    }
    return entry;
}

}  // namespace trapeze::rv64::jit
