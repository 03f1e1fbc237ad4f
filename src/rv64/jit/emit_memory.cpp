// Loads, stores and atomics (Emitter::Impl::emit_memory, emit_atomic, emit_cbo_zero): the
// soft-TLB hit path inline (tlb_probe), one probe for a run of accesses off one base
// (access groups), a loop's page memos, and the slow-path helpers for everything else
// (TLB misses, MMIO, misaligned and faulting accesses).
#include "rv64/jit/emitter_impl.hpp"

#include <algorithm>
#include <array>
#include <type_traits>

#include "rv64/isa/lr_sequence.hpp"

namespace trapeze::rv64::jit {

namespace {

// --- runtime helpers called from emitted code (noexcept: see emitter.cpp) -------------------

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


// The groups starting at b.insns[first] (a load or store): one for each access off the same
// base that follows while nothing in between writes the base or calls out, ending there
// (so a shorter one can leave room for a more valuable group of another base). `at` places
// each access (access_ranges). Appends those of kMinGroupSize members or more to `out`.
void groups_from(const interp::Block& b, std::span<const AccessRange> at, size_t first, bool has_bitcount,
                 std::vector<AccessGroup>& out) {
    AccessGroup g{at[first].base, at[first].lo, at[first].lo, false, false, first, first, 0};
    for (size_t j = first; j < b.insns.size(); ++j) {
        const DecodedInsn& d = b.insns[j];
        const auto op = static_cast<Op>(d.op);
        if (!keeps_group(op, has_bitcount)) break;
        if (access_size(op) != 0 && at[j].base == g.base) {
            const int64_t lo = std::min(g.lo, at[j].lo);
            const int64_t end = std::max(g.end, at[j].end);
            if (end - lo > kMaxGroupSpan) break;
            g.lo = lo;
            g.end = end;
            (is_store(op) ? g.stores : g.loads) = true;
            g.last = j;
            if (++g.members >= kMinGroupSize) out.push_back(g);
        }
        if (writes_x(d, g.base)) break;  // a load into the base is the group's last member
    }
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

}  // namespace

namespace emit {

// Declared, and explained, in emitter_impl.hpp.
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

}  // namespace emit

// The soft-TLB hit path of a load or store (Hart::load): rsi = va = rs1 + imm; the entry of
// the current data view must hold tag (va & ~0xfff) | tag id and the access be naturally
// aligned, else `slow` (with rsi = va). Both tests are one compare: the misaligned low bits
// of va are kept and XORed with the tag id, a multiple of 8 (Hart::kTagIdStep), so they can
// only match when they are zero. Leaves rsi = the host address, and rax = the entry unless
// `table_in_rdx`: then rdx holds the view's table and rax the entry's offset in it, which takes
// the table's load and an add off the way from the address to the access (the table's load
// runs beside the index computation), for a caller with rdx free (a load).
void Emitter::Impl::tlb_probe(const DecodedInsn& d, unsigned size, size_t tag_offset, Label& slow,
                              uint64_t and_mask, bool table_in_rdx) {
    if (const int i = d.rs1 == 0 ? -1 : m_regs.host_of(d.rs1); i >= 0) {
        lea(rsi, ptr[cache_reg(static_cast<unsigned>(i)) + disp(d.imm)]);
    } else {
        get(rsi, d.rs1);
        if (d.imm != 0) add(rsi, imm32(d.imm));
    }
    if (and_mask != ~uint64_t{0}) and_(rsi, imm32(static_cast<int64_t>(and_mask)));
    if (table_in_rdx) {
        mov(rdx, qword[rsp + kFrameDataTlb]);
        entry_offset();
    } else {
        tlb_entry();
    }
    const Xbyak::RegExp entry = table_in_rdx ? rdx + rax : Xbyak::RegExp(rax);
    mov(rcx, rsi);
    and_(rcx, imm32(~int64_t{0xfff} | (size - 1)));
    xor_(rcx, qword[rsp + kFrameTlbTag]);
    cmp(rcx, qword[entry + tag_offset]);
    jne(slow, T_NEAR);
    add(rsi, qword[entry + offsetof(Hart::TlbEntry, addend)]);
}

// eax = the offset of the TLB entry for the page of rsi within its view's table.
void Emitter::Impl::entry_offset() {
    static_assert(Hart::kTlbSets * sizeof(Hart::TlbEntry) <= (1u << 31));
    static_assert(sizeof(Hart::TlbEntry) == 1u << 5);
    mov(eax, esi);
    shr(eax, 12 - 5);  // the set index, times sizeof(TlbEntry)
    and_(eax, (Hart::kTlbSets - 1) * sizeof(Hart::TlbEntry));
}

// rax = the current data view's TLB entry for the page of rsi.
void Emitter::Impl::tlb_entry() {
    entry_offset();
    add(rax, qword[rsp + kFrameDataTlb]);
}

void Emitter::Impl::plan_groups(const interp::Block& b) {
    m_groups.clear();
    m_group_of.assign(b.insns.size(), -1);
    // Outside loops, accesses through indexed addresses join their base's groups too. In a
    // loop region the accesses not in a group have page memos, cheaper than a group's probe
    // run on every iteration.
    const std::vector<AccessRange> at = access_ranges(b, !m_loop);
    std::vector<AccessGroup> candidates;
    for (size_t i = 0; i < b.insns.size(); ++i)
        if (at[i].base != 0) groups_from(b, at, i, m_has_bitcount, candidates);
    if (candidates.empty()) return;
    // One group at a time (rdi holds its addend), so the groups are a set of disjoint
    // instruction ranges: the one that saves the most probes (members - 1 each), by dynamic
    // programming over the block's positions. Taken first come, first served, a two-load
    // group off an argument that spanned a function prologue's stores off sp left each store
    // to probe alone. saved[k]: the most probes saved by groups within instructions [0, k).
    std::vector<size_t> saved(b.insns.size() + 1, 0);
    std::vector<int> ends_with(b.insns.size() + 1, -1);  // the group ending at k - 1 in that best plan
    std::sort(candidates.begin(), candidates.end(),
              [](const AccessGroup& x, const AccessGroup& y) { return x.last < y.last; });
    size_t c = 0;
    for (size_t k = 1; k <= b.insns.size(); ++k) {
        saved[k] = saved[k - 1];
        for (; c < candidates.size() && candidates[c].last == k - 1; ++c) {
            const size_t with = saved[candidates[c].first] + candidates[c].members - 1;
            if (with > saved[k]) {
                saved[k] = with;
                ends_with[k] = static_cast<int>(c);
            }
        }
    }
    for (size_t k = b.insns.size(); k > 0;) {
        if (ends_with[k] < 0) {
            --k;
            continue;
        }
        const AccessGroup& g = candidates[static_cast<size_t>(ends_with[k])];
        m_groups.push_back(g);
        k = g.first;
    }
    std::reverse(m_groups.begin(), m_groups.end());
    for (size_t n = 0; n < m_groups.size(); ++n) {
        const AccessGroup& g = m_groups[n];
        for (size_t j = g.first; j <= g.last; ++j)
            if (access_size(static_cast<Op>(b.insns[j].op)) != 0 && at[j].base == g.base)
                m_group_of[j] = static_cast<int>(n);
    }
}

// At a group's first access: rdi = the addend of the page that holds all of the group's
// bytes, if the current data view's TLB entry for it allows every kind of access the group
// makes (the checks Hart::load and Hart::store make, for the whole span at once), else 0.
// A write entry exists only for RAM without translated code (CodeWatch), as for single
// stores. Clobbers rax, rcx, rsi.
void Emitter::Impl::group_probe(const AccessGroup& g) {
    Label none;
    const Reg64 base = base_reg(g.base, rdi);
    lea(rsi, ptr[base + disp(g.lo)]);
    lea(rcx, ptr[base + disp(g.end - 1)]);
    xor_(rcx, rsi);
    xor_(edi, edi);
    test(rcx, imm32(-4096));  // first and last byte in different pages
    jnz(none, T_NEAR);
    tlb_entry();
    and_(rsi, imm32(-4096));
    xor_(rsi, qword[rsp + kFrameTlbTag]);
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
Xbyak::RegExp Emitter::Impl::group_address(const DecodedInsn& d, size_t index, Label& probe) {
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
    lea(rdi, ptr[rbx - Layout::kHartBias]);
    mov(rax, fn);
    call_host(rax);
    if (keep_rdi) mov(rdi, qword[rsp + kFrameGroup]);
}

// Whether access d (instruction `index` of the block being planned) wants a memo: in a loop
// region, a load or store not in an access group, off a base that is not chased there.
bool Emitter::Impl::has_memo(const DecodedInsn& d, size_t index) const {
    return m_loop && m_group_of[index] < 0 && d.rs1 != 0 && d.rs1 < 32 && !is_chased(m_chased[index], d.rs1);
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
Xbyak::RegExp Emitter::Impl::memo_address(const DecodedInsn& d, unsigned size, unsigned site, Label& miss) {
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

// What the frame holds of the current translation, taken afresh: the page memos forgotten
// and the data view's table and tag id copied. At the trampoline's entry and after a system
// instruction, the only one that can change the translation without leaving translated code.
// Clobbers rcx and xmm0.
void Emitter::Impl::renew_translation() {
    forget_memos();
    take_data_view();
}

// Every memo holds no page: all ones, which no access's page-and-misalignment bits match
// (bits 3-11 are never set in them). Two at a time.
void Emitter::Impl::forget_memos() {
    pcmpeqd(xmm0, xmm0);
    for (unsigned i = 0; i < kMemoSlots; i += 2) movups(ptr[rsp + kFrameMemoPages + 8 * i], xmm0);
}

// The frame's copies of the data view's TLB table and tag id (kFrameDataTlb, kFrameTlbTag),
// taken with the memos forgotten (renew_translation) and for the same reason: only a system
// instruction changes them (satp, mstatus's MPRV, MPP and SUM, PMP, sfence.vma, hfence: Hart::
// update_mmu_view and the flushes), and translated code is entered afresh (the trampoline)
// after any that leaves it. A TLB miss's refill changes entries, not these. Clobbers rcx.
void Emitter::Impl::take_data_view() {
    mov(rcx, qword[rbx + m_l.data_tlb]);
    mov(qword[rsp + kFrameDataTlb], rcx);
    mov(rcx, qword[rbx + m_l.tlb_tag]);
    mov(qword[rsp + kFrameTlbTag], rcx);
}

// A load (into rax, then rd) or store: Hart::load's or Hart::store's hit path inline
// (tlb_probe, its group's shared probe, or its region's page memo). Anything else takes the
// out-of-line slow path with the guest pc set to this instruction (precise traps), which also
// stores the results of shifts a rotation skipped that the guest holds here (store_pending).
// Write entries never exist for pages holding translated code (CodeWatch), so stores to code
// always reach the slow path and invalidate first.
void Emitter::Impl::emit_memory(const DecodedInsn& d, size_t index, int32_t off, Mem m) {
    Label slow, done, probe;
    m_labels.name(slow);  // the warm code jumps to it and the cold code places it: both copy it
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
        tlb_probe(d, m.size, tag, slow, ~uint64_t{0}, !m.store);  // a load leaves rdx free
        access(rsi);
    }
    L(done);
    // The slow path runs with the register cache as it is here (before a load's put): it stores
    // the cached registers for the helper, and reloads them after the call clobbered them.
    const int32_t pc_off = m_pc_off;
    // rsi back to the block's pinned addend, if it has one, after the code below used it.
    auto repin = [this, pinned = m_pinned] {
        if (pinned >= 0) mov(rsi, memo_addend(static_cast<unsigned>(pinned)));
    };
    // The group's probe failed, or the memo holds another page: this access probes alone
    // (and a memo takes over the page it hits). Warm: a memo misses whenever its access
    // moves to another page (xz's match finder, every few iterations), and a loop's group
    // whose bytes straddle a page fails in every iteration. Outside loops a group fails only
    // for a frame or struct across a page boundary, or a page not in the TLB: cold, since
    // each member's probe here is some 50 bytes that would sit between the region's blocks.
    if (grouped || memo) {
        std::function<void()> alone = [this, slow, done, probe, memo, site, access, tag, d, m, repin,
                                       map = m_regs.map()]() mutable {
            L(probe);
            m_regs.restore(map);
            tlb_probe(d, m.size, tag, slow);
            if (memo) take_memo(static_cast<unsigned>(site));
            access(rsi);
            repin();
            jmp(done, T_NEAR);
        };
        if (memo || m_loop)
            warm(std::move(alone));
        else
            cold(std::move(alone));
    }
    cold([this, slow, done, d, m, index, off, pc_off, to, repin, keep_rdi = m_group_live, map = m_regs.map(), lazy = m_lazy,
          pending = pending_at(index)]() mutable {
        m_regs.restore(map);
        L(slow);
        writeback(map, lazy);
        store_pending(pending);  // a trap handler or the dispatcher may look
        pc_plus(rax, off - pc_off);
        mov(PC(), rax);
        if (m.store && m.fp)
            mov(rdx, F(d.rs2));
        else if (m.store && d.rs2 == 0)
            xor_(edx, edx);
        else if (m.store)
            mov(rdx, X(d.rs2));  // current in memory after the writeback
        call_slow(slow_helper(m.size, m.store, m.sign), keep_rdi);
        Label trapped, attention;
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
        add(pc(), imm32(off + d.len - pc_off));
        count(index + 1, index + 1);
        jmp(plain(), T_NEAR);
    });
    if (!m.store && m.fp) {
        write_f_loaded(d.rd, m.size, rax);
        mark_fs_dirty();
    } else if (!m.store && to == rax) {
        put(d.rd, rax);
    }
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
    Label other, done;
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
    Label fail, end;
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
    Label retry;
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

// cbo.zero (CMO spec §2.5.3, exec_cbo_zero): allowed in M, in S with menvcfg.CBZE, in U with
// senvcfg.CBZE too; then the 64-byte block holding rs1 is zeroed if the TLB has a write entry
// for it (it lies in one page). Anything else (an illegal use, a miss, V=1 with henvcfg's
// gate) goes the cold way.
void Emitter::Impl::emit_cbo_zero(const DecodedInsn& d, size_t index, int32_t off) {
    static_assert(csr::MENVCFG_CBZE == 0x80);
    Label other, done, allowed;
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

}  // namespace trapeze::rv64::jit
