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
    if (reads && !h.csr_read(num, old)) return h.raise_illegal(d);
    if (!reads) {
        uint64_t ignored = 0;
        if (!h.csr_read(num, ignored)) return h.raise_illegal(d);  // existence and privilege
    }
    if (writes) {
        // priv spec §3.1.9: a read-modify-write of mip works on the software-writable SEIP
        // bit, not on the value OR-ed with the PLIC's line; otherwise OpenSBI's `csrs mip,
        // SSIP` for an IPI would latch a momentary external interrupt into mip forever.
        const uint64_t base = num == MIP ? h.s.mip : old;
        const uint64_t next = op == CsrOp::Write ? operand : op == CsrOp::Set ? (base | operand) : (base & ~operand);
        if (!h.csr_write(num, next)) return h.raise_illegal(d);
    }
    h.s.x[d.rd] = old;
    if (h.context_gen() == context && h.deliverable_interrupts() == 0) return true;
    // End the block: the rest of it was fetched under the old translation, or an interrupt
    // the write enabled must be taken before the next instruction.
    h.s.pc += d.len;
    return false;
}

// CMO gating by menvcfg/senvcfg (CMO spec §2.5.1–2.5.2): returns false if illegal here.
bool cbo_allowed(const Hart& h, uint64_t field) {
    if (h.s.priv == Priv::M) return true;
    if ((h.s.menvcfg & field) == 0) return false;
    return h.s.priv == Priv::S || (h.s.senvcfg & field) != 0;
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
    const uint64_t cause = h.s.priv == Priv::U ? EXC_ECALL_U : h.s.priv == Priv::S ? EXC_ECALL_S : EXC_ECALL_M;
    return h.raise(cause, 0);
}

bool exec_ebreak(Hart& h, const DecodedInsn&) { return h.raise(EXC_BREAKPOINT, h.s.pc); }

bool exec_mret(Hart& h, const DecodedInsn& d) {
    if (h.s.priv != Priv::M) return h.raise_illegal(d);
    return h.exec_mret();
}

bool exec_sret(Hart& h, const DecodedInsn& d) {
    if (h.s.priv == Priv::U || (h.s.priv == Priv::S && (h.s.mstatus & MSTATUS_TSR) != 0)) return h.raise_illegal(d);
    return h.exec_sret();
}

// priv spec §3.3.3: WFI is illegal in U-mode (S-mode exists) and in S-mode with TW=1.
bool exec_wfi(Hart& h, const DecodedInsn& d) {
    if (h.s.priv == Priv::U || (h.s.priv == Priv::S && (h.s.mstatus & MSTATUS_TW) != 0)) return h.raise_illegal(d);
    h.s.pc += d.len;
    h.s.wfi = true;
    return false;
}

// priv spec §4.2.1.
bool exec_sfence_vma(Hart& h, const DecodedInsn& d) {
    if (h.s.priv == Priv::U || (h.s.priv == Priv::S && (h.s.mstatus & MSTATUS_TVM) != 0)) return h.raise_illegal(d);
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
    if (!cbo_allowed(h, MENVCFG_CBCFE)) return h.raise_illegal(d);
    return h.probe(h.s.x[d.rs1] & ~(kCacheBlock - 1), Access::Write);
}
bool exec_cbo_flush(Hart& h, const DecodedInsn& d) { return exec_cbo_clean(h, d); }
bool exec_cbo_inval(Hart& h, const DecodedInsn& d) {
    if (!cbo_allowed(h, MENVCFG_CBIE & (MENVCFG_CBIE >> 1))) return h.raise_illegal(d);  // CBIE=00: illegal
    return h.probe(h.s.x[d.rs1] & ~(kCacheBlock - 1), Access::Write);
}
bool exec_cbo_zero(Hart& h, const DecodedInsn& d) {
    if (!cbo_allowed(h, MENVCFG_CBZE)) return h.raise_illegal(d);
    const uint64_t base = h.s.x[d.rs1] & ~(kCacheBlock - 1);
    if (!h.probe(base, Access::Write)) return false;
    for (uint64_t off = 0; off < kCacheBlock; off += 8) {
        if (!h.store<uint64_t>(base + off, 0)) return false;
    }
    return true;
}

}  // namespace trapeze::rv64::interp
