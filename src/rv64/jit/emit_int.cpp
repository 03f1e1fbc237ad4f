// Integer computation (RV64I's register-register and register-immediate operations, M, Zba,
// Zbb, Zbs): each guest instruction becomes a few host ones on the block's register cache,
// with W results sign-extended now or lazily (see emit_body in emitter.cpp).
#include "rv64/jit/emitter_impl.hpp"

namespace trapeze::rv64::jit {

void Emitter::Impl::emit_alu_imm(const DecodedInsn& d, Op op) {
    if (d.rd == 32) return;  // no side effects
    if (op != Op::slti && op != Op::sltiu) {
        bool cached = false;
        const Reg64 r = dest(d.rd, cached);
        if (d.rs1 == 0) {  // li and friends: x0 op imm
            const int64_t v = op == Op::addi || op == Op::xori || op == Op::ori ? d.imm : 0;
            mov(r, static_cast<uint64_t>(v));
            return;
        }
        const Src a = src(d.rs1, d.rd, cached, r);
        if (!is(a, r)) {
            if (op == Op::addi && a.in_reg) {
                lea(r, ptr[a.reg + disp(d.imm)]);
                return;
            }
            load_src(r, a);
        }
        switch (op) {
            case Op::addi: if (d.imm != 0) add(r, imm32(d.imm)); break;
            case Op::xori: xor_(r, imm32(d.imm)); break;
            case Op::ori: or_(r, imm32(d.imm)); break;
            case Op::andi: and_(r, imm32(d.imm)); break;
            case Op::slli: shl(r, static_cast<uint8_t>(d.imm)); break;
            case Op::srli: shr(r, static_cast<uint8_t>(d.imm)); break;
            default: sar(r, static_cast<uint8_t>(d.imm)); break;  // srai
        }
        return;
    }
    // slti, sltiu: the immediate is sign-extended, then compared.
    cmp(source_reg(d.rs1), imm32(d.imm));
    set_flag(d.rd, op == Op::slti);
}

// x's cache register, or rax loaded with it.
Emitter::Impl::Reg64 Emitter::Impl::source_reg(unsigned x) {
    if (const int i = x == 0 ? -1 : m_regs.host_of(x); i >= 0) return cache_reg(static_cast<unsigned>(i));
    get(rax, x);
    return rax;
}

// Flags of a - x, x in cache register `host` (or, when -1, in HartState; x0 is zero).
void Emitter::Impl::compare(const Reg64& a, unsigned x, int host) {
    if (x == 0)
        test(a, a);
    else if (host >= 0)
        cmp(a, cache_reg(static_cast<unsigned>(host)));
    else
        cmp(a, X(x));
}

// rd = the flags' less-than (signed or unsigned) as 0 or 1. dest() may store an evicted
// register, which leaves the flags alone.
void Emitter::Impl::set_flag(unsigned rd, bool is_signed) {
    is_signed ? setl(al) : setb(al);
    bool cached = false;
    movzx(dest(rd, cached).cvt32(), al);
}

void Emitter::Impl::emit_alu(const DecodedInsn& d, Op op) {
    if (d.rd == 32) return;  // no side effects
    if (op == Op::slt || op == Op::sltu) {
        const Reg64 a = source_reg(d.rs1);
        compare(a, d.rs2, d.rs2 == 0 ? -1 : m_regs.host_of(d.rs2));
        set_flag(d.rd, op == Op::slt);
        return;
    }
    if (d.rs1 == 0 || d.rs2 == 0) {
        // With x0 as a source: mv (c.mv is add rd, x0, rs2), neg, or a constant zero.
        bool cached = false;
        const Reg64 r = dest(d.rd, cached);
        const unsigned other = d.rs1 == 0 ? d.rs2 : d.rs1;
        if (other == 0 || op == Op::and_) {
            xor_(r.cvt32(), r.cvt32());
            return;
        }
        const Src s = src(other, d.rd, cached, r);
        if (!is(s, r)) load_src(r, s);
        if (op == Op::sub && d.rs1 == 0) neg(r);
        return;
    }
    bool cached = false;
    const Reg64 r = dest(d.rd, cached);
    const Src a = src(d.rs1, d.rd, cached, r);
    const Src b = src(d.rs2, d.rd, cached, r);
    auto op_with = [&](const Xbyak::Operand& o) {
        switch (op) {
            case Op::add: add(r, o); break;
            case Op::sub: sub(r, o); break;
            case Op::xor_: xor_(r, o); break;
            case Op::or_: or_(r, o); break;
            default: and_(r, o); break;
        }
    };
    auto apply = [&](const Src& s) { s.in_reg ? op_with(s.reg) : op_with(X(s.x)); };
    if (is(a, r)) {
        apply(b);
    } else if (is(b, r)) {  // rd == rs2 != rs1
        if (op != Op::sub) {
            apply(a);
        } else {
            load_src(rax, a);
            sub(rax, r);
            mov(r, rax);
        }
    } else {
        load_src(r, a);
        apply(b);
    }
}

// x86 masks variable shift counts to 6 bits (5 for 32-bit operands), exactly as RISC-V
// uses the low 6 (5 for *W) bits of rs2 (unpriv spec §2.4.2, §5.2).
void Emitter::Impl::emit_shift(const DecodedInsn& d, Op op) {
    get(rcx, d.rs2);
    get(rax, d.rs1);
    switch (op) {
        case Op::sll: shl(rax, cl); break;
        case Op::srl: shr(rax, cl); break;
        case Op::sra: sar(rax, cl); break;
        case Op::rol: rol(rax, cl); break;
        case Op::ror: ror(rax, cl); break;
        case Op::sllw: shl(eax, cl); sext_or_defer(rax); break;
        case Op::srlw: shr(eax, cl); sext_or_defer(rax); break;
        case Op::sraw: sar(eax, cl); sext_or_defer(rax); break;
        case Op::rolw: rol(eax, cl); movsxd(rax, eax); break;
        default: ror(eax, cl); movsxd(rax, eax); break;  // rorw
    }
    put(d.rd, rax);
}

// addiw, slliw, srliw, sraiw and roriw on the low half of r.
void Emitter::Impl::word_imm(const Xbyak::Reg32& r, const DecodedInsn& d, Op op) {
    const auto sh = static_cast<uint8_t>(d.imm);
    switch (op) {
        case Op::addiw: add(r, imm32(d.imm)); break;
        case Op::slliw: shl(r, sh); break;
        case Op::srliw: shr(r, sh); break;
        case Op::sraiw: sar(r, sh); break;
        default: ror(r, sh); break;  // roriw
    }
}

// `slli rd, rs, 32; srli rd, rd, 32`, RV64GC's zero extension of a word (Zba's zext.w, which
// compilers use for unsigned int indices and sizes): one 32-bit move, which x86-64
// zero-extends. Nothing can trap or be entered between the two.
bool Emitter::Impl::is_zext_w(const DecodedInsn& first, const DecodedInsn& second) {
    return static_cast<Op>(first.op) == Op::slli && first.imm == 32 && static_cast<Op>(second.op) == Op::srli &&
           second.imm == 32 && second.rd == first.rd && second.rs1 == first.rd;
}

void Emitter::Impl::emit_zext_w(const DecodedInsn& d) {
    m_dest_evicted = 0;
    if (d.rd == 32) return;  // no side effects
    bool cached = false;
    const Reg64 r = dest(d.rd, cached);
    if (d.rs1 == 0) {
        xor_(r.cvt32(), r.cvt32());
        return;
    }
    const Src a = src(d.rs1, d.rd, cached, r);
    if (a.in_reg)
        mov(r.cvt32(), a.reg.cvt32());
    else
        mov(r.cvt32(), dword[rbx + m_l.xreg(a.x)]);
}

namespace {

// Whether an instruction is pure computation on x registers that the emitter translates
// inline: it cannot trap, call out or leave the block.
bool pure(const DecodedInsn& d, bool has_bitcount) {
    const auto op = static_cast<Op>(d.op);
    return d.op < op_table().size() && access_size(op) == 0 && keeps_group(op, has_bitcount);
}

// Whether instruction d reads x (by its fields, whatever its format: conservative).
bool reads(const DecodedInsn& d, unsigned x) { return d.rs1 == x || d.rs2 == x || d.rs3 == x; }

// A load or store that emit_memory translates, whose slow path can store the results of the
// shifts a rotation skipped (store_pending).
bool plain_access(const DecodedInsn& d) {
    return d.op < op_table().size() && access_size(static_cast<Op>(d.op)) != 0;
}

// Where t, a skipped shift's result computed from x, stops being seen: the index of the
// instruction from `from` on that writes t before anything reads it or could show it (a trap,
// a call out, the block's end), or b.insns.size() if none does. Loads and stores may come
// first while x keeps its value (`x_written`: x changed already), because their slow paths
// can compute t again from x.
size_t end_of(const interp::Block& b, size_t from, unsigned t, unsigned x, bool x_written, bool has_bitcount) {
    const size_t n = b.insns.size();
    for (size_t j = from; j < n; ++j) {
        const DecodedInsn& d = b.insns[j];
        if (reads(d, t) || !(pure(d, has_bitcount) || (plain_access(d) && !x_written))) return n;
        if (writes_x(d, t)) return j;
        x_written = x_written || writes_x(d, x);
    }
    return n;
}

}  // namespace

// `srliw a, x, n; slliw b, x, 32 - n; or rd, a, b`, or the same with srli/slli and 64 - n:
// what compilers emit for a rotate without Zbb, in every round of SHA-2, BLAKE2 and the like,
// the shifts in either order and often apart (scheduled among a round's other rotations and
// its loads and stores). The OR becomes one host rotate of x and the shifts are not emitted
// when nothing else can see a and b: between each shift and the OR only pure instructions
// and loads and stores run, none reading a or b or writing x; after the OR a and b are each
// rd or dead (end_of). A load or store that runs while a or b holds a result the translation
// skipped stores it on its slow path (plan.pending), so a trap handler sees it.
void Emitter::Impl::plan_rotations(const interp::Block& b, RotationPlan& plan) const {
    const size_t n = b.insns.size();
    plan.at.assign(n, Rotation{});
    plan.skip.assign(n, false);
    plan.pending.clear();
    for (size_t k = 0; k < n; ++k) {
        const DecodedInsn& o = b.insns[k];
        if (static_cast<Op>(o.op) != Op::or_ || o.rd >= 32 || o.rs1 == 0 || o.rs2 == 0 || o.rs1 == o.rs2) continue;
        // The last writers of the OR's operands, through pure instructions and accesses only.
        size_t w[2] = {n, n};
        for (size_t m = k; m-- > 0 && (w[0] == n || w[1] == n);) {
            const DecodedInsn& d = b.insns[m];
            if (!pure(d, m_has_bitcount) && !plain_access(d)) break;
            if (w[0] == n && writes_x(d, o.rs1)) w[0] = m;
            if (w[1] == n && writes_x(d, o.rs2)) w[1] = m;
        }
        if (w[0] == n || w[1] == n || plan.skip[w[0]] || plan.skip[w[1]]) continue;
        const DecodedInsn& s0 = b.insns[w[0]];
        const DecodedInsn& s1 = b.insns[w[1]];
        const auto op0 = static_cast<Op>(s0.op), op1 = static_cast<Op>(s1.op);
        const bool w32 = op0 == Op::srliw || op0 == Op::slliw;
        const Op right = w32 ? Op::srliw : Op::srli, left = w32 ? Op::slliw : Op::slli;
        if (!((op0 == right && op1 == left) || (op0 == left && op1 == right))) continue;
        const unsigned x = s0.rs1;
        if (x == 0 || s1.rs1 != x || x == o.rs1 || x == o.rs2) continue;
        if (s0.imm <= 0 || s1.imm <= 0 || s0.imm + s1.imm != (w32 ? 32 : 64)) continue;
        bool ok = true;
        for (size_t m = std::min(w[0], w[1]) + 1; m < k && ok; ++m) {
            const DecodedInsn& d = b.insns[m];
            ok = !writes_x(d, x) && !(m > w[0] && reads(d, o.rs1)) && !(m > w[1] && reads(d, o.rs2));
        }
        size_t end[2] = {k, k};
        for (unsigned i = 0; i < 2 && ok; ++i) {
            const unsigned t = i == 0 ? o.rs1 : o.rs2;
            if (t != o.rd) end[i] = end_of(b, k + 1, t, x, o.rd == x, m_has_bitcount);
            ok = end[i] < n;
        }
        if (!ok) continue;
        plan.at[k] = Rotation{x, o.rd, static_cast<uint8_t>(op0 == right ? s0.imm : s1.imm), w32};
        plan.skip[w[0]] = plan.skip[w[1]] = true;
        for (unsigned i = 0; i < 2; ++i) {
            const DecodedInsn& s = i == 0 ? s0 : s1;
            plan.pending.push_back(PendingShift{s.rd, x, static_cast<uint8_t>(s.imm), static_cast<Op>(s.op) == left,
                                                w32, w[i] + 1, end[i]});
        }
    }
}

// The skipped shift results the guest holds at instruction `index`.
std::vector<Emitter::Impl::PendingShift> Emitter::Impl::pending_at(size_t index) const {
    std::vector<PendingShift> at;
    for (const PendingShift& p : m_rotations.pending)
        if (p.first <= index && index <= p.last) at.push_back(p);
    return at;
}

// On an access's slow path, after the writeback made HartState current: each pending shift
// result computed from x's value there (which its rotation's plan keeps unchanged).
void Emitter::Impl::store_pending(const std::vector<PendingShift>& pending) {
    for (const PendingShift& p : pending) {
        if (p.word) {
            mov(eax, dword[rbx + m_l.xreg(p.x)]);
            p.left ? shl(eax, p.amount) : shr(eax, p.amount);
            movsxd(rax, eax);
        } else {
            mov(rax, X(p.x));
            p.left ? shl(rax, p.amount) : shr(rax, p.amount);
        }
        mov(X(p.t), rax);
    }
}

// A word rotation's result may stay lazy (emit_body treats it as a Word instruction).
void Emitter::Impl::emit_rotation(const Rotation& rot) {
    m_dest_evicted = 0;
    bool cached = false;
    const Reg64 r = dest(rot.rd, cached);
    const Src a = src(rot.x, rot.rd, cached, r);
    if (!is(a, r)) load_src(r, a);
    if (rot.word) {
        ror(r.cvt32(), rot.amount);
        sext_or_defer(r);
    } else {
        ror(r, rot.amount);
    }
}

void Emitter::Impl::emit_word(const DecodedInsn& d, Op op) {
    if (d.rd == 32) return;  // no side effects
    const bool reg_form = op == Op::addw || op == Op::subw;
    if (op == Op::addiw && d.imm == 0 && d.rs1 != 0) {  // sext.w: one sign-extending move
        bool cached = false;
        const Reg64 r = dest(d.rd, cached);
        const Src a = src(d.rs1, d.rd, cached, r);
        if (a.in_reg)
            movsxd(r, a.reg.cvt32());
        else
            movsxd(r, dword[rbx + m_l.xreg(a.x)]);
        return;
    }
    if (op != Op::roriw && d.rs1 != 0 && (!reg_form || d.rs2 != 0)) {
        bool cached = false;
        const Reg64 r = dest(d.rd, cached);
        const Src a = src(d.rs1, d.rd, cached, r);
        const Src b = reg_form ? src(d.rs2, d.rd, cached, r) : a;  // before r is written
        if (reg_form && is(b, r) && !is(a, r)) {
            // rs2 is in r (rd == rs2, or rs2 was evicted from r): rs1 + rs2 adds rs1 to it in
            // place; rs1 - rs2 needs rs2 elsewhere while r takes rs1.
            if (op == Op::addw) {
                a.in_reg ? add(r.cvt32(), a.reg.cvt32()) : add(r.cvt32(), dword[rbx + m_l.xreg(a.x)]);
                sext_or_defer(r);
                return;
            }
            mov(rax, r);
            load_src(r, a);
            sub(r.cvt32(), eax);
            sext_or_defer(r);
            return;
        }
        if (!is(a, r)) load_src(r, a);
        const Xbyak::Reg32 r32 = r.cvt32();
        if (reg_form) {
            if (b.in_reg)
                op == Op::addw ? add(r32, b.reg.cvt32()) : sub(r32, b.reg.cvt32());
            else
                op == Op::addw ? add(r32, dword[rbx + m_l.xreg(b.x)]) : sub(r32, dword[rbx + m_l.xreg(b.x)]);
        } else {
            word_imm(r32, d, op);
        }
        sext_or_defer(r);
        return;
    }
    get(rax, d.rs1);
    if (reg_form) {
        get(rcx, d.rs2);
        op == Op::addw ? add(eax, ecx) : sub(eax, ecx);
    } else {
        word_imm(eax, d, op);
    }
    put_sext32(d.rd);
}

void Emitter::Impl::emit_mul(const DecodedInsn& d, Op op) {
    if (d.rd == 32) return;  // no side effects
    if ((op == Op::mul || op == Op::mulw) && d.rs1 != 0 && d.rs2 != 0) {
        // In place on the register cache (imul is commutative).
        bool cached = false;
        const Reg64 r = dest(d.rd, cached);
        const Src a = src(d.rs1, d.rd, cached, r);
        const Src b = src(d.rs2, d.rd, cached, r);
        const bool a_first = !is(b, r);
        const Src& first = a_first ? a : b;
        const Src& second = a_first ? b : a;
        if (!is(first, r)) load_src(r, first);
        if (op == Op::mul) {
            second.in_reg ? imul(r, second.reg) : imul(r, X(second.x));
        } else {
            second.in_reg ? imul(r.cvt32(), second.reg.cvt32()) : imul(r.cvt32(), dword[rbx + m_l.xreg(second.x)]);
            movsxd(r, r.cvt32());
        }
        return;
    }
    get(rax, d.rs1);
    get(rcx, d.rs2);
    switch (op) {
        case Op::mul: imul(rax, rcx); put(d.rd, rax); break;
        case Op::mulw: imul(eax, ecx); put_sext32(d.rd); break;
        case Op::mulh: imul(rcx); put(d.rd, rdx); break;
        default: mul(rcx); put(d.rd, rdx); break;  // mulhu
    }
}

// mulhsu (unpriv spec §7.1): the unsigned high product, minus rs2 when rs1 is negative.
void Emitter::Impl::emit_mulhsu(const DecodedInsn& d) {
    get(rcx, d.rs2);
    get(rax, d.rs1);
    mul(rcx);
    get(rax, d.rs1);
    sar(rax, 63);
    and_(rax, rcx);
    sub(rdx, rax);
    put(d.rd, rdx);
}

// Zbb counts: LZCNT/TZCNT return the operand width for zero, as clz/ctz do.
void Emitter::Impl::emit_bitcount(const DecodedInsn& d, Op op) {
    get(rax, d.rs1);
    switch (op) {
        case Op::clz: lzcnt(rax, rax); break;
        case Op::clzw: lzcnt(eax, eax); break;
        case Op::ctz: tzcnt(rax, rax); break;
        case Op::ctzw: tzcnt(eax, eax); break;
        case Op::cpop: popcnt(rax, rax); break;
        default: popcnt(eax, eax); break;  // cpopw
    }
    put(d.rd, rax);
}

// Division never traps in RISC-V (unpriv spec §7.2, table 7.1): x86's #DE cases, a zero
// divisor and INT_MIN / -1, are handled before the divide.
void Emitter::Impl::emit_div(const DecodedInsn& d, Op op) {
    Label done, zero, divide;
    get(rcx, d.rs2);
    get(rax, d.rs1);
    const bool is_rem = op == Op::rem || op == Op::remu;
    mov(rdx, rax);  // rem/remu by zero: the dividend
    test(rcx, rcx);
    jz(zero);
    if (op == Op::div || op == Op::rem) {
        cmp(rcx, imm32(-1));
        jne(divide);
        neg(rax);        // x / -1 (INT64_MIN / -1 overflows to INT64_MIN, as specified)
        xor_(edx, edx);  // x % -1 == 0
        jmp(done);
        L(divide);
        cqo();
        idiv(rcx);
    } else {
        xor_(edx, edx);
        div(rcx);
    }
    jmp(done);
    L(zero);
    mov(rax, ~uint64_t{0});  // div/divu by zero: all ones
    L(done);
    put(d.rd, is_rem ? rdx : rax);
}

void Emitter::Impl::emit_divw(const DecodedInsn& d, Op op) {
    Label done, zero, divide;
    get(rcx, d.rs2);
    get(rax, d.rs1);
    const bool is_rem = op == Op::remw || op == Op::remuw;
    mov(edx, eax);
    test(ecx, ecx);
    jz(zero);
    if (op == Op::divw || op == Op::remw) {
        cmp(ecx, imm32(-1));
        jne(divide);
        neg(eax);
        xor_(edx, edx);
        jmp(done);
        L(divide);
        cdq();
        idiv(ecx);
    } else {
        xor_(edx, edx);
        div(ecx);
    }
    jmp(done);
    L(zero);
    mov(eax, imm32(-1));
    L(done);
    if (is_rem) mov(eax, edx);
    put_sext32(d.rd);
}

void Emitter::Impl::emit_zba(const DecodedInsn& d, Op op) {
    if (d.rs1 == 0) {
        xor_(eax, eax);
    } else {
        const bool uw = op == Op::add_uw || op == Op::sh1add_uw || op == Op::sh2add_uw || op == Op::sh3add_uw ||
                        op == Op::slli_uw;
        get(rax, d.rs1);
        if (uw) mov(eax, eax);  // a 32-bit mov zero-extends
    }
    if (op == Op::slli_uw) {
        shl(rax, static_cast<uint8_t>(d.imm));
        put(d.rd, rax);
        return;
    }
    get(rcx, d.rs2);
    switch (op) {
        case Op::sh1add: case Op::sh1add_uw: lea(rax, ptr[rcx + rax * 2]); break;
        case Op::sh2add: case Op::sh2add_uw: lea(rax, ptr[rcx + rax * 4]); break;
        case Op::sh3add: case Op::sh3add_uw: lea(rax, ptr[rcx + rax * 8]); break;
        default: add(rax, rcx); break;  // add.uw
    }
    put(d.rd, rax);
}

void Emitter::Impl::emit_zbb(const DecodedInsn& d, Op op) {
    get(rax, d.rs1);
    switch (op) {
        case Op::andn: get(rcx, d.rs2); not_(rcx); and_(rax, rcx); break;
        case Op::orn: get(rcx, d.rs2); not_(rcx); or_(rax, rcx); break;
        case Op::xnor: get(rcx, d.rs2); xor_(rax, rcx); not_(rax); break;
        case Op::max: get(rcx, d.rs2); cmp(rax, rcx); cmovl(rax, rcx); break;
        case Op::maxu: get(rcx, d.rs2); cmp(rax, rcx); cmovb(rax, rcx); break;
        case Op::min: get(rcx, d.rs2); cmp(rax, rcx); cmovg(rax, rcx); break;
        case Op::minu: get(rcx, d.rs2); cmp(rax, rcx); cmova(rax, rcx); break;
        case Op::sext_b: movsx(rax, al); break;
        case Op::sext_h: movsx(rax, ax); break;
        case Op::zext_h: movzx(eax, ax); break;
        case Op::rev8: bswap(rax); break;
        case Op::orc_b:  // bytes equal to zero stay zero, the others become 0xff (SSE2 byte compare)
            movq(xmm0, rax);
            pxor(xmm1, xmm1);
            pcmpeqb(xmm0, xmm1);
            movq(rax, xmm0);
            not_(rax);
            break;
        default: ror(rax, static_cast<uint8_t>(d.imm)); break;  // rori
    }
    put(d.rd, rax);
}

// Register bit indices: bt/bts/btr/btc with a register operand take it modulo 64.
void Emitter::Impl::emit_zbs(const DecodedInsn& d, Op op) {
    get(rax, d.rs1);
    const bool imm = op == Op::bclri || op == Op::bexti || op == Op::binvi || op == Op::bseti;
    if (!imm) get(rcx, d.rs2);
    const auto bit = static_cast<uint8_t>(d.imm);
    switch (op) {
        case Op::bclr: btr(rax, rcx); break;
        case Op::bclri: btr(rax, bit); break;
        case Op::binv: btc(rax, rcx); break;
        case Op::binvi: btc(rax, bit); break;
        case Op::bset: bts(rax, rcx); break;
        case Op::bseti: bts(rax, bit); break;
        default:  // bext, bexti
            imm ? bt(rax, bit) : bt(rax, rcx);
            setc(al);
            movzx(eax, al);
            break;
    }
    put(d.rd, rax);
}

}  // namespace trapeze::rv64::jit
