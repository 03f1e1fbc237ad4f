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

// The slow paths of loads and stores: TLB misses, MMIO, misaligned and faulting accesses.
// status 0: done; 1: trapped; 2: done, and a device access raised a pin (Hart::attention),
// so the code leaves after this instruction. A load's value comes back in rdx (SysV: a
// two-word struct is returned in rax:rdx), extended to 64 bits as the instruction specifies.
struct SlowLoad {
    uint64_t status;
    uint64_t value;
};

template <typename T>
SlowLoad load_slow(Hart* h, uint64_t va) noexcept {
    T v{};
    if (!h->load<T>(va, v)) {
        h->clear_trapped();
        return {1, 0};
    }
    const uint64_t status = h->attention() ? 2 : 0;
    if constexpr (std::is_signed_v<T>)
        return {status, static_cast<uint64_t>(static_cast<int64_t>(v))};
    else
        return {status, v};
}

template <typename T>
uint32_t store_slow(Hart* h, uint64_t va, uint64_t value) noexcept {
    if (!h->store<T>(va, static_cast<T>(value))) {
        h->clear_trapped();
        return 1;
    }
    return h->attention() ? 2 : 0;
}


// A group's bytes must lie in one page; the smaller their span, the likelier that is.
constexpr int64_t kMaxGroupSpan = 1024;
constexpr size_t kMinGroupSize = 2;


// The size of a load or store the emitter translates inline (emit_memory), or 0.
unsigned access_size(Op op) {
    switch (op) {
        case Op::lb: case Op::lbu: case Op::sb: return 1;
        case Op::lh: case Op::lhu: case Op::sh: return 2;
        case Op::lw: case Op::lwu: case Op::sw: return 4;
        case Op::ld: case Op::sd: return 8;
        default: return 0;
    }
}

bool is_store(Op op) { return op == Op::sb || op == Op::sh || op == Op::sw || op == Op::sd; }

// Instructions the emitter translates inline without calling anything (so without touching
// rdi, which holds a group's addend) and without leaving the block: a group may span them,
// and registers they do not read may stay lazy across them (emit_body; a load's or store's
// slow path sign-extends the lazy registers as it stores them).
bool keeps_group(Op op, bool has_bitcount) {
    if (access_size(op) != 0) return true;
    switch (op) {
        case Op::lui: case Op::auipc: case Op::fence:
        case Op::addi: case Op::slti: case Op::sltiu: case Op::xori: case Op::ori: case Op::andi:
        case Op::slli: case Op::srli: case Op::srai:
        case Op::add: case Op::sub: case Op::slt: case Op::sltu: case Op::xor_: case Op::or_: case Op::and_:
        case Op::sll: case Op::srl: case Op::sra: case Op::sllw: case Op::srlw: case Op::sraw:
        case Op::rol: case Op::ror: case Op::rolw: case Op::rorw:
        case Op::addiw: case Op::slliw: case Op::srliw: case Op::sraiw: case Op::addw: case Op::subw: case Op::roriw:
        case Op::mul: case Op::mulh: case Op::mulhu: case Op::mulw: case Op::mulhsu:
        case Op::div: case Op::divu: case Op::rem: case Op::remu:
        case Op::divw: case Op::divuw: case Op::remw: case Op::remuw:
        case Op::sh1add: case Op::sh2add: case Op::sh3add: case Op::add_uw: case Op::sh1add_uw:
        case Op::sh2add_uw: case Op::sh3add_uw: case Op::slli_uw:
        case Op::andn: case Op::orn: case Op::xnor: case Op::max: case Op::maxu: case Op::min: case Op::minu:
        case Op::sext_b: case Op::sext_h: case Op::zext_h: case Op::rev8: case Op::rori: case Op::orc_b:
        case Op::bclr: case Op::bclri: case Op::bext: case Op::bexti: case Op::binv: case Op::binvi:
        case Op::bset: case Op::bseti:
            return true;
        case Op::clz: case Op::clzw: case Op::ctz: case Op::ctzw: case Op::cpop: case Op::cpopw:
            return has_bitcount;
        default: return false;
    }
}

bool writes_x(const DecodedInsn& d, unsigned x) {
    return d.op < op_table().size() && op_table()[d.op].dest == Dest::X && d.rd == x;
}

// The base registers whose accesses in a loop region get page memos: all but those only ever
// loaded from memory in it (a pointer loaded, as in a list walk, is likelier to move to another
// page each time than one stepped through an array; its accesses probe the TLB inline).
MemoBases memo_bases(std::span<const interp::Block* const> blocks) {
    std::array<bool, 33> loaded{}, computed{};
    for (const interp::Block* b : blocks) {
        for (const DecodedInsn& d : b->insns) {
            const auto op = static_cast<Op>(d.op);
            if (access_size(op) != 0 && !is_store(op) && d.rd <= 32)
                loaded[d.rd] = true;
            else if (access_size(op) == 0 && writes_x(d, d.rd) && d.rd < 32)
                computed[d.rd] = true;
        }
    }
    MemoBases ok{};
    for (unsigned x = 1; x < 32; ++x) ok[x] = !loaded[x] || computed[x];
    return ok;
}

// The group starting at b.insns[first] (a load or store), extended over the accesses off the
// same base that follow while nothing in between writes the base or calls out.
AccessGroup group_from(const interp::Block& b, size_t first, bool has_bitcount) {
    const DecodedInsn& head = b.insns[first];
    AccessGroup g{head.rs1, head.imm, head.imm, false, false, first, first, 0};
    for (size_t j = first; j < b.insns.size(); ++j) {
        const DecodedInsn& d = b.insns[j];
        const auto op = static_cast<Op>(d.op);
        if (!keeps_group(op, has_bitcount)) break;
        if (const unsigned size = access_size(op); size != 0 && d.rs1 == g.base) {
            const int64_t lo = std::min<int64_t>(g.lo, d.imm);
            const int64_t end = std::max<int64_t>(g.end, int64_t{d.imm} + size);
            if (end - lo > kMaxGroupSpan) break;
            g.lo = lo;
            g.end = end;
            (is_store(op) ? g.stores : g.loads) = true;
            g.last = j;
            ++g.members;
        }
        if (writes_x(d, g.base)) break;  // a load into the base is the group's last member
    }
    return g;
}

}  // namespace


