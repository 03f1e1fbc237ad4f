// The system instructions a kernel runs often enough to translate natively: csrr sstatus,
// csrrci sstatus, SIE (local_irq_save), csrs sstatus, rs1 (local_irq_restore), csrsi sstatus,
// SIE (local_irq_enable), csrr time, the trap CSRs (xscratch, xepc, xcause, xtval), and
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
    Label other, done;
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
// Also csrsi sstatus, SIE (local_irq_enable), the immediate form: `immediate`.
void Emitter::Impl::emit_sstatus_set(const DecodedInsn& d, size_t index, int32_t off, bool immediate) {
    static_assert(csr::MSTATUS_SIE == 2);
    Label other, done, set;
    accrue_fp_flags(true);  // FS as the interpreter would have it (emit_fp.cpp)
    cmp(byte[rbx + m_l.priv], static_cast<uint8_t>(Priv::U));
    je(other, T_NEAR);
    cmp(byte[rbx + m_l.virt], 0);
    jne(other, T_NEAR);
    if (immediate) {
        assert(d.rs1 == csr::MSTATUS_SIE);
        mov(edx, csr::MSTATUS_SIE);
    } else {
        get(rdx, d.rs1);
        test(rdx, imm32(~int64_t{csr::MSTATUS_SIE}));
        jnz(other, T_NEAR);
        test(rdx, rdx);
        jz(set);
    }
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

namespace {

// The time CSR's value for emit_time (Hart::time: the machine's clock, or with record and
// replay a function of minstret, which the caller flushed).
uint64_t read_time(const Hart* h) noexcept { return h->time(); }

}  // namespace

// csrr rd, time (csrrs rd, time, x0), which guests read far more often than any other CSR:
// Linux's sched_clock and clocksource, and every clock_gettime() of user programs through the
// vDSO (a Debian boot to multi-user reads it about 19M times, some 600K a second). Read here
// with one call, without the interpreter's generic CSR path (which took about half of the
// 80 ns each read cost). The access check inline (priv spec §3.1.11, §4.1.5: mcounteren.TM
// for S and U, scounteren.TM for U); with V=1 (htimedelta, hcounteren) or where the read is
// refused, the interpreter's semantics run it, and raise the exception. Clears nothing and
// changes no translation, so the block goes on and the page memos stay.
void Emitter::Impl::emit_time(const DecodedInsn& d, size_t index, int32_t off) {
    constexpr uint8_t kTm = 1u << (csr::TIME - csr::CYCLE);
    Label other, done, allowed;
    spill();  // the call clobbers the cache's caller-saved registers
    cmp(byte[rbx + m_l.virt], 0);
    jne(other, T_NEAR);
    cmp(byte[rbx + m_l.priv], static_cast<uint8_t>(Priv::M));
    je(allowed);
    test(byte[rbx + m_l.mcounteren], kTm);
    jz(other, T_NEAR);
    cmp(byte[rbx + m_l.priv], static_cast<uint8_t>(Priv::S));
    je(allowed);
    test(byte[rbx + m_l.scounteren], kTm);
    jz(other, T_NEAR);
    L(allowed);
    flush_counters();  // minstret exact: with record and replay the time follows it
    lea(rdi, ptr[rbx - Layout::kHartBias]);
    mov(rax, addr(&read_time));
    call_host(rax);
    L(done);
    cold_fallback(d, index, off, other, done, true);
    put(d.rd, rax);
}

// The trap CSRs, plain registers with no side effects (priv spec §3.1.14-16, §4.1.7-9: xscratch,
// xepc, xcause, xtval), natively where the mode may access them without redirection: the S
// ones in S and M with V=0 (with V=1 they are the VS ones: Hart::vs_redirect), the M ones in
// M. Every trap into Linux and out of it reads and writes about eight of them (handle_exception,
// ret_from_exception), each through the interpreter's generic CSR path before: a fifth of a
// sched_yield() loop's time. Reads (csrrs, csrrc with x0), writes and swaps (csrrw, csrrwi);
// xepc drops bit 0 as Hart::csr_write does (IALIGN 16). Anything else: false, the fallback.
bool Emitter::Impl::emit_plain_csr(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    const auto num = static_cast<uint16_t>(d.imm);
    size_t field = 0;
    switch (num) {
        case csr::SSCRATCH: field = m_l.sscratch; break;
        case csr::SEPC: field = m_l.sepc; break;
        case csr::SCAUSE: field = m_l.scause; break;
        case csr::STVAL: field = m_l.stval; break;
        case csr::MSCRATCH: field = m_l.mscratch; break;
        case csr::MEPC: field = m_l.mepc; break;
        case csr::MCAUSE: field = m_l.mcause; break;
        case csr::MTVAL: field = m_l.mtval; break;
        default: return false;
    }
    const bool reads_only = (op == Op::csrrs || op == Op::csrrc) && d.rs1 == 0;
    if (!reads_only && op != Op::csrrw && op != Op::csrrwi) return false;
    const bool machine = (num >> 8 & 3) == 3;
    const bool epc = num == csr::SEPC || num == csr::MEPC;
    Label other, done;
    if (machine) {
        cmp(byte[rbx + m_l.priv], static_cast<uint8_t>(Priv::M));  // V is 0 in M-mode
        jne(other, T_NEAR);
    } else {
        cmp(byte[rbx + m_l.virt], 0);
        jne(other, T_NEAR);
        cmp(byte[rbx + m_l.priv], static_cast<uint8_t>(Priv::U));
        je(other, T_NEAR);
    }
    if (op == Op::csrrw) get(rdx, d.rs1);  // before rd is written: csrrw tp, sscratch, tp swaps
    if (op == Op::csrrwi) mov(edx, d.rs1);  // the immediate
    mov(rax, qword[rbx + field]);
    if (!reads_only) {
        if (epc) and_(rdx, imm32(-2));
        mov(qword[rbx + field], rdx);
    }
    L(done);
    cold_fallback(d, index, off, other, done, true);
    put(d.rd, rax);
    return true;
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
    Label trapped;
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
