// The emitter's core (Emitter::Impl): regions (a loop's blocks in one
// translation, their registers in host registers), block bodies and their exits (chained,
// cross-page, indirect), control flow, the lazy sign extension, and the interpreter fallback
// for everything not translated natively. The trampoline is emit_trampoline.cpp's; the
// instruction families are emitted in emit_memory.cpp, emit_int.cpp, emit_system.cpp and
// emit_fp.cpp.
#include "rv64/jit/emitter.hpp"

#include "rv64/jit/emitter_impl.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <deque>
#include <functional>
#include <vector>

#include "rv64/interp/dispatch.hpp"
#include "rv64/isa/lr_sequence.hpp"
#include "rv64/isa/op.hpp"
#include "rv64/jit/successors.hpp"

namespace trapeze::rv64::jit {

namespace {

// --- runtime helpers called from emitted code ------------------------------------------------
// noexcept: no exception may unwind through translated frames (they have no unwind info).

// One instruction through the interpreter's semantics. 0: continue with the next
// instruction; 1: the block is left and the instruction retired (pc already set), also when
// it continued but raised a pin (a device access: Hart::attention), so that the dispatcher
// looks at the interrupts at once; 2: it trapped (the trap is taken, pc is the handler's).
uint32_t run_fallback(Hart* h, const DecodedInsn* d) noexcept {
    if (d->fn(*h, *d)) {
        if (!h->attention()) return 0;
        h->s.pc += d->len;
        return 1;
    }
    const bool trapped = h->trapped();
    h->clear_trapped();
    return trapped ? 2 : 1;
}

}  // namespace


// The instructions retired since the last flush (the budget units used since then, less
// the units of trapping first instructions, which count() took off kFrameFlushed) go to
// mcycle/minstret unless inhibited (priv spec §3.1.12; cycles = instructions here, as in the
// interpreter). Done before every call into the interpreter's semantics (a CSR instruction
// may read or inhibit the counters) and on exit, so the counters are exact whenever anything
// can observe them. Clobbers rcx and rsi (rax carries the epilogue's result).
void Emitter::Impl::flush_counters() {
    Label no_cycle, no_instret;
    Reg64 units = r13;
    if (in_frame()) {
        units = rcx;
        mov(rcx, left());
    }
    mov(rsi, qword[rsp + kFrameFlushed]);
    sub(rsi, units);
    mov(qword[rsp + kFrameFlushed], units);
    test(byte[rbx + m_l.mcountinhibit], 1);
    jnz(no_cycle);
    add(qword[rbx + m_l.mcycle], rsi);
    L(no_cycle);
    test(byte[rbx + m_l.mcountinhibit], 4);
    jnz(no_instret);
    add(qword[rbx + m_l.minstret], rsi);
    L(no_instret);
    mov(rcx, qword[rsp + kFrameRunState]);
    add(qword[rcx + offsetof(RunState, retired)], rsi);
}

// A static successor at target_off bytes from the block's pc. At every block boundary the
// budget is checked (as Interpreter::run does before every block, so both engines end a
// slice at the same boundary). Pending interrupts need no check here: a pin can only rise in
// a helper call (Hart::attention), after which the code leaves at once. Then the jump goes
// through the slot (see ExitSlot for when a filled one is followed): for a successor in the
// same page a direct jump, patched when the slot is filled or unlinked, unless
// `recheck_fetch` (the block changed translation): then the slot is followed only under the
// fetch key it was filled under, as across pages.
void Emitter::Impl::exit_chain(int64_t target_off, size_t retired, bool recheck_fetch) {
    const Restored restored(*this);
    const int64_t delta = target_off - m_pc_off;
    if (fits_i32(delta)) {
        if (delta != 0) add(rbp, imm32(delta));
    } else {
        mov(rax, static_cast<uint64_t>(delta));
        add(rbp, rax);
    }
    const int64_t target_page_off = static_cast<int64_t>(m_page_off) + target_off;
    const bool same_page = !recheck_fetch && target_page_off >= 0 && target_page_off < 4096;
    count(retired, retired);
    jle(plain(), T_NEAR);  // no units left
    if (same_page) {
        ExitSlot* slot = m_slots.alloc(m_link_stub);
        if (slot == nullptr) {
            jmp(plain(), T_NEAR);
            return;
        }
        slot->same_page = true;
        // One jmp rel32: to the way back to the dispatcher (slot in rdx, in the cold part)
        // until the slot is linked, then to the successor. The hot part keeps 5 bytes per
        // exit (the way back in it had been 22; 44 bytes more per exit had made a gcc compile
        // in the guest 10% slower: the hot part's size is what its footprint is). Other harts
        // may be running this code when it is patched: the rel32 is 4-byte aligned, so the
        // patch is one atomic store that instruction fetch sees whole (CodeBuffer::patch_rel32).
        // Jit::install reads where the jump leads unlinked once the code is placed.
        const size_t pad = (3 - getSize() % 4) % 4;
        if (pad != 0) nop(pad);
        Label unlinked;
        jmp(unlinked, T_NEAR);
        m_patches.push_back({slot, getSize() - 4, static_cast<uint32_t>(target_page_off)});
        cold([this, unlinked, slot]() mutable {
            L(unlinked);
            mov(rdx, reinterpret_cast<uint64_t>(slot));
            mov(rcx, reinterpret_cast<uint64_t>(m_link_stub));
            jmp(rcx);
        });
        return;
    }
    const int64_t index = m_slots.alloc_cross();
    if (index < 0) {
        jmp(plain(), T_NEAR);
        return;
    }
    // This hart's slot for the exit (see ExitSlot).
    mov(rdx, qword[rbx + m_l.exit_slots]);
    add(rdx, imm32(index * static_cast<int64_t>(sizeof(ExitSlot))));
    Label miss;
    cmp(rbp, qword[rdx + offsetof(ExitSlot, pc)]);
    jne(miss, T_NEAR);
    follow_cross_page();
    to_dispatcher_cold(miss);
}

// rcx = the current fetch view's TLB entry for va, which must be valid for its page (as
// Hart::translate_fetch probes it), else `miss`. Clobbers rsi.
void Emitter::Impl::fetch_entry(const Reg64& va, Label& miss) {
    mov(ecx, dword[rbx + m_l.fetch_index]);
    shl(ecx, kViewShift);  // * kTlbSets * sizeof(TlbEntry)
    mov(rsi, va);
    shr(rsi, 12);
    and_(esi, Hart::kTlbSets - 1);
    shl(esi, 5);
    add(rcx, rsi);
    add(rcx, qword[rbx + m_l.tlb]);
    mov(rsi, va);
    and_(rsi, imm32(-4096));
    or_(rsi, qword[rbx + m_l.tlb_tag]);
    cmp(rsi, qword[rcx + offsetof(Hart::TlbEntry, tag_x)]);
    jne(miss, T_NEAR);
}

// An Op::crossing block whose whole instruction is known (Block::crossing): it runs natively
// while the upper half, fetched through the current translation, is still the one it was
// translated with; otherwise (another mapping or content, or no TLB entry for that page)
// the interpreter's exec_crossing runs it and the block is left for the dispatcher.
void Emitter::Impl::emit_crossing(const interp::Block& b, Stats& stats) {
    const DecodedInsn& part = b.insns.front();
    const DecodedInsn& full = *b.crossing;
    Label other;
    pc_plus(rax, 2);
    fetch_entry(rax, other);
    mov(rsi, qword[rcx + offsetof(Hart::TlbEntry, addend)]);
    movzx(edx, word[rsi + rax]);
    cmp(edx, full.raw >> 16);
    jne(other, T_NEAR);
    cold([this, other, &part]() mutable {
        L(other);
        call_fallback(part);
        Label left, trapped;
        cmp(eax, 1);
        je(left);
        ja(trapped);
        add(pc(), part.len);  // it continued: the next instruction
        L(left);
        count(1, 1);
        jmp(plain(), T_NEAR);
        L(trapped);
        exit_trap(0);
    });
    if (emit_insn(full, 0, 0)) {
        ++stats.translated;
    } else {
        emit_fallback(full, 0, 0);
        ++stats.fallbacks;
    }
}

// rdx = a cross-page successor's slot whose pc matched: followed at once under the fetch key
// the slot holds, else after the trampoline's fetch-TLB recheck (see ExitSlot). Clobbers rcx.
void Emitter::Impl::follow_cross_page() {
    mov(rcx, qword[rbx + m_l.fetch_key]);
    cmp(rcx, qword[rdx + offsetof(ExitSlot, key)]);
    jne(m_stale_key, T_NEAR);
    jmp(qword[rdx + offsetof(ExitSlot, code)]);
    m_stale_key_used = true;
}

// rdx = the hart's jump-cache slot for the virtual pc in rdx. Indexed by pc bits 1-16 folded
// with the bits above, so code 128 KiB apart (the same offsets in different libraries, say)
// seldom shares a slot. Clobbers rcx.
void Emitter::Impl::jump_cache_slot() {
    mov(rcx, rdx);
    shr(rcx, 17);
    xor_(rdx, rcx);
    shr(rdx, 1);
    and_(edx, static_cast<uint32_t>(m_jump_cache_mask));
    shl(edx, 6);  // * sizeof(ExitSlot)
    add(rdx, qword[rbx + m_l.jump_cache]);  // the hart's own
}

// A call (a jump that writes the link register x1 or x5, unprivileged spec 2.5): the
// callee's return will look up the return address in the jump cache, a table of megabytes
// whose slot is seldom still in the host's caches by then; its line is fetched now, while
// the callee runs. Clobbers rcx and rdx.
void Emitter::Impl::prefetch_return(unsigned rd, int64_t return_off) {
    if (rd != 1 && rd != 5) return;
    pc_plus(rdx, return_off - m_pc_off);
    jump_cache_slot();
    prefetcht0(ptr[rdx]);
}

// An indirect jump (pc already stored): the direct-mapped jump cache, keyed by virtual pc,
// validated as a cross-page ExitSlot.
void Emitter::Impl::exit_indirect(size_t retired) {
    const Restored restored(*this);
    count(retired, retired);
    jle(plain(), T_NEAR);  // no units left
    Label miss;
    mov(rdx, rbp);
    jump_cache_slot();
    cmp(rbp, qword[rdx + offsetof(ExitSlot, pc)]);
    jne(miss, T_NEAR);
    follow_cross_page();
    to_dispatcher_cold(miss);
}

// At `miss`, in the cold part: out to the dispatcher through the slot in rdx, which holds
// another pc (the slot's first use, or a jump-cache conflict). Out of the hot part: taken
// once per slot fill, where a hit, the common case, jumps before it.
void Emitter::Impl::to_dispatcher_cold(Label miss) {
    cold([this, miss]() mutable {
        L(miss);
        mov(rax, rdx);
        jump_to_epilogue();
    });
}

void Emitter::Impl::put(unsigned rd, const Reg64& r) {
    if (rd == 32) return;
    int i = m_regs.host_of(rd);
    if (i < 0) {
        unsigned evicted = 0;
        i = static_cast<int>(m_regs.assign(rd, evicted, m_canon));
        materialize(static_cast<unsigned>(i));
        if (evicted != 0) mov(X(evicted), cache_reg(static_cast<unsigned>(i)));
    }
    mov(cache_reg(static_cast<unsigned>(i)), r);
}

// How often the region's blocks use each integer register, inner loops weighted up.
std::array<uint32_t, 32> Emitter::Impl::register_uses(std::span<const interp::Block* const> blocks) {
    const std::vector<unsigned> loops = loop_lengths(blocks);
    std::array<uint32_t, 32> uses{};
    for (size_t k = 0; k < blocks.size(); ++k) {
        const interp::Block* b = blocks[k];
        // An inner loop's registers count for the many iterations it runs per outer one: a
        // block on a loop of one block counts 16 times, of two 8 times, ..., of five or more once.
        const uint32_t weight = loops[k] == 0 ? 1 : std::max(1u, 16u >> (loops[k] - 1));
        for (const DecodedInsn& d : b->insns) {
            if (d.op >= op_table().size()) continue;
            if (op_table()[d.op].dest == Dest::X && d.rd < 32) uses[d.rd] += weight;
            const XSources s = x_sources(d);  // an FP operation's are counted too: only a heuristic
            if (s.rs1) uses[d.rs1] += weight;
            if (s.rs2) uses[d.rs2] += weight;
        }
    }
    uses[0] = 0;
    return uses;
}

// The registers a region keeps in the cache at every block start (m_canon): the ones its
// instructions use most, so a loop of blocks keeps its values in host registers from one
// block and one iteration to the next.
RegCache::Map Emitter::Impl::region_registers(std::array<uint32_t, 32> uses, unsigned available) {
    // With more registers in use than the cache holds, one is left to the others in turn.
    const unsigned n = registers_used(uses) > available ? available - 1 : available;
    RegCache::Map regs{};
    for (unsigned i = 0; i < n; ++i) {
        const auto best = static_cast<unsigned>(std::max_element(uses.begin(), uses.end()) - uses.begin());
        if (uses[best] == 0) break;
        regs[i] = static_cast<uint8_t>(best);
        uses[best] = 0;
    }
    return regs;
}

// Per block of the region: how many blocks the shortest loop through it has (0: none), by a
// breadth-first walk of the static jumps between the region's blocks.
std::vector<unsigned> Emitter::Impl::loop_lengths(std::span<const interp::Block* const> blocks) {
    auto index_of = [&](uint64_t pa) -> int {
        for (size_t k = 0; k < blocks.size(); ++k)
            if (blocks[k]->pa == pa) return static_cast<int>(k);
        return -1;
    };
    std::vector<std::array<int, 2>> next(blocks.size(), {-1, -1});
    for (size_t k = 0; k < blocks.size(); ++k) {
        size_t j = 0;
        for (uint64_t pa : static_successors(*blocks[k])) next[k][j++] = index_of(pa);
    }
    std::vector<unsigned> lengths(blocks.size(), 0);
    std::vector<unsigned> dist(blocks.size());
    std::vector<size_t> queue;
    for (size_t k = 0; k < blocks.size(); ++k) {
        std::fill(dist.begin(), dist.end(), 0u);
        queue.assign(1, k);
        for (size_t q = 0; q < queue.size() && lengths[k] == 0; ++q) {
            for (const int s : next[queue[q]]) {
                if (s < 0) continue;
                const auto u = static_cast<size_t>(s);
                if (u == k) {
                    lengths[k] = dist[queue[q]] + 1;
                    break;
                }
                if (dist[u] == 0) {
                    dist[u] = dist[queue[q]] + 1;
                    queue.push_back(u);
                }
            }
        }
    }
    return lengths;
}

unsigned Emitter::Impl::registers_used(const std::array<uint32_t, 32>& uses) {
    return static_cast<unsigned>(std::count_if(uses.begin(), uses.end(), [](uint32_t n) { return n != 0; }));
}

// How many guest registers the block writes.
unsigned Emitter::Impl::written_registers(const interp::Block& b) {
    uint32_t written = 0;
    for (const DecodedInsn& d : b.insns)
        if (writes_x(d, d.rd) && d.rd != 0 && d.rd < 32) written |= 1u << d.rd;
    return static_cast<unsigned>(std::popcount(written));
}

bool Emitter::Impl::jumps_to_itself(const interp::Block& b) {
    const DecodedInsn& last = b.insns.back();
    const auto op = static_cast<Op>(last.op);
    const bool branch = op == Op::beq || op == Op::bne || op == Op::blt || op == Op::bge || op == Op::bltu ||
                        op == Op::bgeu || op == Op::jal;
    if (!branch) return false;
    int64_t off = 0;
    for (size_t i = 0; i + 1 < b.insns.size(); ++i) off += b.insns[i].len;
    return off + last.imm == 0;
}

// The label of the region's block at target_off bytes from the head, if it has one there.
const Label* Emitter::Impl::internal(int64_t target_off) const {
    for (const auto& [off, label] : m_entries)
        if (off == target_off) return &label;
    return nullptr;
}

// Brings the register cache from `now` to `want`: values displaced from their host register
// are stored, then the wanted ones missing from theirs are loaded (memory is current for
// every register in between).
void Emitter::Impl::reconcile(const RegCache::Map& now, const RegCache::Map& want) {
    for (unsigned i = 0; i < RegCache::kRegs; ++i)
        if (now[i] != 0 && now[i] != want[i]) mov(X(now[i]), cache_reg(i));
    for (unsigned i = 0; i < RegCache::kRegs; ++i)
        if (want[i] != 0 && now[i] != want[i]) mov(cache_reg(i), X(want[i]));
}

// A static successor at target_off bytes from the head, with the register cache `now`: a
// block of the region is jumped to directly, with the cache in its canonical state, after
// the same budget check as a chained exit (exit_chain) makes; anything else
// is a chained exit. The `last` code of a block falls into the block laid out after it
// instead of jumping there.
void Emitter::Impl::edge(int64_t target_off, size_t retired, const RegCache::Map& now, bool last) {
    const Label* target = internal(target_off);
    if (m_pinned >= 0 && target_off == m_pinned_block) target = &m_pinned_loops.back();  // rsi is loaded
    if (target == nullptr) {
        writeback(now);
        m_regs.clear();
        exit_chain(target_off, retired);
        return;
    }
    if (m_pc_off != 0) add(pc(), imm32(-m_pc_off));  // back to the head's pc (emit_body)
    reconcile(now, m_canon);
    count(retired, retired);
    if (last && target_off == m_fall_off) {
        Label leave;  // at the target, out to the dispatcher
        jle(leave, T_NEAR);  // no units left
        cold([this, leave, target_off]() mutable {
            L(leave);
            leave_at(target_off);
        });
        return;
    }
    // Units left: on to the target in one jump (a loop's iteration ends in one taken branch);
    // else out to the dispatcher at the target.
    jg(*target, T_NEAR);
    leave_at(target_off);
}

// Out to the dispatcher at the region's block target_off bytes from the head, with the cache
// in its canonical state.
void Emitter::Impl::leave_at(int64_t target_off) {
    if (target_off != 0) add(pc(), imm32(target_off));
    jmp(m_leave_canon, T_NEAR);
}

Emitter::Impl::Reg64 Emitter::Impl::dest(unsigned rd, bool& rd_was_cached) {
    int i = m_regs.host_of(rd);
    rd_was_cached = i >= 0;
    m_dest_evicted = 0;
    if (i < 0) {
        unsigned evicted = 0;
        i = static_cast<int>(m_regs.assign(rd, evicted, m_canon));
        materialize(static_cast<unsigned>(i));  // what is stored, and what src() may read from it
        if (evicted != 0) mov(X(evicted), cache_reg(static_cast<unsigned>(i)));
        m_dest_evicted = evicted;
    }
    return cache_reg(static_cast<unsigned>(i));
}

// A region (Jit::translate): the head block and blocks of its page that lead back to it,
// each entered at its label with the cache in the canonical state (loaded on entry). Offsets
// are from the head's pc, so every block's exits and slow paths set the guest pc from rbp as
// a lone block's do. A lone block that does not jump to itself keeps no canonical registers.
std::span<const uint8_t> Emitter::Impl::region(std::span<const interp::Block* const> blocks, Stats& stats) {
    const interp::Block& head = *blocks.front();
    m_cold.clear();
    m_warm.clear();
    m_patches.clear();
    m_side_entries.clear();
    m_regs.clear();
    m_lazy = 0;
    m_plain = Label();
    m_plain_regs = Label();
    m_restored = false;
    m_wide = false;
    m_stale_key = Label();
    m_stale_key_used = false;
    m_leave_canon = Label();
    start_code();
    m_pinned_loops.clear();
    m_page_off = static_cast<uint32_t>(head.pa & 0xfff);
    m_entries.clear();
    // Laid out by address after the head: mostly a branch's fall-through successor comes next
    // (as the guest's compiler placed it), so that edge needs no jump (edge, emit_branch).
    std::vector<const interp::Block*> order(blocks.begin(), blocks.end());
    std::sort(order.begin() + 1, order.end(), [](const interp::Block* x, const interp::Block* y) { return x->pa < y->pa; });
    for (const interp::Block* b : order) m_entries.emplace_back(static_cast<int64_t>(b->pa - head.pa), Label());
    m_canon = {};
    m_memo_accesses = 0;
    m_pinned_memos = 0;
    m_head_pa = head.pa;
    m_loop = blocks.size() > 1 || jumps_to_itself(head);
    // Wide (see m_wide) where the cache would run out of host registers: a loop region keeps
    // the registers its blocks use in place at every block boundary, a lone block caches the
    // ones it writes (it reads the others from HartState).
    if (m_loop) {
        const bool groups = any_group(blocks);
        const std::array<uint32_t, 32> uses = register_uses(blocks);
        m_wide = registers_used(uses) > cache_registers(groups);
        m_regs.set_available(cache_registers(groups));
        m_canon = region_registers(uses, m_regs.available());
    } else {
        m_entries.clear();
        plan_groups(head);  // for emit_body
        m_wide = written_registers(head) > cache_registers(!m_groups.empty());
    }
    plan_fp_pins(m_loop ? blocks : std::span<const interp::Block* const>{});  // none outside loops
    enter_frame();
    reload(m_canon);
    load_fp_pins();
    m_written = m_loop ? written_in(order) : 0;
    const std::vector<Chased> chased = m_loop ? chased_at_entry(order, m_written) : std::vector<Chased>(1, 0);
    for (size_t k = 0; k < order.size(); ++k) {
        if (!m_entries.empty()) L(m_entries[k].second);
        m_fall_off = k + 1 < m_entries.size() ? m_entries[k + 1].first : -1;
        emit_body(*order[k], static_cast<int32_t>(order[k]->pa - head.pa), chased[k], stats);
    }
    m_fall_off = -1;  // cold code falls into nothing
    m_pinned = -1;    // cold code enters blocks at their labels, which load a pinned addend
    for (size_t i = 0; i < m_warm.size(); ++i) {
        const std::function<void()> f = std::move(m_warm[i]);  // it may add warm code of its own
        f();
    }
    m_warm.clear();
    // The entries at the region's other blocks (which other translations' exits lead to)
    // are hot too.
    side_entries(order);
    // The hot part ends in a jump; the cold one starts aligned, so that the rel32s patched
    // in it stay aligned wherever it is placed (CodeBuffer::patch_rel32).
    while (getSize() % CodeBuffer::kAlign != 0) int3();
    m_hot_size = getSize();
    m_labels.split_here();
    // The way out to the dispatcher with no successor to chain to (the slice's budget used
    // up, at an exit or at an edge between the region's blocks) is taken once a slice: cold.
    L(m_leave_canon);
    writeback(m_canon);
    L(m_plain);
    {
        const Restored restored(*this);
        L(m_plain_regs);
    }
    xor_(eax, eax);
    jump_to_epilogue();
    // Cold code may ask for warm code of its own (it goes to the cold part then), and the
    // other way round.
    for (size_t i = 0, w = 0; i < m_cold.size() || w < m_warm.size();) {
        const std::function<void()> f = std::move(i < m_cold.size() ? m_cold[i++] : m_warm[w++]);
        f();
    }
    m_cold.clear();
    m_warm.clear();
    if (m_stale_key_used) {
        L(m_stale_key);
        mov(rcx, reinterpret_cast<uint64_t>(m_recheck));
        jmp(rcx);
    }
    if (Xbyak::GetError() != 0 || !m_labels.resolved()) {
        Xbyak::ClearError();
        return {};
    }
    m_cross.clear();
    if (!m_labels.crossing(m_cross)) {  // a short jump across: placed whole
        m_cross.clear();
        m_hot_size = getSize();
    }
    ++stats.blocks;
    if (blocks.size() > 1) ++stats.regions;
    if (m_wide) ++stats.wide;
    stats.memo_accesses += m_memo_accesses;
    stats.pinned_memos += m_pinned_memos;
    stats.largest = std::max<uint64_t>(stats.largest, getSize());
    return {getCode(), getSize()};
}

// Entries at the region's blocks after the head (see Emitter::entries), laid out after
// everything else: rbp back to the head's pc, then the head's entry, the canonical registers.
void Emitter::Impl::side_entries(std::span<const interp::Block* const> order) {
    for (size_t k = 1; k < m_entries.size(); ++k) {
        m_side_entries.push_back({order[k]->pa, getSize()});
        add(rbp, imm32(-m_entries[k].first));
        enter_frame();
        reload(m_canon);
        load_fp_pins();
        jmp(m_entries[k].second, T_NEAR);
    }
}

// Lazy sign extension. A W instruction's result is the sign extension of a 32-bit value
// (unpriv spec §4.2), but most of the code that makes such values (hashes, checksums,
// compressors: 32-bit arithmetic compiled for RV64) hands it to other W instructions, which read
// only its low 32 bits, or combines it with AND, OR and XOR, which commute with sign extension.
// So a W result is left with its upper half unset (m_lazy) while only such instructions use it,
// and is sign-extended in place before anything reads all of it: before an integer
// computation or memory access that reads it as a source (keeps_group: these cannot leave the
// block, and a memory access's slow path extends what is lazy as it stores the registers),
// before any other instruction (so every branch, exit, helper call and their cold paths see
// exact registers), before its register is stored or taken for another guest register, and at
// the block's end.
//   Word: reads the low 32 bits of its sources; its result is lazy when emit_word says so.
//   Bitwise (AND, OR, XOR of two registers): lazy when both sources are (else the lazy one is
//     made exact first: with an exact source, the upper half of the result is the source's).
//   BitwiseImm (ANDI, ORI, XORI): lazy when its source is (a 12-bit immediate is the sign
//     extension of its low 32 bits), except ANDI with a non-negative immediate (a mask).
Emitter::Impl::LazyUse Emitter::Impl::lazy_use(const DecodedInsn& d) {
    if (d.rd == 0 || d.rd >= 32) return LazyUse::None;
    switch (static_cast<Op>(d.op)) {
        case Op::addw: case Op::subw: case Op::addiw: case Op::slliw: case Op::srliw: case Op::sraiw:
        case Op::sllw: case Op::srlw: case Op::sraw:
            return LazyUse::Word;
        case Op::and_: case Op::or_: case Op::xor_:
            return d.rs1 != 0 && d.rs2 != 0 ? LazyUse::Bitwise : LazyUse::None;
        case Op::andi: case Op::ori: case Op::xori:
            return d.rs1 != 0 ? LazyUse::BitwiseImm : LazyUse::None;
        default:
            return LazyUse::None;
    }
}

// Before d (keeps_group): its sources made exact. A store of 4 bytes or fewer reads only the
// low bits of its value, which a lazy register already holds. (A field that is not a source
// of d, as rs2 of an immediate form, at worst extends a register that needed it later.)
void Emitter::Impl::materialize_sources(const DecodedInsn& d) {
    const auto op = static_cast<Op>(d.op);
    const bool narrow_store = op == Op::sb || op == Op::sh || op == Op::sw;
    for (const unsigned x : {unsigned{d.rs1}, narrow_store ? 0u : unsigned{d.rs2}})
        if (is_lazy(x)) materialize(static_cast<unsigned>(m_regs.host_of(x)));
}

// Before d (of `use`, not None; m_result_lazy cleared): makes exact what d cannot take
// lazily, and sets whether d's result stays lazy (for Word, emit_word or emit_shift decides).
void Emitter::Impl::prepare_lazy(const DecodedInsn& d, LazyUse use) {
    if (use == LazyUse::BitwiseImm) {
        // ANDI with a non-negative immediate clears the upper half: its result is exact.
        m_result_lazy = is_lazy(d.rs1) && !(static_cast<Op>(d.op) == Op::andi && d.imm >= 0);
    } else if (use == LazyUse::Bitwise) {
        const bool a = is_lazy(d.rs1), b = is_lazy(d.rs2);
        m_result_lazy = a && b;
        if (a != b) materialize(static_cast<unsigned>(m_regs.host_of(a ? d.rs1 : d.rs2)));
    }
}

// After d, which wrote an integer rd: rd's cache register holds an exact value, or
// (m_result_lazy) a lazy one.
void Emitter::Impl::settle_lazy(const DecodedInsn& d) {
    if (d.rd == 0 || d.rd >= 32 || op_table()[d.op].dest != Dest::X) return;
    const int i = m_regs.host_of(d.rd);
    if (i < 0) return;
    const auto bit = static_cast<RegCache::Mask>(1u << i);
    m_lazy = static_cast<RegCache::Mask>(m_result_lazy ? m_lazy | bit : m_lazy & ~bit);
}

// One block of a region, `base` bytes from the head, entered with the canonical cache and
// rbp = the head's pc (so jumps between the region's blocks need not move rbp: exits and
// slow paths add the instruction's offset from the head, as set_pc does). `chased`: the
// registers chased at its start (chased_at_entry; none outside loop regions).
void Emitter::Impl::emit_body(const interp::Block& b, int32_t base, Chased chased, Stats& stats) {
    m_regs.restore(m_canon);
    m_lazy = 0;
    m_pc_off = 0;
    m_ended = false;
    m_fs = FsKnown::Unknown;
    if (m_loop) plan_groups(b);  // a lone block's is planned (region)
    m_chased.clear();
    for (size_t i = 0; m_loop && i < b.insns.size(); ++i) {  // has_memo reads it in loops only
        m_chased.push_back(chased);
        chased = chase(b.insns[i], chased, m_written);
    }
    plan_rotations(b, m_rotations);
    if (!m_loop) m_regs.set_available(cache_registers(!m_groups.empty()));
    m_pinned = pinned_memo(b, base);
    if (m_pinned >= 0) {
        mov(rsi, memo_addend(static_cast<unsigned>(m_pinned)));
        L(m_pinned_loops.emplace_back());
        m_pinned_block = base;
        ++m_pinned_memos;
    }
    int32_t off = base;
    size_t group_end = 0;  // one past the live group's last member
    for (size_t i = 0; i < b.insns.size(); ++i) {
        const DecodedInsn& d = b.insns[i];
        if (const int g = m_group_of[i]; g >= 0) {
            ++stats.shared_probes;
            group_end = m_groups[static_cast<size_t>(g)].last + 1;
        }
        m_group_live = i < group_end;
        if (m_rotations.skip[i]) {  // a shift that only feeds a rotation
            ++stats.translated;
            off += d.len;
            continue;
        }
        const Rotation rot = m_rotations.at[i];
        const bool zext_pair = rot.amount == 0 && i + 1 < b.insns.size() && is_zext_w(d, b.insns[i + 1]);
        // A word rotation reads the low 32 bits of x, as Word instructions do.
        const LazyUse use = zext_pair ? LazyUse::None : rot.amount != 0 ? (rot.word ? LazyUse::Word : LazyUse::None) : lazy_use(d);
        const bool keeps = zext_pair || use != LazyUse::None || keeps_group(static_cast<Op>(d.op), m_has_bitcount);
        m_result_lazy = false;
        if (use != LazyUse::None)
            prepare_lazy(d, use);
        else if (!keeps)
            materialize_all();
        else if (rot.amount != 0 && is_lazy(rot.x))  // a 64-bit rotation reads all of x
            materialize(static_cast<unsigned>(m_regs.host_of(rot.x)));
        else if (!zext_pair)  // zext.w reads only the low 32 bits of its source, as Word does
            materialize_sources(d);
        m_may_defer_sext = use == LazyUse::Word;
        if (static_cast<Op>(d.op) == Op::crossing && b.crossing) {
            emit_crossing(b, stats);  // a block of its own
        } else if (rot.amount != 0) {
            emit_rotation(rot);
            settle_lazy(d);
            ++stats.translated;
        } else if (zext_pair) {
            emit_zext_w(d);
            settle_lazy(d);
            stats.translated += 2;
            off += b.insns[i + 1].len;  // and d's below
            ++i;
        } else if (emit_insn(d, i, off)) {
            ++stats.translated;
            if (keeps) settle_lazy(d);
        } else {
            materialize_all();  // the interpreter's semantics read HartState
            emit_fallback(d, i, off);
            ++stats.fallbacks;
        }
        m_may_defer_sext = false;
        off += d.len;
    }
    materialize_all();
    m_group_live = false;  // for the exits below and the cold code emitted after the region
    if (m_ended) return;
    if (interp::ends_block(b.insns.back())) {
        // A system instruction that continued: let the dispatcher look again.
        spill();
        count(b.insns.size(), b.insns.size());
        set_pc(off);
        jmp(plain(), T_NEAR);
    } else {
        edge(off, b.insns.size(), m_regs.map(), true);
    }
}

// A call into C++ (fn) from a translation's top level: the FP flags pending in MXCSR go to
// fflags first (C++ may read them, or raise flags of its own), and the pinned f registers'
// copies are loaded after it (emit_fp.cpp).
void Emitter::Impl::call_host(const Reg64& fn) {
    accrue_fp_flags();
    call(fn);
    load_fp_pins();  // clobbered, and f registers may have been written
}

// d through the interpreter's semantics (run_fallback; eax = its verdict), with the counters
// and pc in HartState current, and rbp reloaded from it after (a trap or jump moves it).
void Emitter::Impl::call_fallback(const DecodedInsn& d) {
    // keeps_group let a group span this call, which would clobber the group's addend (rdi)
    // and could change the translation it stands for: a bug, caught at translation time.
    if (m_group_live) std::abort();
    flush_counters();
    sync_pc();
    lea(rdi, ptr[rbx - Layout::kHartBias]);
    mov(rsi, reinterpret_cast<uint64_t>(&d));
    mov(rax, addr(&run_fallback));
    call_host(rax);
    m_fs = FsKnown::Unknown;  // it may have written mstatus
    // A system instruction may have changed what the memos and the frame's data view copy
    // (satp, mstatus, PMP, an sfence.vma); anything else (FP, AMO min/max, cache-block
    // operations) cannot. rax holds the fallback's result.
    if ((d.raw & 0x7f) == 0x73) renew_translation();
    reload_pc();
}

void Emitter::Impl::emit_fallback(const DecodedInsn& d, size_t index, int32_t off) {
    spill();
    set_pc(off);
    call_fallback(d);
    test(eax, eax);
    Label left;
    jnz(left, T_NEAR);
    cold([this, left, index]() mutable {
        L(left);
        leave_after_fallback(index);
    });
}

// After run_fallback left the block (eax = 1: instruction `index` retired, pc set; 2: it
// trapped): out to the dispatcher with the right counts.
void Emitter::Impl::leave_after_fallback(size_t index) {
    Label trapped;
    cmp(eax, 1);
    jne(trapped);
    count(index + 1, index + 1);
    jmp(plain(), T_NEAR);
    L(trapped);
    exit_trap(index);
}

bool Emitter::Impl::emit_insn(const DecodedInsn& d, size_t index, int32_t off) {
    const auto op = static_cast<Op>(d.op);
    m_dest_evicted = 0;
    switch (op) {
        case Op::lui: emit_lui(d); return true;
        case Op::auipc: emit_auipc(d, off); return true;
        case Op::jal: emit_jal(d, index, off); return true;
        case Op::jalr: emit_jalr(d, index, off); return true;
        case Op::beq: case Op::bne: case Op::blt: case Op::bge: case Op::bltu: case Op::bgeu:
            emit_branch(d, index, off, op);
            return true;
        case Op::lb: case Op::lh: case Op::lw: case Op::ld: case Op::lbu: case Op::lhu: case Op::lwu:
        case Op::sb: case Op::sh: case Op::sw: case Op::sd: {
            const bool sign = op == Op::lb || op == Op::lh || op == Op::lw;
            emit_memory(d, index, off, Mem{access_size(op), is_store(op), sign});
            return true;
        }
        case Op::addi: case Op::slti: case Op::sltiu: case Op::xori: case Op::ori: case Op::andi:
        case Op::slli: case Op::srli: case Op::srai:
            emit_alu_imm(d, op);
            return true;
        case Op::add: case Op::sub: case Op::slt: case Op::sltu: case Op::xor_: case Op::or_: case Op::and_:
            emit_alu(d, op);
            return true;
        case Op::sll: case Op::srl: case Op::sra: case Op::sllw: case Op::srlw: case Op::sraw:
        case Op::rol: case Op::ror: case Op::rolw: case Op::rorw:
            emit_shift(d, op);
            return true;
        case Op::addiw: case Op::slliw: case Op::srliw: case Op::sraiw: case Op::addw: case Op::subw:
        case Op::roriw:
            emit_word(d, op);
            return true;
        case Op::mul: case Op::mulh: case Op::mulhu: case Op::mulw:
            emit_mul(d, op);
            return true;
        case Op::mulhsu: emit_mulhsu(d); return true;
        case Op::clz: case Op::clzw: case Op::ctz: case Op::ctzw: case Op::cpop: case Op::cpopw:
            if (!m_has_bitcount) return false;
            emit_bitcount(d, op);
            return true;
        case Op::div: case Op::divu: case Op::rem: case Op::remu:
            emit_div(d, op);
            return true;
        case Op::divw: case Op::divuw: case Op::remw: case Op::remuw:
            emit_divw(d, op);
            return true;
        case Op::sh1add: case Op::sh2add: case Op::sh3add: case Op::add_uw: case Op::sh1add_uw:
        case Op::sh2add_uw: case Op::sh3add_uw: case Op::slli_uw:
            emit_zba(d, op);
            return true;
        case Op::andn: case Op::orn: case Op::xnor: case Op::max: case Op::maxu: case Op::min: case Op::minu:
        case Op::sext_b: case Op::sext_h: case Op::zext_h: case Op::rev8: case Op::rori: case Op::orc_b:
            emit_zbb(d, op);
            return true;
        case Op::bclr: case Op::bclri: case Op::bext: case Op::bexti: case Op::binv: case Op::binvi:
        case Op::bset: case Op::bseti:
            emit_zbs(d, op);
            return true;
        case Op::fence:
            if (fence_orders_store_to_load(d)) mfence();  // the rest x86-64 keeps by itself (see exec_fence)
            return true;
        case Op::cbo_zero: emit_cbo_zero(d, index, off); return true;
        case Op::csrrw: case Op::csrrs: case Op::csrrc: case Op::csrrwi: case Op::csrrsi: case Op::csrrci:
            // fflags, frm and fcsr (emit_fp_csr), the trap CSRs (emit_plain_csr), csrr time
            // (emit_time), and the kernel's
            // hottest CSR uses: csrr sstatus, csrrci sstatus, SIE (local_irq_save), csrs
            // sstatus, rs1 (local_irq_restore) and csrsi sstatus, SIE (local_irq_enable).
            // Everything else goes through the interpreter's semantics.
            if (const auto num = static_cast<uint16_t>(d.imm); num == csr::FFLAGS || num == csr::FRM || num == csr::FCSR) {
                emit_fp_csr(d, index, off, op);
                return true;
            }
            if (emit_plain_csr(d, index, off, op)) return true;
            if (static_cast<uint16_t>(d.imm) == csr::TIME && op == Op::csrrs && d.rs1 == 0) {
                emit_time(d, index, off);
                return true;
            }
            if (static_cast<uint16_t>(d.imm) != csr::SSTATUS) return false;
            if (op == Op::csrrsi && d.rs1 == csr::MSTATUS_SIE) {
                emit_sstatus_set(d, index, off, true);
                return true;
            }
            if (op != Op::csrrs && op != Op::csrrci) return false;
            if (op == Op::csrrs && d.rs1 != 0) {
                emit_sstatus_set(d, index, off, false);
                return true;
            }
            if (op == Op::csrrci && d.rs1 != csr::MSTATUS_SIE) return false;
            emit_sstatus(d, index, off, op == Op::csrrci);
            return true;
        case Op::lr_w: case Op::lr_d:
            // Not classified when decoded (its sequence leaves the page): the interpreter's
            // semantics classify it as it runs (exec_a.cpp). An LR never sits inside an access
            // group (keeps_group), so the call is allowed.
            if (d.imm == kLrUndecided) return false;
            emit_atomic(d, index, off, op);
            return true;
        case Op::sc_w: case Op::sc_d:
        case Op::amoswap_w: case Op::amoswap_d: case Op::amoadd_w: case Op::amoadd_d: case Op::amoxor_w:
        case Op::amoxor_d: case Op::amoand_w: case Op::amoand_d: case Op::amoor_w: case Op::amoor_d:
            emit_atomic(d, index, off, op);
            return true;
        case Op::sfence_vma: emit_then_chain(d, index, off, true); return true;
        // Through the interpreter's semantics (Hart::fence_i: with harts on threads of their
        // own, other harts' code stores are taken then).
        case Op::fence_i: emit_then_chain(d, index, off, false); return true;
        default: return emit_fp(d, index, off, op);
    }
}

void Emitter::Impl::emit_auipc(const DecodedInsn& d, int32_t off) {
    if (d.rd == 32) return;
    const int64_t delta = static_cast<int64_t>(off) - m_pc_off + d.imm;
    mov(rax, pc());
    if (fits_i32(delta)) {
        add(rax, imm32(delta));
    } else {
        mov(rcx, static_cast<uint64_t>(delta));
        add(rax, rcx);
    }
    put(d.rd, rax);
}

void Emitter::Impl::emit_jal(const DecodedInsn& d, size_t index, int32_t off) {
    prefetch_return(d.rd, off + d.len);
    if (d.rd != 32) {
        pc_plus(rax, off + d.len - m_pc_off);
        put(d.rd, rax);
    }
    m_ended = true;
    edge(static_cast<int64_t>(off) + d.imm, index + 1, m_regs.map(), true);
}

void Emitter::Impl::emit_jalr(const DecodedInsn& d, size_t index, int32_t off) {
    prefetch_return(d.rd, off + d.len);
    get(rax, d.rs1);  // read rs1 before writing rd (rd may equal rs1)
    if (d.imm != 0) add(rax, imm32(d.imm));
    and_(rax, imm32(-2));
    if (d.rd != 32) {
        pc_plus(rcx, off + d.len - m_pc_off);
        put(d.rd, rcx);
    }
    spill();
    const Restored restored(*this, false);  // the pc is rax's
    mov(rbp, rax);
    exit_indirect(index + 1);
    m_ended = true;
}

// To `to` if branch op's condition (taken: as the flags of compare(rs1, rs2) say) holds, or
// if it does not (taken false).
void Emitter::Impl::jump_if(Op op, bool taken, const Label& to) {
    switch (op) {
        case Op::beq: taken ? je(to, T_NEAR) : jne(to, T_NEAR); break;
        case Op::bne: taken ? jne(to, T_NEAR) : je(to, T_NEAR); break;
        case Op::blt: taken ? jl(to, T_NEAR) : jge(to, T_NEAR); break;
        case Op::bge: taken ? jge(to, T_NEAR) : jl(to, T_NEAR); break;
        case Op::bltu: taken ? jb(to, T_NEAR) : jae(to, T_NEAR); break;
        default: taken ? jae(to, T_NEAR) : jb(to, T_NEAR); break;  // bgeu
    }
}

void Emitter::Impl::emit_branch(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    // rs1 in a register (its cache register, or rax), rs2 as a register or memory operand,
    // looked up before the spill below (which leaves the host registers' values alone).
    const Reg64 a = source_reg(d.rs1);
    const int j = d.rs2 == 0 ? -1 : m_regs.host_of(d.rs2);
    const int64_t taken_off = static_cast<int64_t>(off) + d.imm;
    const int64_t next_off = off + static_cast<int64_t>(d.len);
    RegCache::Map now = m_regs.map();
    if (internal(taken_off) == nullptr && internal(next_off) == nullptr) {
        spill();  // once for both exits (plain stores: the compare below sets the flags)
        now = m_regs.map();
    }
    compare(a, d.rs2, j);
    // A loop's back edge (backward, within the region) falls through, so an iteration ends
    // in one taken jump (the edge's to the loop head) instead of two.
    const bool loop_back = d.imm <= 0 && internal(taken_off) != nullptr;
    if (!loop_back && next_off == m_fall_off) {
        // Not taken runs on into the next block laid out; taken goes out of line.
        branch_into_next(op, true, taken_off, next_off, index, now);
        return;
    }
    if (loop_back && taken_off == m_fall_off) {
        // A back edge to the block laid out next (a loop whose head is not the region's: the
        // sieve's scan re-enters it at its increment) runs on into it; not taken (the loop's
        // exit) goes out of line.
        branch_into_next(op, false, next_off, taken_off, index, now);
        return;
    }
    Label second;
    jump_if(op, !loop_back, second);
    const int32_t saved_pc_off = m_pc_off;
    edge(loop_back ? taken_off : next_off, index + 1, now);
    L(second);
    m_pc_off = saved_pc_off;
    m_regs.restore(now);
    edge(loop_back ? next_off : taken_off, index + 1, now, true);
    m_ended = true;
}

// A branch (flags set) one of whose edges leads to the block laid out next, at next_block_off:
// that edge runs on into it with no jump at all; the other, at other_off and taken when the
// branch is `other_taken`, goes out of line, through as many jumps as it would take here.
void Emitter::Impl::branch_into_next(Op op, bool other_taken, int64_t other_off, int64_t next_block_off, size_t index,
                                     const RegCache::Map& now) {
    Label other;
    jump_if(op, other_taken, other);
    warm([this, other, other_off, index, now, pc_off = m_pc_off]() mutable {
        L(other);
        m_pc_off = pc_off;
        m_regs.restore(now);
        edge(other_off, index + 1, now);
    });
    edge(next_block_off, index + 1, now, true);
    m_ended = true;
}

// The cold side of an instruction emitted natively for its common case: at `other`, the
// interpreter's semantics run it with the register cache as it is here (stored for the
// helper, reloaded after), then back to `done` (with rax = rd's new value if `result`), or
// out if it trapped. Such instructions never leave their block otherwise.
void Emitter::Impl::cold_fallback(const DecodedInsn& d, size_t index, int32_t off, Label other,
                                  Label done, bool result) {
    const int32_t pc_off = m_pc_off;
    cold([this, other, done, index, off, pc_off, result, &d, map = m_regs.map()]() mutable {
        L(other);
        writeback(map);
        if (off != pc_off) add(pc(), imm32(off - pc_off));
        call_fallback(d);
        Label left;
        test(eax, eax);
        jnz(left, T_NEAR);
        if (off != pc_off) sub(pc(), imm32(off - pc_off));
        reload(map);
        if (result) mov(rax, X(d.rd));
        jmp(done, T_NEAR);
        L(left);  // retired and left the block (pc set), or trapped: the dispatcher goes on
        leave_after_fallback(index);
    });
}

// --- Emitter --------------------------------------------------------------------------------

Emitter::Emitter(const Layout& layout, SlotArena& slots, uint64_t jump_cache_mask)
    : m_impl(std::make_unique<Impl>(layout, slots, jump_cache_mask)) {}

Emitter::~Emitter() = default;

Emitter::Trampoline Emitter::emit_trampoline() { return m_impl->trampoline(); }

void Emitter::set_trampoline(const void* epilogue, const void* link_stub, const void* recheck) {
    m_impl->set_trampoline(epilogue, link_stub, recheck);
}

std::span<const uint8_t> Emitter::emit_region(std::span<const interp::Block* const> blocks, Stats& stats) {
    return m_impl->region(blocks, stats);
}

std::span<const Emitter::Patch> Emitter::patches() const { return m_impl->patches(); }
std::span<const Emitter::Entry> Emitter::entries() const { return m_impl->entries(); }
size_t Emitter::hot_size() const { return m_impl->hot_size(); }
std::span<const uint32_t> Emitter::cross() const { return m_impl->cross(); }

}  // namespace trapeze::rv64::jit