// The instructions retired since the last flush (the budget units used since then, less
// the units of trapping first instructions, which count() took off kFrameFlushed) go to
// mcycle/minstret unless inhibited (priv spec §3.1.12; cycles = instructions here, as in the
// interpreter). Done before every call into the interpreter's semantics (a CSR instruction
// may read or inhibit the counters) and on exit, so the counters are exact whenever anything
// can observe them. Clobbers rcx and rsi (rax carries the epilogue's result).
void Emitter::Impl::flush_counters() {
    Xbyak::Label no_cycle, no_instret;
    mov(rsi, qword[rsp + kFrameFlushed]);
    sub(rsi, r13);
    mov(qword[rsp + kFrameFlushed], r13);
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

Emitter::Trampoline Emitter::Impl::trampoline() {
    reset();
    Emitter::Trampoline t;
    // void* enter(Hart* rdi, const void* code rsi, RunState* rdx). Six pushes and the frame
    // (kFrameBytes, see kFrameRunState) leave rsp 16-byte aligned inside translations, ready
    // for calls (SysV ABI §3.2.2).
    push(rbx); push(rbp); push(r12); push(r13); push(r14); push(r15);
    sub(rsp, kFrameBytes);
    mov(rbx, rdi);
    reload_pc();
    forget_memos();  // whatever the stack held
    mov(qword[rsp + kFrameRunState], rdx);
    mov(dword[rsp + kFrameMxcsr], kMxcsrNearest);
    mov(r13, qword[rdx + offsetof(RunState, budget)]);
    mov(qword[rsp + kFrameBudget], r13);
    sub(r13, qword[rdx + offsetof(RunState, done)]);  // the units left
    mov(qword[rsp + kFrameFlushed], r13);
    jmp(rsi);
    align(16);
    t.link_stub_offset = getSize();
    mov(rax, rdx);  // falls through into the epilogue
    t.epilogue_offset = getSize();
    Xbyak::Label epilogue;
    L(epilogue);
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
        Xbyak::Label miss;
        fetch_entry(rbp, miss);
        mov(rsi, qword[rcx + offsetof(Hart::TlbEntry, addend)]);
        cmp(rsi, qword[rdx + offsetof(ExitSlot, addend)]);
        jne(miss);
        cmp(qword[rdx + offsetof(ExitSlot, code)], 0);  // a hart's zeroed, never filled slot
        je(miss);
        mov(rcx, qword[rbx + m_l.fetch_key]);
        mov(qword[rdx + offsetof(ExitSlot, key)], rcx);
        jmp(qword[rdx + offsetof(ExitSlot, code)]);
        L(miss);
        mov(rax, rdx);
        jmp(epilogue);
    }
    t.code = {getCode(), getSize()};
    return t;
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
    jle(m_plain, T_NEAR);  // no units left
    if (same_page) {
        ExitSlot* slot = m_slots.alloc(m_link_stub);
        if (slot == nullptr) {
            jmp(m_plain, T_NEAR);
            return;
        }
        slot->same_page = true;
        // jmp rel32, 0 until linked: falls through to the way back to the dispatcher. Other
        // harts may be running this code when it is patched: the rel32 is 4-byte aligned, so
        // the patch is one atomic store that instruction fetch sees whole (CodeBuffer::patch_rel32).
        const size_t pad = (3 - getSize() % 4) % 4;
        if (pad != 0) nop(pad);
        db(0xe9);
        dd(0);
        m_patches.push_back({slot, getSize() - 4});
        mov(rdx, reinterpret_cast<uint64_t>(slot));
        mov(rcx, reinterpret_cast<uint64_t>(m_link_stub));
        jmp(rcx);
        return;
    }
    const int64_t index = m_slots.alloc_cross();
    if (index < 0) {
        jmp(m_plain, T_NEAR);
        return;
    }
    // This hart's slot for the exit (see ExitSlot).
    mov(rdx, qword[rbx + m_l.exit_slots]);
    add(rdx, imm32(index * static_cast<int64_t>(sizeof(ExitSlot))));
    {
        Xbyak::Label miss;
        cmp(rbp, qword[rdx + offsetof(ExitSlot, pc)]);
        jne(miss);
        follow_cross_page();
        L(miss);
        mov(rax, rdx);
        jump_to_epilogue();
    }
}

