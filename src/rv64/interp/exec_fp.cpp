// F and D semantics (unpriv spec ch. 11, 12): the register file side — FS state, rounding-mode
// resolution, NaN-boxing, fflags accrual — around the arithmetic in rv64/fpu.
//
// Every F/D instruction is illegal while mstatus.FS is Off (priv spec §3.1.6.6). Writing an f
// register or changing fflags sets FS to Dirty.
#include "rv64/fpu/fpu.hpp"
#include "rv64/interp/exec.hpp"

namespace trapeze::rv64::interp {

namespace {

using fpu::FpResult;
using fpu::RoundingMode;

static_assert(fpu::kFlagNX == csr::FFLAG_NX && fpu::kFlagUF == csr::FFLAG_UF && fpu::kFlagOF == csr::FFLAG_OF &&
              fpu::kFlagDZ == csr::FFLAG_DZ && fpu::kFlagNV == csr::FFLAG_NV);

// The rounding mode an instruction uses (unpriv spec §11.2): rm = 7 selects frm; rm = 5, 6 and
// frm >= 5 are reserved, and executing the instruction then is illegal. Instructions that are
// unaffected by the mode (fcvt.d.s, fcvt.d.w[u]) check it all the same (§11.7).
bool resolve_rm(const Hart& h, const DecodedInsn& d, RoundingMode& rm) {
    const unsigned mode = d.rm == 7 ? h.s.frm : d.rm;
    if (mode > static_cast<unsigned>(RoundingMode::RMM)) return false;
    rm = static_cast<RoundingMode>(mode);
    return true;
}

// Runs op(rm) for an instruction with a rounding mode, or raises illegal instruction.
template <typename Op>
bool with_rm(Hart& h, const DecodedInsn& d, Op op) {
    RoundingMode rm{};
    if (!h.fp_enabled() || !resolve_rm(h, d, rm)) return h.raise_illegal(d);
    op(rm);
    return true;
}

// Runs op() for an instruction without one (funct3 is part of the opcode), or raises illegal.
template <typename Op>
bool without_rm(Hart& h, const DecodedInsn& d, Op op) {
    if (!h.fp_enabled()) return h.raise_illegal(d);
    op();
    return true;
}

// Operands. A binary32 operand that is not properly NaN-boxed reads as the canonical NaN (§12.2).
uint32_t s1(const Hart& h, const DecodedInsn& d) {
    return fpu::unbox_f32(h.s.f[d.rs1]);
}
uint32_t s2(const Hart& h, const DecodedInsn& d) {
    return fpu::unbox_f32(h.s.f[d.rs2]);
}
uint32_t s3(const Hart& h, const DecodedInsn& d) {
    return fpu::unbox_f32(h.s.f[d.rs3]);
}
uint64_t d1(const Hart& h, const DecodedInsn& d) {
    return h.s.f[d.rs1];
}
uint64_t d2(const Hart& h, const DecodedInsn& d) {
    return h.s.f[d.rs2];
}
uint64_t d3(const Hart& h, const DecodedInsn& d) {
    return h.s.f[d.rs3];
}
uint64_t x1(const Hart& h, const DecodedInsn& d) {
    return h.s.x[d.rs1];
}

uint64_t sext32(uint64_t v) {
    return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
}

// Results. Flags accrue into fflags (§11.2); a binary32 result is written NaN-boxed (§12.2).
void accrue(Hart& h, uint8_t flags) {
    if (flags == 0) return;
    h.s.fflags = static_cast<uint8_t>(h.s.fflags | flags);
    h.set_fs_dirty();
}
void write_f(Hart& h, const DecodedInsn& d, uint64_t bits) {
    h.s.f[d.rd] = bits;
    h.set_fs_dirty();
}
void set_s(Hart& h, const DecodedInsn& d, FpResult r) {
    write_f(h, d, fpu::box_f32(static_cast<uint32_t>(r.bits)));
    accrue(h, r.flags);
}
void set_d(Hart& h, const DecodedInsn& d, FpResult r) {
    write_f(h, d, r.bits);
    accrue(h, r.flags);
}
// x[rd] (x[32] when rd is x0); 32-bit integer results are sign-extended on RV64 (§11.7).
void set_x(Hart& h, const DecodedInsn& d, FpResult r) {
    h.s.x[d.rd] = r.bits;
    accrue(h, r.flags);
}
void set_x_w(Hart& h, const DecodedInsn& d, FpResult r) {
    set_x(h, d, {sext32(r.bits), r.flags});
}

// Sign injection (§11.7): sign bit from `sign`, the rest from `mag`; no flags, NaNs kept as is.
template <typename U>
U inject_sign(U mag, U sign) {
    constexpr U kSign = U{1} << (sizeof(U) * 8 - 1);
    return static_cast<U>((mag & ~kSign) | (sign & kSign));
}

uint64_t address(const Hart& h, const DecodedInsn& d) {
    return h.s.x[d.rs1] + static_cast<uint64_t>(static_cast<int64_t>(d.imm));
}

}  // namespace

// --- loads and stores (§11.5, §12.3): transfers, so the bits move unchanged --------------------------
bool exec_flw(Hart& h, const DecodedInsn& d) {
    if (!h.fp_enabled()) return h.raise_illegal(d);
    uint32_t v = 0;
    if (!h.load<uint32_t>(address(h, d), v)) return false;
    write_f(h, d, fpu::box_f32(v));
    return true;
}
bool exec_fld(Hart& h, const DecodedInsn& d) {
    if (!h.fp_enabled()) return h.raise_illegal(d);
    uint64_t v = 0;
    if (!h.load<uint64_t>(address(h, d), v)) return false;
    write_f(h, d, v);
    return true;
}
bool exec_fsw(Hart& h, const DecodedInsn& d) {
    if (!h.fp_enabled()) return h.raise_illegal(d);
    return h.store<uint32_t>(address(h, d), static_cast<uint32_t>(h.s.f[d.rs2]));  // low 32 bits, unchecked
}
bool exec_fsd(Hart& h, const DecodedInsn& d) {
    if (!h.fp_enabled()) return h.raise_illegal(d);
    return h.store<uint64_t>(address(h, d), h.s.f[d.rs2]);
}

// --- binary32 arithmetic (§11.6) -------------------------------------------------------------
bool exec_fadd_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::f32_add(s1(h, d), s2(h, d), rm)); });
}
bool exec_fsub_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::f32_sub(s1(h, d), s2(h, d), rm)); });
}
bool exec_fmul_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::f32_mul(s1(h, d), s2(h, d), rm)); });
}
bool exec_fdiv_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::f32_div(s1(h, d), s2(h, d), rm)); });
}
bool exec_fsqrt_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::f32_sqrt(s1(h, d), rm)); });
}
bool exec_fmadd_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::f32_fmadd(s1(h, d), s2(h, d), s3(h, d), rm)); });
}
bool exec_fmsub_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::f32_fmsub(s1(h, d), s2(h, d), s3(h, d), rm)); });
}
bool exec_fnmsub_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::f32_fnmsub(s1(h, d), s2(h, d), s3(h, d), rm)); });
}
bool exec_fnmadd_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::f32_fnmadd(s1(h, d), s2(h, d), s3(h, d), rm)); });
}
bool exec_fmin_s(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_s(h, d, fpu::f32_min(s1(h, d), s2(h, d))); });
}
bool exec_fmax_s(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_s(h, d, fpu::f32_max(s1(h, d), s2(h, d))); });
}

