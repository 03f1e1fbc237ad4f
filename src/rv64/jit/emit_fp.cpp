// The F and D extensions (unpriv spec ch. 11, 12) in host SSE, bit-exact to the interpreter's
// software FPU (rv64/fpu) in every rounding mode and with the same fflags.
//
// x86-64's scalar SSE arithmetic is IEEE 754 binary32/binary64 as RISC-V's is, with the same
// tininess rule (detected after rounding) and the same default results for overflow,
// underflow, division by zero and inexact, so the common case runs natively; the cases where
// the two differ go to the interpreter's semantics from cold code, decided at run time:
//   * a NaN result: x86 propagates an operand's payload, RISC-V returns the canonical NaN
//     (§11.3), and the invalid flag for NaN operands differs in places (fused multiply-add
//     of ∞ × 0 with a quiet NaN, §11.6). Every NaN operand gives a NaN result, so one check
//     of the result covers them all;
//   * a rounding mode other than round-to-nearest-even: the native code runs with MXCSR in
//     RNE (fcvt to an integer in RTZ, C's conversion, uses cvtt* instead), anything else is the
//     interpreter's, including reserved modes (illegal instruction);
//   * a float-to-integer result x86 cannot represent (it returns the "integer indefinite"
//     value, RISC-V saturates, §11.7 table 11.4), and unsigned conversions beyond what a
//     signed one covers;
//   * a binary32 operand that is not NaN-boxed (§12.2: it reads as the canonical NaN);
//   * mstatus.FS Off (illegal instruction, priv spec §3.1.6.6).
// Flags: x86 keeps them sticky in MXCSR as RISC-V does in fflags (with another order,
// kFlagMap, and a denormal-operand flag RISC-V does not have, dropped), so translated code
// leaves them there and moves them to fflags only where anything could look: on the way out
// of translated code (the trampoline's epilogue, and before every call into C++: a slow
// memory path, the interpreter's semantics, the fetch refill) and before a native sstatus
// read (SD and FS; an instruction that writes an x register makes FS Dirty only if it raised
// a flag). Reading MXCSR (stmxcsr) costs ~6 ns here, more than the arithmetic, so the move
// happens once per stretch of FP work (emit_accrue_stub), and each arithmetic instruction only
// checks that flags are pending (kFrameFpPending). If none are, MXCSR may hold anything C++
// left in it, so the instruction loads it clean (kMxcsrNearest: RNE, every exception masked)
// first, out of line, and marks the frame (loading MXCSR after every call into C++ instead
// made sort in bench/programs.sh 6% slower: its slow paths call often). An instruction whose
// result goes the interpreter's way after the native operation ran (a NaN, an integer x86 cannot
// represent) leaves its x86 flags to be accrued with the interpreter's: those are always a
// subset of what RISC-V raises for the same instruction (invalid for a signaling NaN operand
// or an invalid operation, and inexact for a conversion that rounded to the most negative
// integer, raise the same flags under §11.6 and §11.7), so fflags ends the same.
// fclass stays with the interpreter.
#include "rv64/jit/emitter_impl.hpp"

#include <array>

#include "rv64/csr.hpp"