// rcx = the current fetch view's TLB entry for va, which must be valid for its page (as
// Hart::translate_fetch probes it), else `miss`. Clobbers rsi.
void Emitter::Impl::fetch_entry(const Reg64& va, Xbyak::Label& miss) {
    mov(ecx, dword[rbx + m_l.fetch_index]);
    shl(ecx, kViewShift);  // * kTlbSets * sizeof(TlbEntry)
    mov(rsi, va);
    shr(rsi, 12);
    and_(esi, Hart::kTlbSets - 1);
    shl(esi, 5);
    add(rcx, rsi);
    lea(rcx, ptr[rbx + rcx + m_l.tlb]);
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
    Xbyak::Label other;
    lea(rax, ptr[rbp + 2]);
    fetch_entry(rax, other);
    mov(rsi, qword[rcx + offsetof(Hart::TlbEntry, addend)]);
    movzx(edx, word[rsi + rax]);
    cmp(edx, full.raw >> 16);
    jne(other, T_NEAR);
    cold([this, other, &part]() mutable {
        L(other);
        call_fallback(part);
        Xbyak::Label left, trapped;
        cmp(eax, 1);
        je(left);
        ja(trapped);
        add(rbp, part.len);  // it continued: the next instruction
        L(left);
        count(1, 1);
        jmp(m_plain, T_NEAR);
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

// An indirect jump (pc already stored): the direct-mapped jump cache, keyed by virtual pc,
// validated as a cross-page ExitSlot. Indexed by pc bits 1-16 folded with the bits above,
// so code 128 KiB apart (the same offsets in different libraries, say) seldom shares a slot.
void Emitter::Impl::exit_indirect(size_t retired) {
    count(retired, retired);
    jle(m_plain, T_NEAR);  // no units left
    Xbyak::Label miss;
    mov(rdx, rbp);
    mov(rcx, rbp);
    shr(rcx, 17);
    xor_(rdx, rcx);
    shr(rdx, 1);
    and_(edx, static_cast<uint32_t>(m_jump_cache_mask));
    shl(edx, 6);  // * sizeof(ExitSlot)
    add(rdx, qword[rbx + m_l.jump_cache]);  // the hart's own
    cmp(rbp, qword[rdx + offsetof(ExitSlot, pc)]);
    jne(miss);
    follow_cross_page();
    L(miss);
    mov(rax, rdx);
    jump_to_epilogue();
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

// The registers a region keeps in the cache at every block start (m_canon): the ones its
// instructions use most, so a loop of blocks keeps its values in host registers from one
// block and one iteration to the next.
RegCache::Map Emitter::Impl::region_registers(std::span<const interp::Block* const> blocks, unsigned available) {
    const std::vector<unsigned> loops = loop_lengths(blocks);
    std::array<uint32_t, 32> uses{};
    for (size_t k = 0; k < blocks.size(); ++k) {
        const interp::Block* b = blocks[k];
        // An inner loop's registers count for the many iterations it runs per outer one: a
        // block on a loop of one block counts 16 times, of two 8 times, ..., of five or more once.
        const uint32_t weight = loops[k] == 0 ? 1 : std::max(1u, 16u >> (loops[k] - 1));
        for (const DecodedInsn& d : b->insns) {
            if (d.op >= op_table().size()) continue;
            const OpInfo& info = op_table()[d.op];
            if (info.dest == Dest::X && d.rd < 32) uses[d.rd] += weight;
            // Integer sources by format (an FP operation's are counted too: only a heuristic).
            const bool two = info.format == Format::R || info.format == Format::S || info.format == Format::B;
            if ((two || info.format == Format::I || info.format == Format::SH) && d.rs1 < 32) uses[d.rs1] += weight;
            if (two && d.rs2 < 32) uses[d.rs2] += weight;
        }
    }
    uses[0] = 0;
    // With more registers in use than the cache holds, one is left to the others in turn.
    const auto used = static_cast<unsigned>(std::count_if(uses.begin(), uses.end(), [](uint32_t n) { return n != 0; }));
    const unsigned n = used > available ? available - 1 : available;
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
const Xbyak::Label* Emitter::Impl::internal(int64_t target_off) const {
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
    const Xbyak::Label* target = internal(target_off);
    if (m_pinned >= 0 && target_off == m_pinned_block) target = &m_pinned_loops.back();  // rsi is loaded
    if (target == nullptr) {
        writeback(now);
        m_regs.clear();
        exit_chain(target_off, retired);
        return;
    }
    if (m_pc_off != 0) add(rbp, imm32(-m_pc_off));  // back to the head's pc (emit_body)
    reconcile(now, m_canon);
    count(retired, retired);
    if (last && target_off == m_fall_off) {
        Xbyak::Label leave;  // at the target, out to the dispatcher
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
    if (target_off != 0) add(rbp, imm32(target_off));
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
    m_patches.clear();
    m_side_entries.clear();
    m_regs.clear();
    m_lazy = 0;
    m_plain = Xbyak::Label();
    m_stale_key = Xbyak::Label();
    m_stale_key_used = false;
    m_leave_canon = Xbyak::Label();
    reset();
    m_pinned_loops.clear();  // after reset(), which detached them
    m_page_off = static_cast<uint32_t>(head.pa & 0xfff);
    m_entries.clear();
    // Laid out by address after the head: mostly a branch's fall-through successor comes next
    // (as the guest's compiler placed it), so that edge needs no jump (edge, emit_branch).
    std::vector<const interp::Block*> order(blocks.begin(), blocks.end());
    std::sort(order.begin() + 1, order.end(), [](const interp::Block* x, const interp::Block* y) { return x->pa < y->pa; });
    for (const interp::Block* b : order) m_entries.emplace_back(static_cast<int64_t>(b->pa - head.pa), Xbyak::Label());
    m_canon = {};
    m_memo_bases = {};
    m_memo_accesses = 0;
    m_pinned_memos = 0;
    m_head_pa = head.pa;
    m_loop = blocks.size() > 1 || jumps_to_itself(head);
    if (m_loop) {
        m_memo_bases = memo_bases(blocks);
        m_regs.set_available(cache_registers(any_group(blocks)));
        m_canon = region_registers(blocks, m_regs.available());
    } else {
        m_entries.clear();
    }
    reload(m_canon);
    for (size_t k = 0; k < order.size(); ++k) {
        if (!m_entries.empty()) L(m_entries[k].second);
        m_fall_off = k + 1 < m_entries.size() ? m_entries[k + 1].first : -1;
        emit_body(*order[k], static_cast<int32_t>(order[k]->pa - head.pa), stats);
    }
    m_fall_off = -1;  // cold code falls into nothing
    m_pinned = -1;    // cold code enters blocks at their labels, which load a pinned addend
    for (size_t i = 0; i < m_cold.size(); ++i) {
        const std::function<void()> f = std::move(m_cold[i]);  // it may add cold code of its own
        f();
    }
    m_cold.clear();
    L(m_leave_canon);
    writeback(m_canon);
    L(m_plain);
    xor_(eax, eax);
    jump_to_epilogue();
    if (m_stale_key_used) {
        L(m_stale_key);
        mov(rcx, reinterpret_cast<uint64_t>(m_recheck));
        jmp(rcx);
    }
    side_entries(order);
    if (Xbyak::GetError() != 0) {
        Xbyak::ClearError();
        return {};
    }
    ready();  // resolves labels (no protection change: DontSetProtectRWE)
    ++stats.blocks;
    if (blocks.size() > 1) ++stats.regions;
    stats.memo_accesses += m_memo_accesses;
    stats.pinned_memos += m_pinned_memos;
    return {getCode(), getSize()};
}

// Entries at the region's blocks after the head (see Emitter::entries), laid out after
// everything else: rbp back to the head's pc, then the head's entry, the canonical registers.
void Emitter::Impl::side_entries(std::span<const interp::Block* const> order) {
    for (size_t k = 1; k < m_entries.size(); ++k) {
        m_side_entries.push_back({order[k]->pa, getSize()});
        add(rbp, imm32(-m_entries[k].first));
        reload(m_canon);
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
//     extension of its low 32 bits).
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
        m_result_lazy = is_lazy(d.rs1);
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
    const auto bit = static_cast<uint8_t>(1u << i);
    m_lazy = static_cast<uint8_t>(m_result_lazy ? m_lazy | bit : m_lazy & ~bit);
}

// One block of a region, `base` bytes from the head, entered with the canonical cache and
// rbp = the head's pc (so jumps between the region's blocks need not move rbp: exits and
// slow paths add the instruction's offset from the head, as set_pc does).
void Emitter::Impl::emit_body(const interp::Block& b, int32_t base, Stats& stats) {
    m_regs.restore(m_canon);
    m_lazy = 0;
    m_pc_off = 0;
    m_ended = false;
    m_fs = FsKnown::Unknown;
    plan_groups(b);
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
        const bool zext_pair = i + 1 < b.insns.size() && is_zext_w(d, b.insns[i + 1]);
        const LazyUse use = zext_pair ? LazyUse::None : lazy_use(d);
        const bool keeps = zext_pair || use != LazyUse::None || keeps_group(static_cast<Op>(d.op), m_has_bitcount);
        m_result_lazy = false;
        if (use != LazyUse::None)
            prepare_lazy(d, use);
        else if (!keeps)
            materialize_all();
        else if (!zext_pair)  // zext.w reads only the low 32 bits of its source, as Word does
            materialize_sources(d);
        m_may_defer_sext = use == LazyUse::Word;
        if (static_cast<Op>(d.op) == Op::crossing && b.crossing) {
            emit_crossing(b, stats);  // a block of its own
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
        jmp(m_plain, T_NEAR);
    } else {
        edge(off, b.insns.size(), m_regs.map(), true);
    }
}

// d through the interpreter's semantics (run_fallback; eax = its verdict), with the counters
// and pc in HartState current, and rbp reloaded from it after (a trap or jump moves it).
void Emitter::Impl::call_fallback(const DecodedInsn& d) {
    // keeps_group let a group span this call, which would clobber the group's addend (rdi)
    // and could change the translation it stands for: a bug, caught at translation time.
    if (m_group_live) std::abort();
    flush_counters();
    sync_pc();
    mov(rdi, rbx);
    mov(rsi, reinterpret_cast<uint64_t>(&d));
    mov(rax, addr(&run_fallback));
    call(rax);
    m_fs = FsKnown::Unknown;  // it may have written mstatus
    // A system instruction may have changed what the memos copy (satp, mstatus, PMP, an
    // sfence.vma); anything else (FP, AMO min/max, cache-block operations) cannot.
    if ((d.raw & 0x7f) == 0x73) forget_memos();
    reload_pc();
}

void Emitter::Impl::emit_fallback(const DecodedInsn& d, size_t index, int32_t off) {
    spill();
    set_pc(off);
    call_fallback(d);
    test(eax, eax);
    Xbyak::Label left;
    jnz(left, T_NEAR);
    cold([this, left, index]() mutable {
        L(left);
        leave_after_fallback(index);
    });
}

// After run_fallback left the block (eax = 1: instruction `index` retired, pc set; 2: it
// trapped): out to the dispatcher with the right counts.
void Emitter::Impl::leave_after_fallback(size_t index) {
    Xbyak::Label trapped;
    cmp(eax, 1);
    jne(trapped);
    count(index + 1, index + 1);
    jmp(m_plain, T_NEAR);
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
        case Op::csrrs: case Op::csrrci:
            // The kernel's hottest CSR uses: csrr sstatus, csrrci sstatus, SIE
            // (local_irq_save) and csrs sstatus, rs1 (local_irq_restore). Everything else goes
            // through the interpreter's semantics.
            if (static_cast<uint16_t>(d.imm) != csr::SSTATUS) return false;
            if (op == Op::csrrs && d.rs1 != 0) {
                emit_sstatus_set(d, index, off);
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
        case Op::sfence_vma: emit_sfence_vma(d, index, off); return true;
        // fence_i: through the interpreter's semantics (Hart::fence_i: with harts on threads
        // of their own, other harts' code stores are taken then), leaving for the dispatcher.
        default: return emit_fp(d, index, off, op);
    }
}

void Emitter::Impl::emit_auipc(const DecodedInsn& d, int32_t off) {
    if (d.rd == 32) return;
    const int64_t delta = static_cast<int64_t>(off) - m_pc_off + d.imm;
    mov(rax, rbp);
    if (fits_i32(delta)) {
        add(rax, imm32(delta));
    } else {
        mov(rcx, static_cast<uint64_t>(delta));
        add(rax, rcx);
    }
    put(d.rd, rax);
}

void Emitter::Impl::emit_jal(const DecodedInsn& d, size_t index, int32_t off) {
    if (d.rd != 32) {
        lea(rax, ptr[rbp + disp(off + d.len - m_pc_off)]);
        put(d.rd, rax);
    }
    m_ended = true;
    edge(static_cast<int64_t>(off) + d.imm, index + 1, m_regs.map(), true);
}

void Emitter::Impl::emit_jalr(const DecodedInsn& d, size_t index, int32_t off) {
    get(rax, d.rs1);  // read rs1 before writing rd (rd may equal rs1)
    if (d.imm != 0) add(rax, imm32(d.imm));
    and_(rax, imm32(-2));
    if (d.rd != 32) {
        lea(rcx, ptr[rbp + disp(off + d.len - m_pc_off)]);
        put(d.rd, rcx);
    }
    spill();
    mov(rbp, rax);
    exit_indirect(index + 1);
    m_ended = true;
}

// To `to` if branch op's condition (taken: as the flags of compare(rs1, rs2) say) holds, or
// if it does not (taken false).
void Emitter::Impl::jump_if(Op op, bool taken, const Xbyak::Label& to) {
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
    Xbyak::Label second;
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
    Xbyak::Label other;
    jump_if(op, other_taken, other);
    cold([this, other, other_off, index, now, pc_off = m_pc_off]() mutable {
        L(other);
        m_pc_off = pc_off;
        m_regs.restore(now);
        edge(other_off, index + 1, now);
    });
    edge(next_block_off, index + 1, now, true);
    m_ended = true;
}

// The soft-TLB hit path of a load or store (Hart::load): rsi = va = rs1 + imm; the entry of
// the current data view must hold tag (va & ~0xfff) | tag id and the access be naturally
// aligned, else `slow` (with rsi = va). Both tests are one compare: the misaligned low bits
// of va are kept and XORed with the tag id, a multiple of 8 (Hart::kTagIdStep), so they can
// only match when they are zero. Leaves rsi = the host address.
void Emitter::Impl::tlb_probe(const DecodedInsn& d, unsigned size, size_t tag_offset, Xbyak::Label& slow,
                              uint64_t and_mask) {
    if (const int i = d.rs1 == 0 ? -1 : m_regs.host_of(d.rs1); i >= 0) {
        lea(rsi, ptr[cache_reg(static_cast<unsigned>(i)) + disp(d.imm)]);
    } else {
        get(rsi, d.rs1);
        if (d.imm != 0) add(rsi, imm32(d.imm));
    }
    if (and_mask != ~uint64_t{0}) and_(rsi, imm32(static_cast<int64_t>(and_mask)));
    tlb_entry();
    mov(rcx, rsi);
    and_(rcx, imm32(~int64_t{0xfff} | (size - 1)));
    xor_(rcx, qword[rbx + m_l.tlb_tag]);
    cmp(rcx, qword[rax + tag_offset]);
    jne(slow, T_NEAR);
    add(rsi, qword[rax + offsetof(Hart::TlbEntry, addend)]);
}

// rax = the current data view's TLB entry for the page of rsi.
void Emitter::Impl::tlb_entry() {
    static_assert(Hart::kTlbSets * sizeof(Hart::TlbEntry) <= (1u << 31));
    static_assert(sizeof(Hart::TlbEntry) == 1u << 5);
    mov(eax, esi);
    shr(eax, 12 - 5);  // the set index, times sizeof(TlbEntry)
    and_(eax, (Hart::kTlbSets - 1) * sizeof(Hart::TlbEntry));
    add(rax, qword[rbx + m_l.data_tlb]);
}

void Emitter::Impl::plan_groups(const interp::Block& b) {
    m_groups.clear();
    m_group_of.assign(b.insns.size(), -1);
    for (size_t i = 0; i < b.insns.size(); ++i) {
        const DecodedInsn& d = b.insns[i];
        if (access_size(static_cast<Op>(d.op)) == 0 || d.rs1 == 0) continue;
        const AccessGroup g = group_from(b, i, m_has_bitcount);
        if (g.members < kMinGroupSize) continue;
        for (size_t j = g.first; j <= g.last; ++j)
            if (access_size(static_cast<Op>(b.insns[j].op)) != 0 && b.insns[j].rs1 == g.base)
                m_group_of[j] = static_cast<int>(m_groups.size());
        m_groups.push_back(g);
        i = g.last;  // one group at a time: rdi holds its addend
    }
}

// At a group's first access: rdi = the addend of the page that holds all of the group's
// bytes, if the current data view's TLB entry for it allows every kind of access the group
// makes (the checks Hart::load and Hart::store make, for the whole span at once), else 0.
// A write entry exists only for RAM without translated code (CodeWatch), as for single
// stores. Clobbers rax, rcx, rsi.
void Emitter::Impl::group_probe(const AccessGroup& g) {
    Xbyak::Label none;
    const Reg64 base = base_reg(g.base, rdi);
    lea(rsi, ptr[base + disp(g.lo)]);
    lea(rcx, ptr[base + disp(g.end - 1)]);
    xor_(rcx, rsi);
    xor_(edi, edi);
    test(rcx, imm32(-4096));  // first and last byte in different pages
    jnz(none, T_NEAR);
    tlb_entry();
    and_(rsi, imm32(-4096));
    xor_(rsi, qword[rbx + m_l.tlb_tag]);
    if (g.loads) {
        cmp(rsi, qword[rax + offsetof(Hart::TlbEntry, tag_r)]);
        jne(none, T_NEAR);
    }
    if (g.stores) {
        cmp(rsi, qword[rax + offsetof(Hart::TlbEntry, tag_w)]);
        jne(none, T_NEAR);
    }
    mov(rdi, qword[rax + offsetof(Hart::TlbEntry, addend)]);
    L(none);
}

// The host address of a group member's access when its group's probe succeeded (rdi != 0);
// else jumps to `probe`, where it probes alone. Clobbers rsi.
Xbyak::RegExp Emitter::Impl::group_address(const DecodedInsn& d, size_t index, Xbyak::Label& probe) {
    const AccessGroup& g = m_groups[static_cast<size_t>(m_group_of[index])];
    if (index == g.first) group_probe(g);
    const Reg64 base = base_reg(d.rs1, rsi);
    test(rdi, rdi);
    jz(probe, T_NEAR);
    return base + rdi + disp(d.imm);
}

void Emitter::Impl::load_value(const Xbyak::RegExp& at, unsigned size, bool sign, const Reg64& to) {
    switch (size) {
        case 1: sign ? movsx(to, byte[at]) : movzx(to.cvt32(), byte[at]); break;
        case 2: sign ? movsx(to, word[at]) : movzx(to.cvt32(), word[at]); break;
        case 4: sign ? movsxd(to, dword[at]) : mov(to.cvt32(), dword[at]); break;
        default: mov(to, qword[at]); break;
    }
}

void Emitter::Impl::store_value(const Xbyak::RegExp& at, unsigned size, const Reg64& v) {
    switch (size) {
        case 1: mov(byte[at], v.cvt8()); break;
        case 2: mov(word[at], v.cvt16()); break;
        case 4: mov(dword[at], v.cvt32()); break;
        default: mov(qword[at], v); break;
    }
}

// A slow-path helper call from inside a block; a live group's addend survives it.
void Emitter::Impl::call_slow(uint64_t fn, bool keep_rdi) {
    if (keep_rdi) mov(qword[rsp + kFrameGroup], rdi);
    mov(rdi, rbx);
    mov(rax, fn);
    call(rax);
    if (keep_rdi) mov(rdi, qword[rsp + kFrameGroup]);
}

// The slow-path helper of a load or store.
uint64_t slow_helper(unsigned size, bool store, bool sign) {
    if (store) {
        switch (size) {
            case 1: return addr(&store_slow<uint8_t>);
            case 2: return addr(&store_slow<uint16_t>);
            case 4: return addr(&store_slow<uint32_t>);
            default: return addr(&store_slow<uint64_t>);
        }
    }
    switch (size) {
        case 1: return sign ? addr(&load_slow<int8_t>) : addr(&load_slow<uint8_t>);
        case 2: return sign ? addr(&load_slow<int16_t>) : addr(&load_slow<uint16_t>);
        case 4: return sign ? addr(&load_slow<int32_t>) : addr(&load_slow<uint32_t>);
        default: return addr(&load_slow<uint64_t>);
    }
}

// Whether access d (instruction `index` of the block being planned) wants a memo: in a loop
// region, a load or store not in an access group, off a base in m_memo_bases.
bool Emitter::Impl::has_memo(const DecodedInsn& d, size_t index) const {
    return m_group_of[index] < 0 && d.rs1 != 0 && d.rs1 < 32 && m_memo_bases[d.rs1];
}

// Whether any block of the region has an access group (plan_groups).
bool Emitter::Impl::any_group(std::span<const interp::Block* const> blocks) {
    return std::any_of(blocks.begin(), blocks.end(), [this](const interp::Block* b) {
        plan_groups(*b);
        return !m_groups.empty();
    });
}

// The memo of the access at guest-physical address pa: a hash of it (Fibonacci hashing), in
// the loads' half or the stores' half. Two accesses may share one (they then take it from
// each other, which costs only misses).
unsigned Emitter::memo_slot(uint64_t pa, bool store) {
    constexpr unsigned kHalfBits = std::countr_zero(kMemoSlots / 2);
    const auto h = static_cast<unsigned>(((pa >> 1) * 0x9e3779b97f4a7c15ull) >> (64 - kHalfBits));
    return (store ? kMemoSlots / 2 : 0) + h;
}

// The host address of an access while its memo covers its bytes: the page compare includes
// the access's misaligned low bits, as tlb_probe's does, so only naturally aligned accesses
// match. Else jumps to `miss`. The addend is read from the frame, or is in rsi if the memo is
// the block's pinned one. Clobbers rcx, and rax (a base register that is not cached).
Xbyak::RegExp Emitter::Impl::memo_address(const DecodedInsn& d, unsigned size, unsigned site, Xbyak::Label& miss) {
    const Reg64 base = base_reg(d.rs1, rax);
    lea(rcx, ptr[base + disp(d.imm)]);
    and_(rcx, imm32(~int64_t{0xfff} | (size - 1)));
    cmp(rcx, qword[rsp + kFrameMemoPages + 8 * site]);
    jne(miss, T_NEAR);
    if (static_cast<int>(site) == m_pinned) return base + rsi + disp(d.imm);
    mov(rcx, memo_addend(site));
    return base + rcx + disp(d.imm);
}

// The memo whose addend a block that jumps to itself keeps in rsi while it loops, so that its
// access's address waits for no load (after a mispredicted exit from the loop, that load
// would be on the way to the next branch): the first memo of the block that no other access
// of it shares, if nothing the block runs natively uses rsi (no access probes the TLB, no
// access group, no call: instructions that keep a group, and the jump back). Slow paths
// restore it. -1 if none.
int Emitter::Impl::pinned_memo(const interp::Block& b, int32_t base) const {
    if (!m_loop || !jumps_to_itself(b)) return -1;
    std::array<unsigned, kMemoSlots> sharing{};
    std::array<unsigned, interp::CodeCache::kMaxBlockInsns> slots{};  // of the block's accesses
    size_t accesses = 0;
    int32_t off = base;
    for (size_t i = 0; i < b.insns.size(); off += b.insns[i].len, ++i) {
        const DecodedInsn& d = b.insns[i];
        const auto op = static_cast<Op>(d.op);
        if (i + 1 < b.insns.size() && !keeps_group(op, m_has_bitcount)) return -1;
        if (access_size(op) == 0) continue;
        if (!has_memo(d, i)) return -1;
        slots[accesses] = memo_slot(m_head_pa + static_cast<uint64_t>(off), is_store(op));
        ++sharing[slots[accesses++]];
    }
    for (size_t k = 0; k < accesses; ++k)
        if (sharing[slots[k]] == 1) return static_cast<int>(slots[k]);
    return -1;
}

// After tlb_probe's hit (rax = the entry, rsi = the host address): the entry's page and addend
// become the access's memo. Clobbers rax and rcx.
void Emitter::Impl::take_memo(unsigned site) {
    mov(rcx, qword[rax + offsetof(Hart::TlbEntry, addend)]);
    mov(memo_addend(site), rcx);
    mov(rax, rsi);
    sub(rax, rcx);
    and_(rax, imm32(-4096));
    mov(qword[rsp + kFrameMemoPages + 8 * site], rax);
}

// Every memo holds no page: all ones, which no access's page-and-misalignment bits match
// (bits 3-11 are never set in them). Two at a time.
void Emitter::Impl::forget_memos() {
    pcmpeqd(xmm0, xmm0);
    for (unsigned i = 0; i < kMemoSlots; i += 2) movups(ptr[rsp + kFrameMemoPages + 8 * i], xmm0);
}

// A load (into rax, then rd) or store: Hart::load's or Hart::store's hit path inline
// (tlb_probe, its group's shared probe, or its region's page memo). Anything else takes the
// out-of-line slow path with the guest pc set to this instruction (precise traps). Write entries never exist for pages
// holding translated code (CodeWatch), so stores to code always reach the slow path and
// invalidate first.
void Emitter::Impl::emit_memory(const DecodedInsn& d, size_t index, int32_t off, Mem m) {
    Xbyak::Label slow, done, probe;
    Reg64 v = rdx;  // a store's value: its cache register, or rdx loaded with it
    if (m.store && m.fp) {
        mov(rdx, F(d.rs2));
    } else if (m.store) {
        if (const int i = d.rs2 == 0 ? -1 : m_regs.host_of(d.rs2); i >= 0)
            v = cache_reg(static_cast<unsigned>(i));
        else
            get(rdx, d.rs2);
    }
    // A load whose rd is cached goes straight into rd's host register (which still holds the
    // old value if the access traps first); otherwise into rax, put below.
    Reg64 to = rax;
    if (const int i = m.store || m.fp || d.rd == 32 ? -1 : m_regs.host_of(d.rd); i >= 0)
        to = cache_reg(static_cast<unsigned>(i));
    const size_t tag = m.store ? offsetof(Hart::TlbEntry, tag_w) : offsetof(Hart::TlbEntry, tag_r);
    auto access = [this, m, v, to](const Xbyak::RegExp& at) {
        m.store ? store_value(at, m.size, v) : load_value(at, m.size, m.sign, to);
    };
    const bool grouped = m_group_of[index] >= 0;
    const int site = !m.fp && has_memo(d, index) ? static_cast<int>(memo_slot(m_head_pa + static_cast<uint64_t>(off), m.store)) : -1;
    if (site >= 0) ++m_memo_accesses;
    const bool memo = site >= 0;
    if (grouped) {
        access(group_address(d, index, probe));
    } else if (memo) {
        access(memo_address(d, m.size, static_cast<unsigned>(site), probe));
    } else {
        tlb_probe(d, m.size, tag, slow);
        access(rsi);
    }
    L(done);
    // The slow path runs with the register cache as it is here (before a load's put): it stores
    // the cached registers for the helper, and reloads them after the call clobbered them.
    const int32_t pc_off = m_pc_off;
    cold([this, slow, done, probe, grouped, memo, site, access, tag, d, m, index, off, pc_off, to, keep_rdi = m_group_live,
          map = m_regs.map(), lazy = m_lazy, pinned = m_pinned]() mutable {
        // rsi back to the block's pinned addend, if it has one, after the code below used it.
        auto repin = [this, pinned] {
            if (pinned >= 0) mov(rsi, memo_addend(static_cast<unsigned>(pinned)));
        };
        // The group's probe failed, or the memo holds another page: this access probes alone
        // (and a memo takes over the page it hits).
        if (grouped || memo) {
            L(probe);
            m_regs.restore(map);
            tlb_probe(d, m.size, tag, slow);
            if (memo) take_memo(static_cast<unsigned>(site));
            access(rsi);
            repin();
            jmp(done, T_NEAR);
        }
        L(slow);
        writeback(map, lazy);
        lea(rax, ptr[rbp + disp(off - pc_off)]);
        mov(PC(), rax);
        if (m.store && m.fp)
            mov(rdx, F(d.rs2));
        else if (m.store && d.rs2 == 0)
            xor_(edx, edx);
        else if (m.store)
            mov(rdx, X(d.rs2));  // current in memory after the writeback
        call_slow(slow_helper(m.size, m.store, m.sign), keep_rdi);
        Xbyak::Label trapped, attention;
        test(eax, eax);
        jnz(trapped);
        reload(map);
        if (!m.store) mov(to, rdx);
        repin();
        jmp(done, T_NEAR);
        L(trapped);
        cmp(eax, 2);
        je(attention);
        reload_pc();  // the trap handler's
        exit_trap(index);
        // A device access raised a pin: out to the dispatcher after this instruction, every
        // register in memory (written back above, and the loaded value).
        L(attention);
        if (!m.store && m.fp) {
            write_f_loaded(d.rd, m.size, rdx);
            set_fs_dirty_code();
        } else if (!m.store) {
            mov(X(d.rd), rdx);
        }
        add(rbp, imm32(off + d.len - pc_off));
        count(index + 1, index + 1);
        jmp(m_plain, T_NEAR);
    });
    if (!m.store && m.fp) {
        write_f_loaded(d.rd, m.size, rax);
        mark_fs_dirty();
    } else if (!m.store && to == rax) {
        put(d.rd, rax);
    }
}

// f[rd] = what flw or fld loaded into r (flw NaN-boxes, §12.2).
void Emitter::Impl::write_f_loaded(unsigned rd, unsigned size, const Reg64& r) {
    if (size == 4)
        write_f32(rd, r.cvt32());
    else
        mov(F(rd), r);
}

// LR/SC and the common AMOs (exec_a.cpp) on the TLB hit path: an entry for the access
// (read for LR, write for the others, which Hart::amo_pointer also requires) and natural
// alignment. As in the interpreter, each is one atomic host operation, so harts on other host
// threads see it whole: xchg and lock xadd for swap and add, a lock cmpxchg loop for the
// bitwise ones, lock cmpxchg against the value LR read for SC. Locked x86 instructions are
// full barriers, at least what any aq/rl combination asks (unpriv spec §8.4). Anything else
// runs the interpreter's semantics from cold code, which raises the misaligned or access
// fault exactly as the interpreter does.
void Emitter::Impl::emit_atomic(const DecodedInsn& d, size_t index, int32_t off, Op op) {
    const bool w32 = op == Op::lr_w || op == Op::sc_w || op == Op::amoswap_w || op == Op::amoadd_w ||
                     op == Op::amoxor_w || op == Op::amoand_w || op == Op::amoor_w;
    const bool lr = op == Op::lr_w || op == Op::lr_d;
    const bool sc = op == Op::sc_w || op == Op::sc_d;
    Xbyak::Label other, done;
    DecodedInsn at = d;
    at.imm = 0;  // the address is rs1 alone
    tlb_probe(at, w32 ? 4 : 8, lr ? offsetof(Hart::TlbEntry, tag_r) : offsetof(Hart::TlbEntry, tag_w), other);
    const bool reserves = lr && d.imm != kLrUnconstrained;
    if (reserves || sc) {
        mov(rcx, m_l.host_to_pa);
        add(rcx, rsi);  // the guest-physical address reservations are on
    }
    if (lr) {
        // An aligned mov is single-copy atomic. The value SC compares against is kept as the
        // interpreter keeps it, zero-extended (an SC.D after an LR.W compares all 64 bits).
        // Only the LR of a constrained sequence reserves (rv64/isa/lr_sequence.hpp): a
        // constant of the translation, as the code it was classified from is.
        w32 ? mov(eax, dword[rsi]) : mov(rax, qword[rsi]);
        mov(byte[rbx + m_l.reservation_valid], reserves ? 1 : 0);
        if (reserves) {
            mov(qword[rbx + m_l.reservation], rcx);
            mov(qword[rbx + m_l.reservation_value], rax);
        }
        if (w32) movsxd(rax, eax);
    } else if (sc) {
        emit_sc(d, w32);
    } else {
        emit_amo_rmw(d, op, w32);
    }
    L(done);
    cold_fallback(d, index, off, other, done, true);
    put(d.rd, rax);
}

// SC with rcx = the guest-physical address, rsi = the host address: eax = 0 if it stored,
// 1 if it failed (§8.2).
void Emitter::Impl::emit_sc(const DecodedInsn& d, bool w32) {
    Xbyak::Label fail, end;
    cmp(byte[rbx + m_l.reservation_valid], 0);
    mov(byte[rbx + m_l.reservation_valid], 0);  // every SC ends the reservation (§8.2)
    je(fail, T_NEAR);
    cmp(qword[rbx + m_l.reservation], rcx);
    jne(fail, T_NEAR);
    get(rdx, d.rs2);
    mov(rax, qword[rbx + m_l.reservation_value]);
    lock();
    w32 ? cmpxchg(dword[rsi], edx) : cmpxchg(qword[rsi], rdx);
    setne(al);
    movzx(eax, al);
    jmp(end);
    L(fail);
    mov(eax, 1);
    L(end);
}

// An AMO with rsi = the host address: rax = the old value (sign-extended for .W, §8.4).
void Emitter::Impl::emit_amo_rmw(const DecodedInsn& d, Op op, bool w32) {
    get(rdx, d.rs2);
    if (op == Op::amoswap_w || op == Op::amoswap_d || op == Op::amoadd_w || op == Op::amoadd_d) {
        const bool swap = op == Op::amoswap_w || op == Op::amoswap_d;
        if (!swap) lock();
        if (w32) {
            swap ? xchg(dword[rsi], edx) : xadd(dword[rsi], edx);
        } else {
            swap ? xchg(qword[rsi], rdx) : xadd(qword[rsi], rdx);
        }
        w32 ? movsxd(rax, edx) : mov(rax, rdx);
        return;
    }
    // xor/and/or: compute from the value read, store it if memory still holds that value
    // (cmpxchg reloads rax with what it found otherwise).
    Xbyak::Label retry;
    w32 ? mov(eax, dword[rsi]) : mov(rax, qword[rsi]);
    L(retry);
    mov(rcx, rax);
    switch (op) {
        case Op::amoxor_w: case Op::amoxor_d: xor_(rcx, rdx); break;
        case Op::amoand_w: case Op::amoand_d: and_(rcx, rdx); break;
        default: or_(rcx, rdx); break;  // amoor
    }
    lock();
    w32 ? cmpxchg(dword[rsi], ecx) : cmpxchg(qword[rsi], rcx);
    jne(retry);
    if (w32) movsxd(rax, eax);
}

// The cold side of an instruction emitted natively for its common case: at `other`, the
// interpreter's semantics run it with the register cache as it is here (stored for the
// helper, reloaded after), then back to `done` (with rax = rd's new value if `result`), or
// out if it trapped. Such instructions never leave their block otherwise.
void Emitter::Impl::cold_fallback(const DecodedInsn& d, size_t index, int32_t off, Xbyak::Label other,
                                  Xbyak::Label done, bool result) {
    const int32_t pc_off = m_pc_off;
    cold([this, other, done, index, off, pc_off, result, &d, map = m_regs.map()]() mutable {
        L(other);
        writeback(map);
        if (off != pc_off) add(rbp, imm32(off - pc_off));
        call_fallback(d);
        Xbyak::Label left;
        test(eax, eax);
        jnz(left, T_NEAR);
        if (off != pc_off) sub(rbp, imm32(off - pc_off));
        reload(map);
        if (result) mov(rax, X(d.rd));
        jmp(done, T_NEAR);
        L(left);  // retired and left the block (pc set), or trapped: the dispatcher goes on
        leave_after_fallback(index);
    });
}

// rd = sstatus (Hart::csr_read: mstatus under SSTATUS_MASK), then for csrrci sstatus, SIE
// the bit is cleared, as Hart::write_mstatus would (clearing SIE changes no translation and
// makes no interrupt deliverable, so the block goes on, as csr_op's does). Only U mode may
// not access sstatus: that raises illegal instruction the cold way. With V=1 sstatus is
// vsstatus (H): the cold way too.
void Emitter::Impl::emit_sstatus(const DecodedInsn& d, size_t index, int32_t off, bool clear_sie) {
    static_assert(csr::MSTATUS_SIE == 2);
    Xbyak::Label other, done;
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

// sfence.vma (exec_sfence_vma: the flush, or illegal instruction) ends the block, as in the
// interpreter, but chains on: the flush changed no interrupt state, and the successor is
// reached only while its fetch translation survived the flush. The kernel flushes one page
// after every fixmap and page-table update, ~100 K times per boot.
void Emitter::Impl::emit_sfence_vma(const DecodedInsn& d, size_t index, int32_t off) {
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
    exit_chain(m_pc_off, index + 1, true);
    m_ended = true;
}

// cbo.zero (CMO spec §2.5.3, exec_cbo_zero): allowed in M, in S with menvcfg.CBZE, in U with
// senvcfg.CBZE too; then the 64-byte block holding rs1 is zeroed if the TLB has a write entry
// for it (it lies in one page). Anything else (an illegal use, a miss, V=1 with henvcfg's
// gate) goes the cold way.
void Emitter::Impl::emit_cbo_zero(const DecodedInsn& d, size_t index, int32_t off) {
    static_assert(csr::MENVCFG_CBZE == 0x80);
    Xbyak::Label other, done, allowed;
    cmp(byte[rbx + m_l.virt], 0);
    jne(other, T_NEAR);
    mov(al, byte[rbx + m_l.priv]);
    cmp(al, static_cast<uint8_t>(Priv::M));
    je(allowed);
    test(byte[rbx + m_l.menvcfg], 0x80);
    jz(other, T_NEAR);
    cmp(al, static_cast<uint8_t>(Priv::U));
    jne(allowed);
    test(byte[rbx + m_l.senvcfg], 0x80);
    jz(other, T_NEAR);
    L(allowed);
    tlb_probe(d, 1, offsetof(Hart::TlbEntry, tag_w), other, ~uint64_t{63});
    xorps(xmm0, xmm0);
    for (size_t i = 0; i < 64; i += 16) movups(ptr[rsi + i], xmm0);
    L(done);
    cold_fallback(d, index, off, other, done, false);
}

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
    if (op != Op::roriw && d.rs1 != 0 && (!reg_form || (d.rs2 != 0 && d.rs2 != d.rd))) {
        bool cached = false;
        const Reg64 r = dest(d.rd, cached);
        const Src a = src(d.rs1, d.rd, cached, r);
        const Src b = reg_form ? src(d.rs2, d.rd, cached, r) : a;  // before r is written
        if (reg_form && is(b, r) && !is(a, r)) {  // rs2 was evicted from r: rs1 - rs2 needs rs2 elsewhere
            mov(rax, r);
            load_src(r, a);
            op == Op::addw ? add(r.cvt32(), eax) : sub(r.cvt32(), eax);
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
    Xbyak::Label done, zero, divide;
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
    Xbyak::Label done, zero, divide;
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

}  // namespace trapeze::rv64::jit
