// The system instructions a kernel runs often enough to translate natively: csrr sstatus,
// csrrci sstatus, SIE (local_irq_save), csrs sstatus, rs1 (local_irq_restore), and
// sfence.vma and fence.i, which run the interpreter's semantics but chain to the next block.
// The others run the interpreter's semantics and leave (Emitter::Impl::emit_fallback).
#include "rv64/jit/emitter_impl.hpp"

#include "rv64/csr.hpp"

namespace trapeze::rv64::jit {

// rd = sstatus (Hart::csr_read: mstatus under SSTATUS_MASK), then for csrrci sstatus, SIE
// the bit is cleared, as Hart::write_mstatus would (clearing SIE changes no translation and
// makes no interrupt deliverable, so the block goes on, as csr_op's does). Only U mode may
// not access sstatus: that raises illegal instruction the cold way. With V=1 sstatus is
// vsstatus (H): the cold way too.
void Emitter::Impl::emit_sstatus(const DecodedInsn& d, size_t index, int32_t off, bool clear_sie) {
    static_assert(csr::MSTATUS_SIE == 2);
    Xbyak::Label other, done;
    accrue_fp_flags(true);  // FS as the interpreter would have it (emit_fp.cpp)
    cmp(byte[rbx + m_l.priv], static_cast<uint8_t>(Priv::U));
    je(other, T_NEAR);
    cmp(byte[rbx + m_l.virt], 0);
    jne(other, T_NEAR);
    mov(rax, csr::SSTATUS_MASK);
    and_(rax, qword[rbx + m_l.mstatus]);
    if (clear_sie) and_(byte[rbx + m_l.mstatus], static_cast<uint8_t>(~csr::MSTATUS_SIE & 0xff));
    L(done);
    cold_fallback(d, index, off, other, done, true);
    put(d.rd, rax);
}

// csrrs rd, sstatus, rs1 when rs1 holds no bit but SIE (local_irq_restore), in S or M mode:
// rd = sstatus, then SIE is set, which changes no translation (Hart::write_mstatus). Setting
// it may make an interrupt deliverable, after which csr_op ends the block: whenever any
// interrupt is pending and enabled in mie, the interpreter's semantics run it instead (as
// for other values, U mode and its illegal instruction), so the block ends where csr_op says.
void Emitter::Impl::emit_sstatus_set(const DecodedInsn& d, size_t index, int32_t off) {
    static_assert(csr::MSTATUS_SIE == 2);
    Xbyak::Label other, done, set;
    accrue_fp_flags(true);  // FS as the interpreter would have it (emit_fp.cpp)
    cmp(byte[rbx + m_l.priv], static_cast<uint8_t>(Priv::U));
    je(other, T_NEAR);
    cmp(byte[rbx + m_l.virt], 0);
    jne(other, T_NEAR);
    get(rdx, d.rs1);
    test(rdx, imm32(~int64_t{csr::MSTATUS_SIE}));
    jnz(other, T_NEAR);
    test(rdx, rdx);
    jz(set);
    mov(rcx, qword[rbx + m_l.mip]);
    or_(rcx, qword[rbx + m_l.pins]);
    test(qword[rbx + m_l.mie], rcx);
    jnz(other, T_NEAR);
    L(set);
    mov(rax, csr::SSTATUS_MASK);
    and_(rax, qword[rbx + m_l.mstatus]);
    or_(qword[rbx + m_l.mstatus], rdx);
    L(done);
    cold_fallback(d, index, off, other, done, true);
    put(d.rd, rax);
}

// sfence.vma (exec_sfence_vma: the flush, or illegal instruction) and fence.i (exec_fence_i:
// the code watch's fence, which may drop blocks) end the block, as in the interpreter, but
// chain on: neither changes interrupt state. After sfence.vma the successor is reached only
// while its fetch translation survived the flush (recheck_fetch); fence.i changes no fetch
// translation, and a successor whose code it dropped was unlinked from every jump into it
// (Jit::on_drop), so the link leads to the dispatcher. The kernel flushes one page after every
// fixmap and page-table update, ~100 K times per boot, and fences after each of the ~40 K
// instructions ftrace and the jump labels patch while it boots.
void Emitter::Impl::emit_then_chain(const DecodedInsn& d, size_t index, int32_t off, bool recheck_fetch) {
    spill();
    set_pc(off);
    call_fallback(d);
    cmp(eax, 2);
    Xbyak::Label trapped;
    je(trapped, T_NEAR);
    cold([this, trapped, index]() mutable {
        L(trapped);
        exit_trap(index);
    });
    m_pc_off = off + static_cast<int32_t>(d.len);  // rbp, reloaded, is the next instruction's pc
    exit_chain(m_pc_off, index + 1, recheck_fetch);
    m_ended = true;
}

}  // namespace trapeze::rv64::jit