namespace trapeze::rv64::jit {

namespace {

// MXCSR's exception flags (bits 0-5: invalid, denormal, divide-by-zero, overflow, underflow,
// precision) as fflags (NV DZ OF UF NX, bits 4-0; unpriv spec §11.2 table 11.2).
constexpr std::array<uint8_t, 64> make_flag_map() {
    std::array<uint8_t, 64> m{};
    for (unsigned x = 0; x < 64; ++x) {
        uint8_t f = 0;
        if (x & 0x01) f |= csr::FFLAG_NV;
        if (x & 0x04) f |= csr::FFLAG_DZ;
        if (x & 0x08) f |= csr::FFLAG_OF;
        if (x & 0x10) f |= csr::FFLAG_UF;
        if (x & 0x20) f |= csr::FFLAG_NX;
        m[x] = f;
    }
    return m;
}
constexpr std::array<uint8_t, 64> kFlagMap = make_flag_map();

bool is_single(Op op) {
    switch (op) {
        case Op::fadd_s: case Op::fsub_s: case Op::fmul_s: case Op::fdiv_s: case Op::fsqrt_s:
        case Op::fmadd_s: case Op::fmsub_s: case Op::fnmsub_s: case Op::fnmadd_s:
        case Op::feq_s: case Op::flt_s: case Op::fle_s: case Op::fcvt_w_s: case Op::fcvt_l_s:
        case Op::fcvt_wu_s: case Op::fcvt_lu_s: case Op::fmin_s: case Op::fmax_s:
        case Op::fcvt_s_w: case Op::fcvt_s_wu: case Op::fcvt_s_l: case Op::fcvt_s_lu:
        case Op::fsgnj_s: case Op::fsgnjn_s: case Op::fsgnjx_s:
            return true;
        default:
            return false;
    }
}

// rm = 0 (RNE), or 7 (frm, checked at run time to be RNE).
bool nearest_rm(const DecodedInsn& d) { return d.rm == 0 || d.rm == 7; }

}  // namespace

// FP instructions are illegal while mstatus.FS is Off, or with V=1 vsstatus.FS (H, priv spec
// §8.2.11): checked once per block until a call (m_fs). Only a CSR write can turn FS off, and
// those run as calls (emit_fallback) or leave; V changes only at a block's end; the cold paths
// that rejoin a block (cold_fallback) run the instruction they stand for, and none that has one
// (FP, atomics, cbo.zero, sstatus reads, SIE) clears FS.
void Emitter::Impl::fp_enabled_or(Label& other) {
    static_assert(csr::MSTATUS_FS == 0x6000);
    if (m_fs != FsKnown::Unknown) return;
    test(byte[rbx + m_l.mstatus + 1], 0x60);
    jz(other, T_NEAR);
    Label host;
    cmp(byte[rbx + m_l.virt], 0);
    je(host);
    test(byte[rbx + m_l.vsstatus + 1], 0x60);
    jz(other, T_NEAR);
    L(host);
    m_fs = FsKnown::On;
}

// Writing an f register or fflags makes FS Dirty (and SD set), as Hart::set_fs_dirty; once
// per block until a call, as above. Clobbers rcx.
void Emitter::Impl::mark_fs_dirty() {
    if (m_fs == FsKnown::Dirty) return;
    set_fs_dirty_code();
    m_fs = FsKnown::Dirty;
}

// With V=1, vsstatus.FS too (Hart::set_fs_dirty). Clobbers rcx and the flags.
void Emitter::Impl::set_fs_dirty_code() {
    mov(rcx, csr::MSTATUS_FS | csr::MSTATUS_SD);
    or_(qword[rbx + m_l.mstatus], rcx);
    Label host;
    cmp(byte[rbx + m_l.virt], 0);
    je(host);
    or_(qword[rbx + m_l.vsstatus], rcx);
    L(host);
}

// For rm = 7: frm must be 0 (RNE) too, else the interpreter's way (another mode, or a
// reserved one: illegal instruction).
void Emitter::Impl::nearest_or(const DecodedInsn& d, Label& other) {
    if (d.rm != 7) return;
    cmp(byte[rbx + m_l.frm], 0);
    jne(other, T_NEAR);
}

// For an instruction whose result the mode cannot change (an exact conversion): a reserved
// mode is still illegal (§11.7). Static 5 and 6 are not emitted natively at all.
void Emitter::Impl::legal_rm_or(const DecodedInsn& d, Label& other) {
    if (d.rm != 7) return;
    cmp(byte[rbx + m_l.frm], 4);
    ja(other, T_NEAR);
}

// f[r]'s binary32 operand is NaN-boxed (its upper half all ones), else the interpreter's way.
void Emitter::Impl::boxed_or(unsigned r, Label& other) {
    cmp(dword[rbx + m_l.freg(r) + 4], 0xffffffffu);
    jne(other, T_NEAR);
}

// f[rd] = v, NaN-boxed, in HartState only.
void Emitter::Impl::store_f32(unsigned rd, const Xbyak::Reg32& v) {
    mov(dword[rbx + m_l.freg(rd)], v);
    mov(dword[rbx + m_l.freg(rd) + 4], 0xffffffffu);
}

// f[rd] = v, NaN-boxed (and its pin's copy).
void Emitter::Impl::write_f32(unsigned rd, const Xbyak::Reg32& v) {
    store_f32(rd, v);
    if (const int i = pin_of(rd, true); i >= 0) movd(pin_xmm(i), v);
}

// f[rd] = v (and its pin's copy).
void Emitter::Impl::write_f64(unsigned rd, const Reg64& v) {
    mov(F(rd), v);
    if (const int i = pin_of(rd, false); i >= 0) movq(pin_xmm(i), v);
}

// The native FP instruction that follows leaves flags in MXCSR for the next accrual: if
// nothing is pending, MXCSR is loaded clean first (out of line: once after every accrual) and
// marked pending.
void Emitter::Impl::fp_flags_pending() {
    Label clean, back;
    cmp(byte[rsp + kFrameFpPending], 0);
    je(clean, T_NEAR);
    L(back);
    warm([this, clean, back]() mutable {
        L(clean);
        ldmxcsr(dword[rsp + kFrameMxcsr]);
        mov(byte[rsp + kFrameFpPending], 1);
        jmp(back, T_NEAR);
    });
}

// The stub moves whatever is pending to fflags. From a translation's top level (the stub finds
// the frame at rsp + 8). Four bytes where a call into C++ follows anyway; where none does
// (`check_here`: a native sstatus read, which kernels run often and with nothing pending), the
// pending byte is tested inline so that the stub is called only when it has work. Preserves
// every register; clobbers the flags.
void Emitter::Impl::accrue_fp_flags(bool check_here) {
    Label none;
    if (check_here) {
        cmp(byte[rsp + kFrameFpPending], 0);
        je(none);
    }
    call(qword[rsp + kFrameAccrue]);
    L(none);
}

// The trampoline's accrual, called through kFrameAccrue: if flags are pending, fflags |= what
// MXCSR holds (FS Dirty if anything), and nothing pending (as the interpreter's accrue for each
// instruction; unpriv spec §11.2). Preserves every register.
void Emitter::Impl::emit_accrue_stub() {
    Label pending;
    cmp(byte[rsp + 8 + kFrameFpPending], 0);
    jne(pending);
    ret();
    L(pending);
    constexpr uint32_t at = 24;  // the return address and the two pushes
    push(rax);
    push(rcx);
    stmxcsr(dword[rsp + at + kFrameMxcsr + 4]);
    movzx(eax, byte[rsp + at + kFrameMxcsr + 4]);
    and_(eax, 0x3d);  // not the denormal-operand flag (bit 1), nor the masks above
    Label none;
    jz(none);
    mov(rcx, addr(kFlagMap.data()));
    movzx(eax, byte[rcx + rax]);
    or_(byte[rbx + m_l.fflags], al);
    set_fs_dirty_code();
    L(none);
    mov(byte[rsp + at + kFrameFpPending], 0);
    pop(rcx);
    pop(rax);
    ret();
}

// The end of an instruction whose result is in xmm0: f[rd] = it (NaN-boxed if binary32), FS
// Dirty; `done` is where its cold side (`other`: the interpreter's
// semantics) comes back.
void Emitter::Impl::finish_f(const DecodedInsn& d, size_t index, int32_t off, bool single, Label& other,
                             Label& done) {
    mark_fs_dirty();
    if (single) {
        movd(eax, xmm0);
        store_f32(d.rd, eax);
    } else {
        movsd(F(d.rd), xmm0);
    }
    mirror_f(d.rd, single, xmm0);
    L(done);
    cold_fallback(d, index, off, other, done, false);
}

// The same for an integer result in rdx: x[rd] = it.
void Emitter::Impl::finish_x(const DecodedInsn& d, size_t index, int32_t off, Label& other,
                             Label& done) {
    mov(rax, rdx);
    L(done);
    cold_fallback(d, index, off, other, done, true);
    put(d.rd, rax);
}

bool Emitter::Impl::emit_fp(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    switch (op) {
        case Op::flw: case Op::fld: case Op::fsw: case Op::fsd:
            emit_fp_memory(d, index, off, op);
            return true;
        case Op::fadd_s: case Op::fsub_s: case Op::fmul_s: case Op::fdiv_s: case Op::fsqrt_s:
        case Op::fadd_d: case Op::fsub_d: case Op::fmul_d: case Op::fdiv_d: case Op::fsqrt_d:
        case Op::fmadd_s: case Op::fmsub_s: case Op::fnmsub_s: case Op::fnmadd_s:
        case Op::fmadd_d: case Op::fmsub_d: case Op::fnmsub_d: case Op::fnmadd_d:
            return emit_fp_arith(d, index, off, op);
        case Op::feq_s: case Op::flt_s: case Op::fle_s: case Op::feq_d: case Op::flt_d: case Op::fle_d:
            emit_fp_compare(d, index, off, op);
            return true;
        case Op::fcvt_w_s: case Op::fcvt_l_s: case Op::fcvt_w_d: case Op::fcvt_l_d:
            return emit_fp_to_int(d, index, off, op);
        case Op::fcvt_wu_s: case Op::fcvt_lu_s: case Op::fcvt_wu_d: case Op::fcvt_lu_d:
            return emit_fp_to_unsigned(d, index, off, op);
        case Op::fmin_s: case Op::fmax_s: case Op::fmin_d: case Op::fmax_d:
            emit_fp_min_max(d, index, off, op);
            return true;
        case Op::fcvt_s_w: case Op::fcvt_s_wu: case Op::fcvt_s_l: case Op::fcvt_s_lu:
        case Op::fcvt_d_w: case Op::fcvt_d_wu: case Op::fcvt_d_l: case Op::fcvt_d_lu:
            return emit_int_to_fp(d, index, off, op);
        case Op::fcvt_s_d: case Op::fcvt_d_s:
            return emit_fp_convert(d, index, off, op);
        case Op::fsgnj_s: case Op::fsgnjn_s: case Op::fsgnjx_s: case Op::fsgnj_d: case Op::fsgnjn_d:
        case Op::fsgnjx_d:
            emit_fp_sign(d, index, off, op);
            return true;
        case Op::fmv_x_w: case Op::fmv_x_d: case Op::fmv_w_x: case Op::fmv_d_x:
            emit_fp_move(d, index, off, op);
            return true;
        default:
            return false;
    }
}

// flw, fld, fsw, fsd: emit_memory's paths with the value in an f register (they never join an
// access group or a page memo: see access_size).
void Emitter::Impl::emit_fp_memory(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    Label other, done;
    fp_enabled_or(other);
    const bool store = op == Op::fsw || op == Op::fsd;
    emit_memory(d, index, off, Mem{op == Op::flw || op == Op::fsw ? 4u : 8u, store, false, true});
    L(done);
    cold_fallback(d, index, off, other, done, false);
}

// The two- and three-operand arithmetic: xmm0 = the result.
bool Emitter::Impl::emit_fp_arith(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    const bool fused = op == Op::fmadd_s || op == Op::fmsub_s || op == Op::fnmsub_s || op == Op::fnmadd_s ||
                       op == Op::fmadd_d || op == Op::fmsub_d || op == Op::fnmsub_d || op == Op::fnmadd_d;
    if (!nearest_rm(d) || (fused && !m_has_fma)) return false;
    const bool single = is_single(op);
    Label other, done;
    fp_enabled_or(other);
    nearest_or(d, other);
    if (single) {
        boxed_or(d.rs1, other);
        if (op != Op::fsqrt_s) boxed_or(d.rs2, other);
        if (fused) boxed_or(d.rs3, other);
    }
    fp_flags_pending();
    load_f(xmm0, d.rs1, single);
    auto a = [&](unsigned r) { return f_operand(r, single, xmm1); };
    switch (op) {
        case Op::fadd_s: addss(xmm0, a(d.rs2)); break;
        case Op::fsub_s: subss(xmm0, a(d.rs2)); break;
        case Op::fmul_s: mulss(xmm0, a(d.rs2)); break;
        case Op::fdiv_s: divss(xmm0, a(d.rs2)); break;
        case Op::fsqrt_s: sqrtss(xmm0, xmm0); break;
        case Op::fadd_d: addsd(xmm0, a(d.rs2)); break;
        case Op::fsub_d: subsd(xmm0, a(d.rs2)); break;
        case Op::fmul_d: mulsd(xmm0, a(d.rs2)); break;
        case Op::fdiv_d: divsd(xmm0, a(d.rs2)); break;
        case Op::fsqrt_d: sqrtsd(xmm0, xmm0); break;
        default: {
            // xmm0 = ±(rs2 × rs1) ± rs3, one rounding: vfnmadd is RISC-V's fnmsub
            // (−(a×b) + c), vfnmsub its fnmadd (−(a×b) − c).
            load_f(xmm1, d.rs2, single);
            const Xbyak::Xmm c = f_operand(d.rs3, single, xmm2);
            switch (op) {
                case Op::fmadd_s: vfmadd213ss(xmm0, xmm1, c); break;
                case Op::fmsub_s: vfmsub213ss(xmm0, xmm1, c); break;
                case Op::fnmsub_s: vfnmadd213ss(xmm0, xmm1, c); break;
                case Op::fnmadd_s: vfnmsub213ss(xmm0, xmm1, c); break;
                case Op::fmadd_d: vfmadd213sd(xmm0, xmm1, c); break;
                case Op::fmsub_d: vfmsub213sd(xmm0, xmm1, c); break;
                case Op::fnmsub_d: vfnmadd213sd(xmm0, xmm1, c); break;
                default: vfnmsub213sd(xmm0, xmm1, c); break;
            }
        }
    }
    if (single) ucomiss(xmm0, xmm0); else ucomisd(xmm0, xmm0);
    jp(other, T_NEAR);  // a NaN: canonical, with RISC-V's flags, the interpreter's way
    finish_f(d, index, off, single, other, done);
    return true;
}

// feq (quiet: ucomis* raises invalid only for a signaling NaN, as §11.8 asks), flt and fle
// (signaling: comis* raises it for any NaN). Unordered operands set ZF, PF and CF, so
// "rs2 above rs1" and "rs2 above or equal" are false for them, and equality needs PF clear.
void Emitter::Impl::emit_fp_compare(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    const bool single = is_single(op);
    Label other, done;
    fp_enabled_or(other);
    if (single) {
        boxed_or(d.rs1, other);
        boxed_or(d.rs2, other);
    }
    fp_flags_pending();
    const bool eq = op == Op::feq_s || op == Op::feq_d;
    const unsigned first = eq ? d.rs1 : d.rs2, second = eq ? d.rs2 : d.rs1;
    load_f(xmm0, first, single);
    const Xbyak::Xmm b = f_operand(second, single, xmm1);
    if (single)
        eq ? ucomiss(xmm0, b) : comiss(xmm0, b);
    else
        eq ? ucomisd(xmm0, b) : comisd(xmm0, b);
    if (eq) {
        sete(dl);
        setnp(cl);
        and_(dl, cl);
    } else if (op == Op::flt_s || op == Op::flt_d) {
        seta(dl);
    } else {
        setae(dl);
    }
    movzx(edx, dl);
    finish_x(d, index, off, other, done);
}

// Before a conversion of f[rs1] to an integer (signed or unsigned): FP on, the mode RNE if it
// is frm's, a binary32 operand NaN-boxed, else `other`; then the flags it raises pending.
void Emitter::Impl::to_integer_checks(const DecodedInsn& d, bool single, Label& other) {
    fp_enabled_or(other);
    nearest_or(d, other);
    if (single) boxed_or(d.rs1, other);
    fp_flags_pending();
}

// fcvt.w and fcvt.l (signed) in RTZ (cvtt*, what C's casts compile to) or RNE (cvt* under
// MXCSR's RNE). x86's out-of-range answer, the integer indefinite (the most negative value),
// goes the interpreter's way, which saturates (§11.7); so does a true most negative result.
bool Emitter::Impl::emit_fp_to_int(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    const bool truncate = d.rm == 1;
    if (!truncate && !nearest_rm(d)) return false;
    const bool single = op == Op::fcvt_w_s || op == Op::fcvt_l_s;
    const bool w = op == Op::fcvt_w_s || op == Op::fcvt_w_d;
    Label other, done;
    to_integer_checks(d, single, other);
    const Xbyak::Xmm from = f_operand(d.rs1, single, xmm0);
    auto convert = [&](const Xbyak::Reg32e& to) {
        if (single)
            truncate ? cvttss2si(to, from) : cvtss2si(to, from);
        else
            truncate ? cvttsd2si(to, from) : cvtsd2si(to, from);
    };
    w ? convert(edx) : convert(rdx);
    if (w) {
        cmp(edx, 0x80000000u);
        je(other, T_NEAR);
        movsxd(rdx, edx);  // RV64 sign-extends a 32-bit result (§11.7)
    } else {
        mov(rax, uint64_t{1} << 63);
        cmp(rdx, rax);
        je(other, T_NEAR);
    }
    finish_x(d, index, off, other, done);
    return true;
}

// fcvt.wu and fcvt.lu (unsigned) in RTZ or RNE, for an operand whose result is in range:
// above -1 (RTZ) or at least -0.5 (RNE), where the result rounds to 0 or more, and below 2^32
// (fcvt.wu: 2^32 - 0.5 in RNE) or 2^63 (fcvt.lu: what cvt*2si's signed 64-bit result holds).
// The operand is checked before it is converted, with a quiet comparison that raises nothing
// but invalid for a signaling NaN (which RISC-V raises too, §11.7): x86's flags for an
// operand out of range (invalid, and inexact where RISC-V raises invalid alone) never reach
// MXCSR. In range, the conversion raises inexact exactly where RISC-V does. Anything else
// (NaN, out of range, 2^63 and above for fcvt.lu) goes the interpreter's way. A binary32
// operand is widened first (exactly). RV64 sign-extends fcvt.wu's 32-bit result.
bool Emitter::Impl::emit_fp_to_unsigned(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    const bool truncate = d.rm == 1;
    if (!truncate && !nearest_rm(d)) return false;
    const bool single = op == Op::fcvt_wu_s || op == Op::fcvt_lu_s;
    const bool w = op == Op::fcvt_wu_s || op == Op::fcvt_wu_d;
    Label other, done;
    to_integer_checks(d, single, other);
    if (single)
        cvtss2sd(xmm0, f_operand(d.rs1, true, xmm0));
    else
        load_f(xmm0, d.rs1, false);
    auto constant = [this](double v) {
        mov(rax, std::bit_cast<uint64_t>(v));
        movq(xmm1, rax);
    };
    constant(truncate ? -1.0 : -0.5);
    ucomisd(xmm0, xmm1);
    jp(other, T_NEAR);
    truncate ? jbe(other, T_NEAR) : jb(other, T_NEAR);
    constant(w ? (truncate ? 4294967296.0 : 4294967295.5) : 9223372036854775808.0);
    ucomisd(xmm0, xmm1);
    jae(other, T_NEAR);
    truncate ? cvttsd2si(rdx, xmm0) : cvtsd2si(rdx, xmm0);
    if (w) movsxd(rdx, edx);
    finish_x(d, index, off, other, done);
    return true;
}

// fmin and fmax (IEEE 754-2019 minimumNumber and maximumNumber, §11.6), for operands that are
// not NaN (a NaN goes the interpreter's way: the other operand or the canonical NaN, invalid
// for a signaling one): minsd/maxsd for different values; for equal ones (±0 among them) the
// OR of the two (fmin: −0 if either is) or their AND (fmax: +0 unless both are −0). No flags.
void Emitter::Impl::emit_fp_min_max(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    const bool single = is_single(op);
    const bool max = op == Op::fmax_s || op == Op::fmax_d;
    Label other, done, different, joined;
    fp_enabled_or(other);
    if (single) {
        boxed_or(d.rs1, other);
        boxed_or(d.rs2, other);
    }
    fp_flags_pending();  // ucomis* raises invalid for a signaling NaN (on the way to `other`)
    load_f(xmm0, d.rs1, single);
    const Xbyak::Xmm b = f_operand(d.rs2, single, xmm1);
    single ? ucomiss(xmm0, b) : ucomisd(xmm0, b);
    jp(other, T_NEAR);
    jne(different);
    max ? andps(xmm0, b) : orps(xmm0, b);
    jmp(joined);
    L(different);
    if (single)
        max ? maxss(xmm0, b) : minss(xmm0, b);
    else
        max ? maxsd(xmm0, b) : minsd(xmm0, b);
    L(joined);
    finish_f(d, index, off, single, other, done);
}

// fcvt.s/d from an integer register: cvtsi2s* of the value as a signed 64-bit integer, which
// is the value itself for w, wu and l, and for lu below 2^63 (above it: the interpreter's
// way). binary64 holds every 32-bit integer exactly, so fcvt.d.w[u] ignores the mode (§11.7).
bool Emitter::Impl::emit_int_to_fp(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    const bool exact = op == Op::fcvt_d_w || op == Op::fcvt_d_wu;
    if (exact ? d.rm == 5 || d.rm == 6 : !nearest_rm(d)) return false;
    const bool single = is_single(op);
    Label other, done;
    fp_enabled_or(other);
    exact ? legal_rm_or(d, other) : nearest_or(d, other);
    get(rax, d.rs1);
    if (op == Op::fcvt_s_w || op == Op::fcvt_d_w) movsxd(rax, eax);
    if (op == Op::fcvt_s_wu || op == Op::fcvt_d_wu) mov(eax, eax);
    if (op == Op::fcvt_s_lu || op == Op::fcvt_d_lu) {
        test(rax, rax);
        js(other, T_NEAR);
    }
    fp_flags_pending();
    xorps(xmm0, xmm0);  // cvtsi2s* merges into xmm0: no wait on its last writer
    single ? cvtsi2ss(xmm0, rax) : cvtsi2sd(xmm0, rax);
    finish_f(d, index, off, single, other, done);
    return true;
}

// fcvt.s.d rounds (RNE natively); fcvt.d.s is exact (§12.5). A NaN goes the interpreter's way.
bool Emitter::Impl::emit_fp_convert(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    const bool widen = op == Op::fcvt_d_s;
    if (widen ? d.rm == 5 || d.rm == 6 : !nearest_rm(d)) return false;
    Label other, done;
    fp_enabled_or(other);
    widen ? legal_rm_or(d, other) : nearest_or(d, other);
    if (widen) boxed_or(d.rs1, other);
    fp_flags_pending();
    if (widen) {
        cvtss2sd(xmm0, f_operand(d.rs1, true, xmm0));
        ucomisd(xmm0, xmm0);
    } else {
        cvtsd2ss(xmm0, f_operand(d.rs1, false, xmm0));
        ucomiss(xmm0, xmm0);
    }
    jp(other, T_NEAR);
    finish_f(d, index, off, !widen, other, done);
    return true;
}

// Sign injection (§11.7): the magnitude of rs1 with a sign from rs2 (fsgnj), its inverse
// (fsgnjn) or the XOR of both signs (fsgnjx); fmv, fneg and fabs are its rs1 = rs2 forms.
// Raw bits: no flags, NaNs kept as they are.
void Emitter::Impl::emit_fp_sign(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    const bool single = is_single(op);
    const uint8_t sign = single ? 31 : 63;
    const Xbyak::Reg a = single ? Xbyak::Reg(eax) : Xbyak::Reg(rax);
    const Xbyak::Reg b = single ? Xbyak::Reg(edx) : Xbyak::Reg(rdx);
    auto f = [&](unsigned r) { return single ? dword[rbx + m_l.freg(r)] : F(r); };
    Label other, done;
    fp_enabled_or(other);
    if (single) {
        boxed_or(d.rs1, other);
        boxed_or(d.rs2, other);
    }
    mov(a, f(d.rs1));
    mov(b, f(d.rs2));
    if (op == Op::fsgnjn_s || op == Op::fsgnjn_d) not_(b);
    if (op != Op::fsgnjx_s && op != Op::fsgnjx_d) btr(a, sign);
    shr(b, sign);
    shl(b, sign);
    (op == Op::fsgnjx_s || op == Op::fsgnjx_d) ? xor_(a, b) : or_(a, b);
    mark_fs_dirty();
    if (single)
        write_f32(d.rd, eax);
    else
        write_f64(d.rd, rax);
    L(done);
    cold_fallback(d, index, off, other, done, false);
}

// Raw moves between the register files (§11.7, §12.5): fmv.x.w sign-extends the low half
// whatever the upper holds; fmv.w.x NaN-boxes.
void Emitter::Impl::emit_fp_move(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    Label other, done;
    fp_enabled_or(other);
    const bool to_x = op == Op::fmv_x_w || op == Op::fmv_x_d;
    if (op == Op::fmv_x_w) movsxd(rax, dword[rbx + m_l.freg(d.rs1)]);
    if (op == Op::fmv_x_d) mov(rax, F(d.rs1));
    if (!to_x) {
        get(rax, d.rs1);
        mark_fs_dirty();
        if (op == Op::fmv_w_x)
            write_f32(d.rd, eax);
        else
            write_f64(d.rd, rax);
    }
    L(done);
    cold_fallback(d, index, off, other, done, to_x);
    if (to_x) put(d.rd, rax);
}

// The CSR instructions on fflags, frm and fcsr (Zicsr, unpriv spec §9.1; the CSRs §11.2),
// as csr_op and Hart::csr_read/csr_write run them: legal wherever FP is on (they are user
// CSRs, and none is read-only), no side effect of a read, a write keeps the low 5 (fflags), 3
// (frm) or 8 bits (fcsr) and makes FS Dirty, and csrrs/csrrc with x0 or uimm 0 do not write.
// Neither changes a translation or makes an interrupt deliverable, so the block goes on.
// Compilers emit them around every quiet comparison (frflags, flt, fsflags: C's isless, and
// sqrt's domain check under -fmath-errno) and glibc's fenv functions use them.
void Emitter::Impl::emit_fp_csr(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    const auto num = static_cast<uint16_t>(d.imm);
    const bool imm = op == Op::csrrwi || op == Op::csrrsi || op == Op::csrrci;
    const bool write = op == Op::csrrw || op == Op::csrrwi;
    const bool clear = op == Op::csrrc || op == Op::csrrci;
    const bool writes = write || d.rs1 != 0;
    Label other, done;
    fp_enabled_or(other);
    if (num != csr::FRM) accrue_fp_flags();  // fflags as the interpreter would have it
    if (num == csr::FFLAGS) movzx(eax, byte[rbx + m_l.fflags]);
    if (num == csr::FRM) movzx(eax, byte[rbx + m_l.frm]);
    if (num == csr::FCSR) {
        movzx(eax, byte[rbx + m_l.frm]);
        shl(eax, 5);
        or_(al, byte[rbx + m_l.fflags]);
    }
    if (writes) {
        if (imm)
            mov(edx, d.rs1);
        else
            get(rdx, d.rs1);
        if (clear) {
            not_(rdx);
            and_(rdx, rax);
        } else if (!write) {
            or_(rdx, rax);
        }
        if (num == csr::FRM) {
            and_(dl, 7);
            mov(byte[rbx + m_l.frm], dl);
        } else {
            mov(ecx, edx);
            and_(cl, 0x1f);
            mov(byte[rbx + m_l.fflags], cl);
            if (num == csr::FCSR) {
                shr(edx, 5);
                and_(dl, 7);
                mov(byte[rbx + m_l.frm], dl);
            }
        }
        mark_fs_dirty();
    }
    L(done);
    cold_fallback(d, index, off, other, done, true);
    put(d.rd, rax);
}

// f[rd] = what flw or fld loaded into r (flw NaN-boxes, §12.2).
void Emitter::Impl::write_f_loaded(unsigned rd, unsigned size, const Reg64& r) {
    if (size == 4)
        write_f32(rd, r.cvt32());
    else
        write_f64(rd, r);
}

// --- f registers pinned to host xmm registers ---------------------------------------------------
//
// A loop region keeps copies of the f registers its FP instructions use most in xmm8-xmm15
// (plan_fp_pins), so a chain of FP instructions across its iterations waits on no store-to-load
// forwarding through HartState. HartState stays authoritative: every write goes to both, so
// exits, traps, cold paths and the interpreter's semantics need nothing, and a copy is loaded
// again where it may have gone stale: on entry to the region and after every call into C++
// (call_host: the System V ABI lets C++ clobber every xmm register, and the interpreter's
// semantics may have written f registers). A register is pinned only if every native use of it
// in the region is of one width, which is the width its copy is exact to (a binary32 pin's
// copy holds the value in its low 32 bits, not the NaN-boxing; boxed_or reads HartState).

namespace {

// The f registers instruction d reads through SSE (up to three, kNone where fewer), the one it
// writes natively (kNone if none), and their widths (true: binary32).
constexpr uint8_t kNone = 0xff;
struct FpRegs {
    std::array<uint8_t, 3> reads{kNone, kNone, kNone};
    uint8_t write = kNone;
    bool read_single = false, write_single = false;
};

FpRegs fp_regs(const DecodedInsn& d) {
    FpRegs u;
    const auto op = static_cast<Op>(d.op);
    const bool single = is_single(op);
    switch (op) {
        case Op::fmadd_s: case Op::fmsub_s: case Op::fnmsub_s: case Op::fnmadd_s:
        case Op::fmadd_d: case Op::fmsub_d: case Op::fnmsub_d: case Op::fnmadd_d:
            u.reads = {d.rs1, d.rs2, d.rs3};
            u.write = d.rd;
            break;
        case Op::fadd_s: case Op::fsub_s: case Op::fmul_s: case Op::fdiv_s: case Op::fmin_s: case Op::fmax_s:
        case Op::fadd_d: case Op::fsub_d: case Op::fmul_d: case Op::fdiv_d: case Op::fmin_d: case Op::fmax_d:
            u.reads = {d.rs1, d.rs2, kNone};
            u.write = d.rd;
            break;
        case Op::fsqrt_s: case Op::fsqrt_d:
            u.reads = {d.rs1, kNone, kNone};
            u.write = d.rd;
            break;
        case Op::feq_s: case Op::flt_s: case Op::fle_s: case Op::feq_d: case Op::flt_d: case Op::fle_d:
            u.reads = {d.rs1, d.rs2, kNone};
            break;
        case Op::fcvt_w_s: case Op::fcvt_l_s: case Op::fcvt_wu_s: case Op::fcvt_lu_s:
        case Op::fcvt_w_d: case Op::fcvt_l_d: case Op::fcvt_wu_d: case Op::fcvt_lu_d:
            u.reads = {d.rs1, kNone, kNone};
            break;
        case Op::fcvt_s_w: case Op::fcvt_s_wu: case Op::fcvt_s_l: case Op::fcvt_s_lu:
        case Op::fcvt_d_w: case Op::fcvt_d_wu: case Op::fcvt_d_l: case Op::fcvt_d_lu:
        case Op::fsgnj_s: case Op::fsgnjn_s: case Op::fsgnjx_s: case Op::fsgnj_d: case Op::fsgnjn_d:
        case Op::fsgnjx_d: case Op::fmv_w_x: case Op::fmv_d_x: case Op::flw: case Op::fld:
            u.write = d.rd;  // sign injection reads HartState through integer registers
            u.write_single = op == Op::fmv_w_x || op == Op::flw || single;
            return u;
        case Op::fcvt_s_d:
            u.reads = {d.rs1, kNone, kNone};
            u.write = d.rd;
            u.write_single = true;
            return u;
        case Op::fcvt_d_s:
            u.reads = {d.rs1, kNone, kNone};
            u.read_single = true;
            u.write = d.rd;
            return u;
        default:
            return u;
    }
    u.read_single = u.write_single = single;
    return u;
}

}  // namespace

// Which f registers the loop region `blocks` pins (see above; no blocks: none): those with at least one read
// and two uses, all of one width, most used first; none unless at least an eighth of the
// region's instructions read f registers through SSE (the copies are loaded on every entry and
// after every call: a region that mostly does other work, such as an interpreter's dispatch
// loop with a float case, loses by them: python3 in bench/programs.sh).
void Emitter::Impl::plan_fp_pins(std::span<const interp::Block* const> blocks) {
    m_fpins.fill(FpPin{});
    m_fpins_used = 0;
    size_t insns = 0, fp_insns = 0;
    std::array<unsigned, 32> uses{}, reads{};
    std::array<uint8_t, 32> widths{};  // bit 0: binary32, bit 1: binary64
    auto note = [&](uint8_t r, bool single, bool read) {
        if (r == kNone) return;
        ++uses[r];
        if (read) ++reads[r];
        widths[r] |= single ? 1 : 2;
    };
    for (const interp::Block* b : blocks) {
        for (const DecodedInsn& d : b->insns) {
            const FpRegs u = fp_regs(d);
            ++insns;
            if (u.reads[0] != kNone) ++fp_insns;
            for (const uint8_t r : u.reads) note(r, u.read_single, true);
            note(u.write, u.write_single, false);
        }
    }
    if (insns == 0 || 8 * fp_insns < insns) return;
    std::array<uint8_t, 32> order{};
    for (uint8_t r = 0; r < 32; ++r) order[r] = r;
    std::stable_sort(order.begin(), order.end(), [&](uint8_t x, uint8_t y) { return uses[x] > uses[y]; });
    int8_t next = 0;
    for (const uint8_t r : order) {
        if (next == kFpPins || uses[r] < 2) break;
        if (reads[r] == 0 || (widths[r] != 1 && widths[r] != 2)) continue;
        m_fpins[r] = FpPin{next++, widths[r] == 1};
        m_fpins_used = static_cast<unsigned>(next);
    }
}

// Every pin's copy loaded from HartState.
void Emitter::Impl::load_fp_pins() {
    if (m_fpins_used == 0) return;  // most regions: this follows every call out of them
    for (unsigned r = 0; r < 32; ++r) {
        if (m_fpins[r].xmm < 0) continue;
        const Xbyak::Xmm x = pin_xmm(m_fpins[r].xmm);
        m_fpins[r].single ? movss(x, dword[rbx + m_l.freg(r)]) : movsd(x, F(r));
    }
}

// The pin of f[r] if r is pinned at this width, else -1.
int Emitter::Impl::pin_of(unsigned r, bool single) const {
    const FpPin& p = m_fpins[r];
    if (p.xmm < 0) return -1;
    assert(p.single == single && "plan_fp_pins pins a register used at one width only");
    return p.single == single ? p.xmm : -1;
}

// to = f[r] at the width (a copy of its pin if it has one).
void Emitter::Impl::load_f(const Xbyak::Xmm& to, unsigned r, bool single) {
    if (const int i = pin_of(r, single); i >= 0)
        movaps(to, pin_xmm(i));
    else
        single ? movss(to, dword[rbx + m_l.freg(r)]) : movsd(to, F(r));
}

// f[r] as an operand: its pin, or `scratch` loaded with it.
Xbyak::Xmm Emitter::Impl::f_operand(unsigned r, bool single, const Xbyak::Xmm& scratch) {
    if (const int i = pin_of(r, single); i >= 0) return pin_xmm(i);
    load_f(scratch, r, single);
    return scratch;
}

// After f[rd] = v was stored: its pin's copy too.
void Emitter::Impl::mirror_f(unsigned rd, bool single, const Xbyak::Xmm& v) {
    if (const int i = pin_of(rd, single); i >= 0) movaps(pin_xmm(i), v);
}

}  // namespace trapeze::rv64::jit
