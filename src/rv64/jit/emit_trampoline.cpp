// The trampoline (Emitter::Impl::trampoline): the one piece of emitted code that is not a
// translation. It enters translated code from C++ (the frame translations address off rsp,
// see kFrameRunState), leaves it (the epilogue: the pc, the counters, the budget used and the
// FP flags brought up to date), re-checks a fetch translation for exits that need it, and
// holds the FP flags' accrual stub (emit_fp.cpp).
#include "rv64/jit/emitter_impl.hpp"

#include <cstdlib>

namespace trapeze::rv64::jit {

namespace {

// The fetch recheck's refill (Hart::refill_fetch): 1 if the entry for va is filled. noexcept:
// no exception may unwind through translated frames (they have no unwind info).
uint32_t refill_fetch(Hart* h, uint64_t va) noexcept {
    uint64_t pa = 0;
    return h->refill_fetch(va, pa) ? 1 : 0;
}

}  // namespace

Emitter::Trampoline Emitter::Impl::trampoline() {
    reset();  // Xbyak's labels too (accrue, below)
    start_code();
    m_wide = false;
    m_restored = false;
    Emitter::Trampoline t;
    // void* enter(Hart* rdi, const void* code rsi, RunState* rdx). Six pushes and the frame
    // (kFrameBytes, see kFrameRunState) leave rsp 16-byte aligned inside translations, ready
    // for calls (SysV ABI §3.2.2).
    push(rbx); push(rbp); push(r12); push(r13); push(r14); push(r15);
    sub(rsp, kFrameBytes);
    lea(rbx, ptr[rdi + Layout::kHartBias]);  // see Layout::kHartBias
    reload_pc();
    renew_translation();  // whatever the stack held
    mov(qword[rsp + kFrameRunState], rdx);
    mov(dword[rsp + kFrameMxcsr], kMxcsrNearest);
    mov(byte[rsp + kFrameFpPending], 0);  // MXCSR holds what C++ left in it (see emit_fp.cpp)
    Xbyak::Label accrue;  // Xbyak's: jit::Label has no rip-relative operand
    lea(rax, ptr[rip + accrue]);
    mov(qword[rsp + kFrameAccrue], rax);
    mov(r13, qword[rdx + offsetof(RunState, budget)]);
    mov(qword[rsp + kFrameBudget], r13);
    sub(r13, qword[rdx + offsetof(RunState, done)]);  // the units left
    mov(qword[rsp + kFrameFlushed], r13);
    jmp(rsi);
    align(16);
    t.link_stub_offset = getSize();
    mov(rax, rdx);  // falls through into the epilogue
    t.epilogue_offset = getSize();
    Label epilogue;
    L(epilogue);
    accrue_fp_flags();
    sync_pc();
    flush_counters();
    mov(rcx, qword[rsp + kFrameBudget]);
    sub(rcx, r13);
    mov(rsi, qword[rsp + kFrameRunState]);
    mov(qword[rsi + offsetof(RunState, done)], rcx);
    add(rsp, kFrameBytes);
    pop(r15); pop(r14); pop(r13); pop(r12); pop(rbp); pop(rbx);
    ret();
    align(16);
    t.recheck_offset = getSize();
    {
        Label miss, refill, check;
        fetch_entry(rbp, refill);
        L(check);
        mov(rsi, qword[rcx + offsetof(Hart::TlbEntry, addend)]);
        cmp(rsi, qword[rdx + offsetof(ExitSlot, addend)]);
        jne(miss, T_NEAR);
        cmp(qword[rdx + offsetof(ExitSlot, code)], 0);  // a hart's zeroed, never filled slot
        je(miss, T_NEAR);
        mov(rcx, qword[rbx + m_l.fetch_key]);
        mov(qword[rdx + offsetof(ExitSlot, key)], rcx);
        jmp(qword[rdx + offsetof(ExitSlot, code)]);
        // No entry for the pc (after a full sfence.vma, none at all): filled here, as the
        // dispatcher would after a round trip that also forgets the page memos. Only the
        // trampoline's registers and rdx are live (exits store the guest registers).
        L(refill);
        accrue_fp_flags();  // as call_host does, before rsp goes 16 bytes lower for the call
        push(rdx);
        sub(rsp, 8);  // rsp stays 16-byte aligned for the call
        lea(rdi, ptr[rbx - Layout::kHartBias]);
        mov(rsi, rbp);
        mov(rax, reinterpret_cast<uint64_t>(&refill_fetch));
        call(rax);
        add(rsp, 8);
        pop(rdx);
        test(eax, eax);
        jz(miss, T_NEAR);
        fetch_entry(rbp, miss);
        jmp(check);
        L(miss);
        mov(rax, rdx);
        jmp(epilogue);
    }
    align(16);
    L(accrue);
    emit_accrue_stub();
    if (Xbyak::GetError() != 0 || !m_labels.resolved()) std::abort();  // a bug: the trampoline's labels are fixed
    t.code = {getCode(), getSize()};
    return t;
}

}  // namespace trapeze::rv64::jit
