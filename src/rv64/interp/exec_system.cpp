// Zicsr, Zifencei, fences, the privileged instructions (priv spec §3.3, §4.2.1) and
// Zicbom/Zicboz (CMO spec v1.0). Those that can change translation or privilege end their
// block (dispatch.cpp), so the dispatcher re-checks; CSR instructions do when their write
// changed translation or made an interrupt deliverable.
#include <atomic>

#include "rv64/interp/exec.hpp"

namespace trapeze::rv64::interp {

using namespace csr;

namespace {

constexpr uint64_t kCacheBlock = 64;  // riscv,cbom-block-size / cboz-block-size in the device tree

enum class CsrOp { Write, Set, Clear };

// Zicsr semantics (unpriv spec §9.1): csrrw with rd=x0 does not read; csrrs/csrrc with
// rs1=x0 (or uimm=0) do not write, so they are legal on read-only CSRs.
bool csr_op(Hart& h, const DecodedInsn& d, CsrOp op, uint64_t operand, bool source_is_zero) {
    const auto num = static_cast<uint16_t>(d.imm);
    const bool reads = op != CsrOp::Write || d.rd != 32;
    const bool writes = op == CsrOp::Write || !source_is_zero;
    const uint64_t context = h.context_gen();
    uint64_t old = 0;
    if (writes && (num >> 10) == 3) return h.raise_illegal(d);
    if (reads && !h.csr_read(num, old)) return h.raise(h.csr_refusal(), d.raw);
    if (!reads) {
        uint64_t ignored = 0;
        if (!h.csr_read(num, ignored)) return h.raise(h.csr_refusal(), d.raw);  // existence and privilege
    }
    if (writes) {
        // priv spec §3.1.9: a read-modify-write of mip works on the software-writable SEIP
        // bit, not on the value OR-ed with the PLIC's line; otherwise OpenSBI's `csrs mip,
        // SSIP` for an IPI would latch a momentary external interrupt into mip forever.
        const uint64_t base = num == MIP ? h.s.mip : old;
        const uint64_t next = op == CsrOp::Write ? operand : op == CsrOp::Set ? (base | operand) : (base & ~operand);
        if (!h.csr_write(num, next)) return h.raise(h.csr_refusal(), d.raw);
    }
    h.s.x[d.rd] = old;
    if (h.context_gen() == context && h.deliverable_interrupts() == 0) return true;
    // End the block: the rest of it was fetched under the old translation, or an interrupt
    // the write enabled must be taken before the next instruction.
    h.s.pc += d.len;
    return false;
}

// CMO gating by menvcfg/henvcfg/senvcfg (CMO spec §2.5.1–2.5.2): the exception an
// instruction raises here, or 0 if it is allowed. With V=1, what menvcfg allows but henvcfg
// (or, in VU-mode, senvcfg) does not is a virtual instruction.
uint64_t cbo_refusal(const Hart& h, uint64_t field) {
    if (h.s.priv == Priv::M) return 0;
    if ((h.s.menvcfg & field) == 0) return EXC_ILLEGAL_INST;
    const bool s_allows = h.s.priv == Priv::S || (h.s.senvcfg & field) != 0;
    if (h.s.virt) return (h.s.henvcfg & field) != 0 && s_allows ? uint64_t{0} : uint64_t{EXC_VIRTUAL_INST};
    return s_allows ? uint64_t{0} : uint64_t{EXC_ILLEGAL_INST};
}

// The hypervisor's instructions (HLV, HSV, HFENCE: priv spec §8.3): virtual instructions
// with V=1, illegal without the extension or in U-mode (but HLV/HSV with hstatus.HU).
uint64_t hyp_insn_refusal(const Hart& h, bool user_allowed) {
    if (!h.has_hypervisor()) return EXC_ILLEGAL_INST;
    if (h.s.virt) return EXC_VIRTUAL_INST;
    if (h.s.priv == Priv::U && !user_allowed) return EXC_ILLEGAL_INST;
    return 0;
}

bool hyp_load(Hart& h, const DecodedInsn& d, unsigned size, bool sign, bool exec) {
    if (const uint64_t cause = hyp_insn_refusal(h, (h.s.hstatus & HSTATUS_HU) != 0)) return h.raise(cause, d.raw);
    uint64_t v = 0;
    if (!h.hyp_load(h.s.x[d.rs1], size, exec, v)) return false;
    h.s.x[d.rd] = sign && size < 8 ? static_cast<uint64_t>(sext(v, 8 * size)) : v;
    return true;
}

bool hyp_store(Hart& h, const DecodedInsn& d, unsigned size) {
    if (const uint64_t cause = hyp_insn_refusal(h, (h.s.hstatus & HSTATUS_HU) != 0)) return h.raise(cause, d.raw);
    return h.hyp_store(h.s.x[d.rs1], size, h.s.x[d.rs2]);
}

}  // namespace

bool exec_csrrw(Hart& h, const DecodedInsn& d) { return csr_op(h, d, CsrOp::Write, h.s.x[d.rs1], false); }
bool exec_csrrs(Hart& h, const DecodedInsn& d) { return csr_op(h, d, CsrOp::Set, h.s.x[d.rs1], d.rs1 == 0); }
bool exec_csrrc(Hart& h, const DecodedInsn& d) { return csr_op(h, d, CsrOp::Clear, h.s.x[d.rs1], d.rs1 == 0); }
bool exec_csrrwi(Hart& h, const DecodedInsn& d) { return csr_op(h, d, CsrOp::Write, d.rs1, false); }
bool exec_csrrsi(Hart& h, const DecodedInsn& d) { return csr_op(h, d, CsrOp::Set, d.rs1, d.rs1 == 0); }
bool exec_csrrci(Hart& h, const DecodedInsn& d) { return csr_op(h, d, CsrOp::Clear, d.rs1, d.rs1 == 0); }

// Each hart executes in program order, and the host (x86-64, TSO) keeps every ordering but
// store→load for other threads: only a FENCE that asks for that one needs a full barrier
// (RVWMO, unpriv spec ch. 17; harts on several host threads, issue 21). The others still keep
// the compiler from moving guest accesses across them.
bool exec_fence(Hart&, const DecodedInsn& d) {
    if (fence_orders_store_to_load(d))
        std::atomic_thread_fence(std::memory_order_seq_cst);
    else
        std::atomic_thread_fence(std::memory_order_acq_rel);
    return true;
}

// A hart's own stores to pages with decoded code drop those blocks at once (CodeCache), so
// its instruction stream already sees them; other harts' stores may reach it only now, when
// it takes what they posted (CodeCoherence). Either way the rest of the block may be stale:
// FENCE.I ends it.
bool exec_fence_i(Hart& h, const DecodedInsn& d) {
    h.fence_i();
    h.s.pc += d.len;
    return false;
}

bool exec_ecall(Hart& h, const DecodedInsn&) {
    const uint64_t cause = h.s.priv == Priv::U ? EXC_ECALL_U
                           : h.s.priv == Priv::S ? (h.s.virt ? EXC_ECALL_VS : EXC_ECALL_S)
                                                 : EXC_ECALL_M;
    return h.raise(cause, 0);
}

bool exec_ebreak(Hart& h, const DecodedInsn&) { return h.raise(EXC_BREAKPOINT, h.s.pc); }

bool exec_mret(Hart& h, const DecodedInsn& d) {
    if (h.s.priv != Priv::M) return h.raise_illegal(d);
    return h.exec_mret();
}

// With V=1 (priv spec §8.6.1) SRET is a virtual instruction in VU-mode, and in VS-mode with
// hstatus.VTSR; mstatus.TSR traps it in HS-mode only.
bool exec_sret(Hart& h, const DecodedInsn& d) {
    if (h.s.virt) {
        if (h.s.priv == Priv::U || (h.s.hstatus & HSTATUS_VTSR) != 0) return h.raise_virtual(d);
        return h.exec_sret();
    }
    if (h.s.priv == Priv::U || (h.s.priv == Priv::S && (h.s.mstatus & MSTATUS_TSR) != 0)) return h.raise_illegal(d);
    return h.exec_sret();
}

// priv spec §3.3.3: WFI is illegal in U-mode (S-mode exists) and in S-mode with TW=1; below
// M with TW=1 whatever V is; with V=1 and TW=0, a virtual instruction in VU-mode, and in
// VS-mode with hstatus.VTW (§8.6.1).
bool exec_wfi(Hart& h, const DecodedInsn& d) {
    if (h.s.priv != Priv::M && (h.s.mstatus & MSTATUS_TW) != 0) return h.raise_illegal(d);
    if (h.s.virt && (h.s.priv == Priv::U || (h.s.hstatus & HSTATUS_VTW) != 0)) return h.raise_virtual(d);
    if (h.s.priv == Priv::U) return h.raise_illegal(d);
    h.s.pc += d.len;
    h.s.wfi = true;
    return false;
}

// priv spec §4.2.1; with V=1 (§8.6.1) a virtual instruction in VU-mode and in VS-mode with
// hstatus.VTVM, and otherwise it fences the guest's VS-stage translations.
bool exec_sfence_vma(Hart& h, const DecodedInsn& d) {
    if (h.s.virt) {
        if (h.s.priv == Priv::U || (h.s.hstatus & HSTATUS_VTVM) != 0) return h.raise_virtual(d);
    } else if (h.s.priv == Priv::U || (h.s.priv == Priv::S && (h.s.mstatus & MSTATUS_TVM) != 0)) {
        return h.raise_illegal(d);  // mstatus.TVM traps HS-mode only
    }
    if (d.rs1 != 0)
        h.flush_tlb_va(h.s.x[d.rs1]);
    else if (d.rs2 != 0)
        h.flush_tlb_asid(h.s.x[d.rs2] & mask_low(kAsidBits));
    else
        h.flush_tlb();
    h.s.pc += d.len;
    return false;
}

// There are no caches to manage: after the permission checks, clean/flush/inval are no-ops.
bool exec_cbo_clean(Hart& h, const DecodedInsn& d) {
    if (const uint64_t cause = cbo_refusal(h, MENVCFG_CBCFE)) return h.raise(cause, d.raw);
    return h.probe(h.s.x[d.rs1] & ~(kCacheBlock - 1), Access::Write);
}
bool exec_cbo_flush(Hart& h, const DecodedInsn& d) { return exec_cbo_clean(h, d); }
bool exec_cbo_inval(Hart& h, const DecodedInsn& d) {
    // CBIE=00: illegal
    if (const uint64_t cause = cbo_refusal(h, MENVCFG_CBIE & (MENVCFG_CBIE >> 1))) return h.raise(cause, d.raw);
    return h.probe(h.s.x[d.rs1] & ~(kCacheBlock - 1), Access::Write);
}
bool exec_cbo_zero(Hart& h, const DecodedInsn& d) {
    if (const uint64_t cause = cbo_refusal(h, MENVCFG_CBZE)) return h.raise(cause, d.raw);
    const uint64_t base = h.s.x[d.rs1] & ~(kCacheBlock - 1);
    if (!h.probe(base, Access::Write)) return false;
    for (uint64_t off = 0; off < kCacheBlock; off += 8) {
        if (!h.store<uint64_t>(base + off, 0)) return false;
    }
    return true;
}

bool exec_hlv_b(Hart& h, const DecodedInsn& d) { return hyp_load(h, d, 1, true, false); }
bool exec_hlv_bu(Hart& h, const DecodedInsn& d) { return hyp_load(h, d, 1, false, false); }
bool exec_hlv_h(Hart& h, const DecodedInsn& d) { return hyp_load(h, d, 2, true, false); }
bool exec_hlv_hu(Hart& h, const DecodedInsn& d) { return hyp_load(h, d, 2, false, false); }
bool exec_hlvx_hu(Hart& h, const DecodedInsn& d) { return hyp_load(h, d, 2, false, true); }
bool exec_hlv_w(Hart& h, const DecodedInsn& d) { return hyp_load(h, d, 4, true, false); }
bool exec_hlv_wu(Hart& h, const DecodedInsn& d) { return hyp_load(h, d, 4, false, false); }
bool exec_hlvx_wu(Hart& h, const DecodedInsn& d) { return hyp_load(h, d, 4, false, true); }
bool exec_hlv_d(Hart& h, const DecodedInsn& d) { return hyp_load(h, d, 8, false, false); }
bool exec_hsv_b(Hart& h, const DecodedInsn& d) { return hyp_store(h, d, 1); }
bool exec_hsv_h(Hart& h, const DecodedInsn& d) { return hyp_store(h, d, 2); }
bool exec_hsv_w(Hart& h, const DecodedInsn& d) { return hyp_store(h, d, 4); }
bool exec_hsv_d(Hart& h, const DecodedInsn& d) { return hyp_store(h, d, 8); }

// HFENCE.VVMA and HFENCE.GVMA (§8.3.2) end their block, as SFENCE.VMA does. mstatus.TVM traps
// HFENCE.GVMA in HS-mode (§8.6.1... §3.1.6.5).
bool exec_hfence_vvma(Hart& h, const DecodedInsn& d) {
    if (const uint64_t cause = hyp_insn_refusal(h, false)) return h.raise(cause, d.raw);
    h.hfence_vvma(d.rs1 != 0, h.s.x[d.rs1], d.rs2 != 0, h.s.x[d.rs2]);
    h.s.pc += d.len;
    return false;
}

bool exec_hfence_gvma(Hart& h, const DecodedInsn& d) {
    if (const uint64_t cause = hyp_insn_refusal(h, false)) return h.raise(cause, d.raw);
    if (h.s.priv == Priv::S && (h.s.mstatus & MSTATUS_TVM) != 0) return h.raise_illegal(d);
    h.hfence_gvma();
    h.s.pc += d.len;
    return false;
}

}  // namespace trapeze::rv64::interp