// --- binary64 arithmetic (§12.4) -------------------------------------------------------------
bool exec_fadd_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::f64_add(d1(h, d), d2(h, d), rm)); });
}
bool exec_fsub_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::f64_sub(d1(h, d), d2(h, d), rm)); });
}
bool exec_fmul_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::f64_mul(d1(h, d), d2(h, d), rm)); });
}
bool exec_fdiv_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::f64_div(d1(h, d), d2(h, d), rm)); });
}
bool exec_fsqrt_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::f64_sqrt(d1(h, d), rm)); });
}
bool exec_fmadd_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::f64_fmadd(d1(h, d), d2(h, d), d3(h, d), rm)); });
}
bool exec_fmsub_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::f64_fmsub(d1(h, d), d2(h, d), d3(h, d), rm)); });
}
bool exec_fnmsub_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::f64_fnmsub(d1(h, d), d2(h, d), d3(h, d), rm)); });
}
bool exec_fnmadd_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::f64_fnmadd(d1(h, d), d2(h, d), d3(h, d), rm)); });
}
bool exec_fmin_d(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_d(h, d, fpu::f64_min(d1(h, d), d2(h, d))); });
}
bool exec_fmax_d(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_d(h, d, fpu::f64_max(d1(h, d), d2(h, d))); });
}

// --- sign injection (§11.7, §12.5) -------------------------------------------------------------
bool exec_fsgnj_s(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_s(h, d, {inject_sign(s1(h, d), s2(h, d)), 0}); });
}
bool exec_fsgnjn_s(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_s(h, d, {inject_sign(s1(h, d), static_cast<uint32_t>(~s2(h, d))), 0}); });
}
bool exec_fsgnjx_s(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_s(h, d, {inject_sign(s1(h, d), s1(h, d) ^ s2(h, d)), 0}); });
}
bool exec_fsgnj_d(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_d(h, d, {inject_sign(d1(h, d), d2(h, d)), 0}); });
}
bool exec_fsgnjn_d(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_d(h, d, {inject_sign(d1(h, d), ~d2(h, d)), 0}); });
}
bool exec_fsgnjx_d(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_d(h, d, {inject_sign(d1(h, d), d1(h, d) ^ d2(h, d)), 0}); });
}

// --- comparisons and classification (§11.8, §11.9, §12.6) ----------------------------------------
bool exec_feq_s(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_x(h, d, fpu::f32_eq(s1(h, d), s2(h, d))); });
}
bool exec_flt_s(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_x(h, d, fpu::f32_lt(s1(h, d), s2(h, d))); });
}
bool exec_fle_s(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_x(h, d, fpu::f32_le(s1(h, d), s2(h, d))); });
}
bool exec_fclass_s(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { h.s.x[d.rd] = fpu::f32_classify(s1(h, d)); });
}
bool exec_feq_d(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_x(h, d, fpu::f64_eq(d1(h, d), d2(h, d))); });
}
bool exec_flt_d(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_x(h, d, fpu::f64_lt(d1(h, d), d2(h, d))); });
}
bool exec_fle_d(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { set_x(h, d, fpu::f64_le(d1(h, d), d2(h, d))); });
}
bool exec_fclass_d(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { h.s.x[d.rd] = fpu::f64_classify(d1(h, d)); });
}

// --- float to integer (§11.7, §12.5) -----------------------------------------------------------
bool exec_fcvt_w_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_x_w(h, d, fpu::f32_to_i32(s1(h, d), rm)); });
}
bool exec_fcvt_wu_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_x_w(h, d, fpu::f32_to_u32(s1(h, d), rm)); });
}
bool exec_fcvt_l_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_x(h, d, fpu::f32_to_i64(s1(h, d), rm)); });
}
bool exec_fcvt_lu_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_x(h, d, fpu::f32_to_u64(s1(h, d), rm)); });
}
bool exec_fcvt_w_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_x_w(h, d, fpu::f64_to_i32(d1(h, d), rm)); });
}
bool exec_fcvt_wu_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_x_w(h, d, fpu::f64_to_u32(d1(h, d), rm)); });
}
bool exec_fcvt_l_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_x(h, d, fpu::f64_to_i64(d1(h, d), rm)); });
}
bool exec_fcvt_lu_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_x(h, d, fpu::f64_to_u64(d1(h, d), rm)); });
}

// --- integer to float (§11.7, §12.5) -----------------------------------------------------------
bool exec_fcvt_s_w(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::i32_to_f32(static_cast<int32_t>(x1(h, d)), rm)); });
}
bool exec_fcvt_s_wu(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::u32_to_f32(static_cast<uint32_t>(x1(h, d)), rm)); });
}
bool exec_fcvt_s_l(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::i64_to_f32(static_cast<int64_t>(x1(h, d)), rm)); });
}
bool exec_fcvt_s_lu(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::u64_to_f32(x1(h, d), rm)); });
}
bool exec_fcvt_d_w(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::i32_to_f64(static_cast<int32_t>(x1(h, d)), rm)); });
}
bool exec_fcvt_d_wu(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::u32_to_f64(static_cast<uint32_t>(x1(h, d)), rm)); });
}
bool exec_fcvt_d_l(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::i64_to_f64(static_cast<int64_t>(x1(h, d)), rm)); });
}
bool exec_fcvt_d_lu(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_d(h, d, fpu::u64_to_f64(x1(h, d), rm)); });
}

// --- between formats (§12.5) ----------------------------------------------------------------------
bool exec_fcvt_s_d(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode rm) { set_s(h, d, fpu::f64_to_f32(d1(h, d), rm)); });
}
bool exec_fcvt_d_s(Hart& h, const DecodedInsn& d) {
    return with_rm(h, d, [&](RoundingMode) { set_d(h, d, fpu::f32_to_f64(s1(h, d))); });
}

// --- moves (§11.7, §12.5): transfers of raw bits; the narrow move out ignores the boxing ---------
bool exec_fmv_x_w(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { h.s.x[d.rd] = sext32(h.s.f[d.rs1]); });
}
bool exec_fmv_w_x(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { write_f(h, d, fpu::box_f32(static_cast<uint32_t>(x1(h, d)))); });
}
bool exec_fmv_x_d(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { h.s.x[d.rd] = h.s.f[d.rs1]; });
}
bool exec_fmv_d_x(Hart& h, const DecodedInsn& d) {
    return without_rm(h, d, [&] { write_f(h, d, x1(h, d)); });
}

}  // namespace trapeze::rv64::interp
