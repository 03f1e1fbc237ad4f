// Emitter::Impl: the emitter's code generator, shared by the translation units that emit
// its instruction families (emitter.cpp: regions, blocks, exits, control flow and the
// interpreter fallback; emit_trampoline.cpp: the trampoline; emit_memory.cpp: loads, stores,
// the soft-TLB probe, access groups, page memos and atomics; emit_int.cpp: integer
// computation; emit_system.cpp: the system instructions translated natively; emit_fp.cpp: the F
// and D extensions). Private to the JIT: only they include it, and with it xbyak.
#pragma once

// Errors (a block larger than the scratch buffer) are reported by value, never thrown.
#define XBYAK_NO_EXCEPTION
#include <xbyak/xbyak.h>
#include <xbyak/xbyak_util.h>

#include <array>
#include <bit>
#include <cassert>
#include <climits>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <vector>

#include "rv64/interp/code_cache.hpp"
#include "rv64/isa/op.hpp"
#include "rv64/jit/address_ranges.hpp"
#include "rv64/jit/chased.hpp"
#include "rv64/jit/code_buffer.hpp"
#include "rv64/jit/emitter.hpp"
#include "rv64/jit/labels.hpp"

namespace trapeze::rv64::jit {

namespace emit {

// Largest translation: CodeCache::kMaxBlockInsns instructions of at most a few hundred bytes
// each (Jit::kMaxBlockBytes), with room to spare.
constexpr size_t kScratchBytes = 256 * 1024;

template <typename F>
inline uint64_t addr(F* f) {
    return reinterpret_cast<uint64_t>(f);
}

// The trampoline's frame, which translated code addresses off rsp (it makes calls only
// from its top level, so rsp is the same everywhere in it).
constexpr uint32_t kFrameRunState = 0;  // RunState*
constexpr uint32_t kFrameBudget = 8;    // RunState::budget
constexpr uint32_t kFrameFlushed = 16;  // the units left when the counters were last brought up to date
constexpr uint32_t kFrameGroup = 24;    // rdi (an access group's addend) across slow-path calls
// In a wide region (see Emitter::Impl::m_wide) the budget units left and the guest pc, which
// r13 and rbp hold everywhere else, so that the register cache has those two as well.
constexpr uint32_t kFrameLeft = 32;
constexpr uint32_t kFramePc = 40;
// Native FP flags (emit_fp.cpp): the MXCSR image translated code runs with (kMxcsrNearest)
// and, 4 bytes above it, where the accrual stores MXCSR; whether MXCSR holds flags that native
// FP instructions raised and fflags does not have yet (a byte); the address of the
// trampoline's accrual stub, which translations call through this slot (they are emitted
// before they are placed, so cannot reach the stub relative to themselves).
constexpr uint32_t kFrameMxcsr = 48;
constexpr uint32_t kFrameFpPending = 56;
constexpr uint32_t kFrameAccrue = 64;
// Every exception masked, round to nearest even, no flush-to-zero or denormals-are-zero,
// flags clear: the host's default MXCSR.
constexpr uint32_t kMxcsrNearest = 0x1f80;
// The current data view's TLB table and tag id (Hart::m_data_tlb, Hart::m_tag), copied where
// every TLB probe reaches them with a disp8 (5-byte instructions instead of 7 off rbx):
// Emitter::Impl::take_data_view.
constexpr uint32_t kFrameDataTlb = 72;
constexpr uint32_t kFrameTlbTag = 80;
// The page memos (see MemoBases): the page of each (all ones: none), then the addend of each;
// loads' first, then stores'.
constexpr uint32_t kMemoSlots = 64;
constexpr uint32_t kFrameMemoPages = 88;
constexpr uint32_t kFrameMemoAddends = kFrameMemoPages + 8 * kMemoSlots;
constexpr uint32_t kFrameBytes = kFrameMemoAddends + 8 * kMemoSlots;
static_assert(kFrameBytes % 16 == 8, "six pushes and the frame keep rsp 16-byte aligned: see the trampoline");
static_assert(kMemoSlots % 2 == 0, "forget_memos resets pages two at a time");

// log2(kTlbSets * sizeof(TlbEntry)): from one TLB view to the next.
constexpr int kViewShift = std::countr_zero(Hart::kTlbSets * sizeof(Hart::TlbEntry));
static_assert(std::has_single_bit(Hart::kTlbSets));

inline bool fits_i32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

// xbyak takes 32-bit immediates as uint32_t and sign-extends them where x86 does.
inline uint32_t imm32(int64_t v) { return static_cast<uint32_t>(static_cast<int32_t>(v)); }
// Address displacements are size_t in xbyak, which takes them modulo 2^64 (so negative ones
// must be sign-extended, not truncated to 32 bits as imm32 does).
inline size_t disp(int64_t v) { return static_cast<size_t>(v); }

// The guest registers a block has written, held in host registers (r8-r12, r14, r15, in a
// wide region r13 and rbp too, and rdi where no access group needs it for its addend: see
// Emitter::Impl::cache_reg) until the block ends or calls a helper
// (then they are stored to HartState). Reads of a cached register
// use it; others read HartState. This keeps a block's dependency chains in registers
// instead of store-to-load forwarding through memory. Every cached value is dirty.
class RegCache {
public:
    static constexpr unsigned kRegs = 10;
    using Map = std::array<uint8_t, kRegs>;  // guest register per host register, 0 = free
    using Mask = uint16_t;                   // a bit per host register
    static_assert(kRegs <= 16);

    // Only the first n host registers are handed out (the last, rdi, may be an access
    // group's).
    void set_available(unsigned n) { m_avail = n; }
    unsigned available() const { return m_avail; }

    int host_of(unsigned x) {
        for (unsigned i = 0; i < kRegs; ++i) {
            if (m_map[i] == x) {
                m_used[i] = ++m_clock;
                return static_cast<int>(i);
            }
        }
        return -1;
    }
    // The host register for x, which must be written next: a free one, or the least
    // recently used one not holding its `keep` register (a region's canonical ones, which
    // would have to be reloaded at its next block boundary), or else the least recently used
    // one; its guest register is returned in `evicted` (to be stored).
    unsigned assign(unsigned x, unsigned& evicted, const Map& keep) {
        evicted = 0;
        int pick = -1;
        for (unsigned i = 0; i < m_avail; ++i) {
            if (m_map[i] == 0) {
                pick = static_cast<int>(i);
                break;
            }
            if (m_map[i] != keep[i] && (pick < 0 || m_used[i] < m_used[static_cast<unsigned>(pick)]))
                pick = static_cast<int>(i);
        }
        if (pick < 0) {
            pick = 0;
            for (unsigned i = 1; i < m_avail; ++i)
                if (m_used[i] < m_used[static_cast<unsigned>(pick)]) pick = static_cast<int>(i);
        }
        return take(static_cast<unsigned>(pick), x, evicted);
    }
    const Map& map() const { return m_map; }
    void clear() { m_map.fill(0); }
    void restore(const Map& m) { m_map = m; }

private:
    unsigned take(unsigned pick, unsigned x, unsigned& evicted) {
        evicted = m_map[pick];
        m_map[pick] = static_cast<uint8_t>(x);
        m_used[pick] = ++m_clock;
        return pick;
    }

    Map m_map{};
    unsigned m_avail = kRegs - 1;
    std::array<uint32_t, kRegs> m_used{};
    uint32_t m_clock = 0;
};

// A run of a block's loads and stores off one base register that is not written in between
// (Emitter::Impl::plan_groups). When the bytes they touch, [base + lo, base + end), lie in
// one page whose TLB entry allows every access of the run, the first access probes once for
// all of them (group_probe) and each then costs a test and its own access; otherwise each
// probes on its own, exactly as an access outside a group. Function prologues and
// epilogues (a dozen stores or loads off sp) and field-by-field struct accesses are the
// common cases. Outside loop regions a member may also address its bytes through a register
// computed from the base plus a bounded index (access_ranges).
struct AccessGroup {
    unsigned base = 0;
    int64_t lo = 0;
    int64_t end = 0;
    bool loads = false;
    bool stores = false;
    size_t first = 0;  // instruction indices of the first and last member
    size_t last = 0;
    size_t members = 0;
};

// Page memos. Each load and store of a loop region (that is not in an access group) has a
// memo in the trampoline's frame: the page it last hit and the addend of that page's TLB read
// or write entry. While its bytes stay in that page an access costs a compare and the access,
// and its address no longer waits for the TLB index and entry loads (so a data-dependent branch
// after a load, when mispredicted, resolves that much sooner); else it probes the TLB and its
// memo takes over the page it hits. One memo per access, not per base register: two loops
// walking one array from both ends (a partition) each keep their own page. The memo of an
// access is chosen by its physical address (memo_slot), so every translation that contains
// the instruction (a loop is often in several regions, entered by different heads) finds the
// page it left there; loads and stores have separate memos, so a store never uses a page a
// load found readable. The memos stand for TLB entries, so they are forgotten wherever those
// may change: when the trampoline is entered and after every system instruction run through
// the interpreter's semantics (CSR writes, sfence.vma, ...). The load and store slow paths
// only fill the TLB, so the memos survive them. A store's memo never covers a page holding
// translated code (no write entry exists for one, see CodeWatch), and code is translated only
// outside translated code. Accesses whose base holds a value the loop loaded, or computed
// from one (chased.hpp), have no memo: they seldom find their last page again.

inline bool is_store(Op op) { return op == Op::sb || op == Op::sh || op == Op::sw || op == Op::sd; }

inline bool writes_x(const DecodedInsn& d, unsigned x) {
    return d.op < op_table().size() && op_table()[d.op].dest == Dest::X && d.rd == x;
}

// Instructions the emitter translates inline without calling anything (so without touching
// rdi, which holds a group's addend) and without leaving the block: a group may span them,
// and registers they do not read may stay lazy across them (emit_body; a load's or store's
// slow path sign-extends the lazy registers as it stores them).
bool keeps_group(Op op, bool has_bitcount);  // emit_memory.cpp

}  // namespace emit

// The two emitter translation units (only they include this) use these names unqualified.
using namespace emit;

class Emitter::Impl : public Xbyak::CodeGenerator {
public:
    Impl(const Layout& l, SlotArena& slots, uint64_t jump_cache_mask)
        : CodeGenerator(kScratchBytes, Xbyak::DontSetProtectRWE),
          m_l(l),
          m_slots(slots),
          m_jump_cache_mask(jump_cache_mask),
          m_pc_slot(qword[rsp + kFramePc]),
          m_left_slot(qword[rsp + kFrameLeft]) {
        const Xbyak::util::Cpu cpu;
        m_has_fma = cpu.has(Xbyak::util::Cpu::tFMA);
        m_has_bitcount = cpu.has(Xbyak::util::Cpu::tLZCNT) && cpu.has(Xbyak::util::Cpu::tBMI1) &&
                         cpu.has(Xbyak::util::Cpu::tPOPCNT);
        m_x_addr.reserve(kPcSlot + 1);
        for (unsigned r = 0; r < kPcSlot; ++r) m_x_addr.push_back(qword[rbx + m_l.xreg(r)]);
        m_x_addr.push_back(qword[rbx + m_l.pc]);
    }

    Emitter::Trampoline trampoline();
    void set_trampoline(const void* epilogue, const void* link_stub, const void* recheck) {
        m_epilogue = epilogue;
        m_link_stub = link_stub;
        m_recheck = recheck;
    }
    std::span<const uint8_t> region(std::span<const interp::Block* const> blocks, Stats& stats);
    std::span<const Emitter::Patch> patches() const { return m_patches; }
    std::span<const Emitter::Entry> entries() const { return m_side_entries; }
    size_t hot_size() const { return m_hot_size; }
    std::span<const uint32_t> cross() const { return m_cross; }

private:
    using Reg64 = Xbyak::Reg64;

    // Jumps to this translation's own labels (labels.hpp), beside Xbyak's to its labels,
    // addresses and operands (the trampoline's rip-relative lea takes an Xbyak label).
    using CodeGenerator::L;
    using CodeGenerator::jmp;
    using CodeGenerator::je;
    using CodeGenerator::jz;
    using CodeGenerator::jne;
    using CodeGenerator::jnz;
    using CodeGenerator::jb;
    using CodeGenerator::jae;
    using CodeGenerator::jbe;
    using CodeGenerator::ja;
    using CodeGenerator::js;
    using CodeGenerator::jp;
    using CodeGenerator::jl;
    using CodeGenerator::jge;
    using CodeGenerator::jle;
    using CodeGenerator::jg;
    void L(const Label& l) { m_labels.place(l); }
    void jmp(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0xEB, 0xE9, 0}); }
    void je(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x74, 0x84, 0x0F}); }
    void jz(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x74, 0x84, 0x0F}); }
    void jne(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x75, 0x85, 0x0F}); }
    void jnz(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x75, 0x85, 0x0F}); }
    void jb(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x72, 0x82, 0x0F}); }
    void jae(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x73, 0x83, 0x0F}); }
    void jbe(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x76, 0x86, 0x0F}); }
    void ja(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x77, 0x87, 0x0F}); }
    void js(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x78, 0x88, 0x0F}); }
    void jp(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x7A, 0x8A, 0x0F}); }
    void jl(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x7C, 0x8C, 0x0F}); }
    void jge(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x7D, 0x8D, 0x0F}); }
    void jle(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x7E, 0x8E, 0x0F}); }
    void jg(const Label& l, LabelType t = T_AUTO) { m_labels.jump(l, t, {0x7F, 0x8F, 0x0F}); }
    // The code array and the labels emptied for a new translation. Not Xbyak's reset(): its
    // label manager, which only the trampoline uses, frees and allocates a list of hash maps.
    void start_code() {
        Xbyak::ClearError();
        resetSize();
        m_labels.start();
    }

    // Built once: composing an Xbyak address is not free, and these are the most used.
    const Xbyak::Address& X(unsigned r) const { return m_x_addr[r]; }
    // The guest pc lives in rbp while translated code runs (no store-to-load chain through
    // HartState from block to block), in a wide region in the frame's kFramePc (pc());
    // HartState::pc is written before anything that reads it (helpers, the epilogue) and
    // read back after helpers that may change it (through rcx in a wide region: never rax,
    // which holds a helper's verdict or the epilogue's result).
    const Xbyak::Address& PC() const { return m_x_addr[kPcSlot]; }
    bool in_frame() const { return m_wide && !m_restored; }
    const Xbyak::Operand& pc() const {
        if (in_frame()) return m_pc_slot;
        return rbp;
    }
    const Xbyak::Operand& left() const {  // the budget units left
        if (in_frame()) return m_left_slot;
        return r13;
    }
    void sync_pc() {
        if (!in_frame()) return mov(PC(), rbp);
        mov(rcx, pc());
        mov(PC(), rcx);
    }
    void reload_pc() {
        if (!in_frame()) return mov(rbp, PC());
        mov(rcx, PC());
        mov(pc(), rcx);
    }
    // reg = the pc plus off.
    void pc_plus(const Reg64& reg, int64_t off) {
        if (!in_frame()) return lea(reg, ptr[rbp + disp(off)]);
        mov(reg, pc());
        if (off != 0) add(reg, imm32(off));
    }
    // Out of a wide region (to other translations or the trampoline, which keep the pc and
    // the units left in rbp and r13): loads them and, until the guard goes, emits code that
    // uses them there. Only where the cache is empty (in wide code it may hold rbp and r13).
    // pc_too false: the caller sets rbp itself (an indirect jump's target).
    class Restored {
    public:
        explicit Restored(Impl& e, bool pc_too = true) : m_e(e), m_was(e.m_restored) {
            if (e.in_frame()) {
                if (pc_too) e.mov(e.rbp, e.m_pc_slot);
                e.mov(e.r13, e.m_left_slot);
            }
            e.m_restored = true;
        }
        ~Restored() { m_e.m_restored = m_was; }
        Restored(const Restored&) = delete;
        Restored& operator=(const Restored&) = delete;

    private:
        Impl& m_e;
        bool m_was;
    };
    // Into a wide region (its head's or a side entry, before the canonical registers load):
    // the pc and the units left go to the frame.
    void enter_frame() {
        if (!in_frame()) return;
        mov(m_pc_slot, rbp);
        mov(m_left_slot, r13);
    }
    // Where the region's code leaves for the epilogue with nothing to link: m_plain in the
    // region's own state, m_plain_regs once Restored.
    const Label& plain() const { return m_wide && m_restored ? m_plain_regs : m_plain; }

    // Guest register reads and writes. x0 reads as zero; rd == 32 (x0) is not written.
    // Written values stay in the block's register cache (RegCache) instead of memory.
    void get(const Reg64& r, unsigned x) {
        if (x == 0)
            xor_(r.cvt32(), r.cvt32());
        else if (const int i = m_regs.host_of(x); i >= 0)
            mov(r, cache_reg(static_cast<unsigned>(i)));
        else
            mov(r, X(x));
    }
    void put(unsigned rd, const Reg64& r);
    // --- lazy sign extension (emitter.cpp, before emit_body) ---
    enum class LazyUse { None, Word, Bitwise, BitwiseImm };
    static LazyUse lazy_use(const DecodedInsn& d);
    bool is_lazy(unsigned x) {
        const int i = x == 0 || x >= 32 ? -1 : m_regs.host_of(x);
        return i >= 0 && (m_lazy >> i & 1) != 0;
    }
    void materialize(unsigned host) {
        if ((m_lazy >> host & 1) == 0) return;
        movsxd(cache_reg(host), cache_reg(host).cvt32());
        m_lazy = static_cast<RegCache::Mask>(m_lazy & ~(1u << host));
    }
    void materialize_all() {
        for (unsigned i = 0; i < RegCache::kRegs; ++i) materialize(i);
    }
    // A W result in r's low half: sign-extended now, or (where emit_body allows it) later.
    void sext_or_defer(const Reg64& r) {
        if (m_may_defer_sext)
            m_result_lazy = true;
        else
            movsxd(r, r.cvt32());
    }
    void materialize_sources(const DecodedInsn& d);
    void prepare_lazy(const DecodedInsn& d, LazyUse use);
    void settle_lazy(const DecodedInsn& d);
    // In-place forms: dest(rd) is the cache register that receives rd's new value, assigned
    // now (storing what it evicts); Src is a source operand looked up after that, before dest
    // is written: a cache register (possibly dest's own, when rd is a source that was cached
    // or the register dest evicted, whose value is still there) or HartState.
    struct Src {
        bool in_reg;
        Reg64 reg;
        unsigned x;
    };
    Reg64 dest(unsigned rd, bool& rd_was_cached);
    Src src(unsigned x, unsigned rd, bool rd_was_cached, const Reg64& d) {
        if (x == rd) return rd_was_cached ? Src{true, d, x} : Src{false, d, x};
        // Read from dest, not from the store that evicted it: no store-to-load forwarding
        // on the dependency chain.
        if (x == m_dest_evicted) return Src{true, d, x};
        const int i = m_regs.host_of(x);
        return i >= 0 ? Src{true, cache_reg(static_cast<unsigned>(i)), x} : Src{false, d, x};
    }
    // An address's base register x: its cache register, or `scratch` loaded from HartState.
    Reg64 base_reg(unsigned x, const Reg64& scratch) {
        if (const int i = m_regs.host_of(x); i >= 0) return cache_reg(static_cast<unsigned>(i));
        mov(scratch, X(x));
        return scratch;
    }
    void load_src(const Reg64& r, const Src& s) { s.in_reg ? mov(r, s.reg) : mov(r, X(s.x)); }
    bool is(const Src& s, const Reg64& r) const { return s.in_reg && s.reg.getIdx() == r.getIdx(); }
    // Emits the stores of every cached register (the mapping stays). A slow path's
    // writeback sign-extends the registers that were lazy where it left (`lazy`, a copy of
    // m_lazy then) as it stores them; the extended value is as good a lazy one when it returns.
    void writeback(const RegCache::Map& map, RegCache::Mask lazy = 0) {
        for (unsigned i = 0; i < RegCache::kRegs; ++i) {
            if (map[i] == 0) continue;
            if ((lazy >> i & 1) != 0) movsxd(cache_reg(i), cache_reg(i).cvt32());
            mov(X(map[i]), cache_reg(i));
        }
    }
    void reload(const RegCache::Map& map) {
        for (unsigned i = 0; i < RegCache::kRegs; ++i)
            if (map[i] != 0) mov(cache_reg(i), X(map[i]));
    }
    // Before leaving the block or calling the interpreter's semantics: memory is current
    // and nothing is cached any more.
    void spill() {
        writeback(m_regs.map());
        m_regs.clear();
    }
    // Cache register i: r8-r12, r14, r15, then in a wide region r13 and rbp, then rdi (last,
    // so that the first n can be handed out when an access group needs rdi).
    Reg64 cache_reg(unsigned i) const {
        static constexpr std::array<int, RegCache::kRegs> kWide = {
            Xbyak::Operand::R8,  Xbyak::Operand::R9,  Xbyak::Operand::R10, Xbyak::Operand::R11,
            Xbyak::Operand::R12, Xbyak::Operand::R14, Xbyak::Operand::R15, Xbyak::Operand::R13,
            Xbyak::Operand::RBP, Xbyak::Operand::RDI};
        static constexpr std::array<int, RegCache::kRegs - 2> kNarrow = {
            Xbyak::Operand::R8,  Xbyak::Operand::R9,  Xbyak::Operand::R10, Xbyak::Operand::R11,
            Xbyak::Operand::R12, Xbyak::Operand::R14, Xbyak::Operand::R15, Xbyak::Operand::RDI};
        assert(m_wide || i < kNarrow.size());
        return Reg64(m_wide ? kWide[i] : kNarrow[i]);
    }
    void put_sext32(unsigned rd) {  // rd = sign-extended eax
        movsxd(rax, eax);
        put(rd, rax);
    }

    void flush_counters();
    void to_dispatcher_cold(Label miss);
    void jump_to_epilogue() {
        mov(rcx, reinterpret_cast<uint64_t>(m_epilogue));
        jmp(rcx);
    }
    // Uses `done` budget units, of which `retired` were instructions retired (a trapping
    // first instruction retires nothing but counts one unit). Sets the flags as left() -= done.
    void count(uint64_t retired, uint64_t done) {
        if (done != retired) sub(qword[rsp + kFrameFlushed], static_cast<uint32_t>(done - retired));
        sub(left(), static_cast<uint32_t>(done));
    }
    // Moves the guest pc to the instruction at byte offset `off` of the block.
    void set_pc(int32_t off) {
        if (off != m_pc_off) add(pc(), imm32(off - m_pc_off));
        m_pc_off = off;
    }
    void exit_trap(size_t index) {  // instruction `index` trapped: the ones before it retired
        count(index, std::max<size_t>(index, 1));
        jmp(plain(), T_NEAR);
    }
    void exit_chain(int64_t target_off, size_t retired, bool recheck_fetch = false);
    void follow_cross_page();
    void fetch_entry(const Reg64& va, Label& miss);
    void emit_crossing(const interp::Block& b, Stats& stats);
    void jump_cache_slot();
    void prefetch_return(unsigned rd, int64_t return_off);
    void exit_indirect(size_t retired);
    void cold(std::function<void()> f) { m_cold.push_back(std::move(f)); }
    // Code out of line that a program may still run often (the other edge of a branch, a
    // memo's or group's probe when it misses): emitted after the blocks, in the hot part of
    // the translation (CodeBuffer::place_split), where cold() code goes to the cold part.
    void warm(std::function<void()> f) { m_warm.push_back(std::move(f)); }

    bool emit_insn(const DecodedInsn& d, size_t index, int32_t off);
    static std::array<uint32_t, 32> register_uses(std::span<const interp::Block* const> blocks);
    static RegCache::Map region_registers(std::array<uint32_t, 32> uses, unsigned available);
    static bool jumps_to_itself(const interp::Block& b);
    static unsigned written_registers(const interp::Block& b);
    static unsigned registers_used(const std::array<uint32_t, 32>& uses);  // of register_uses
    static std::vector<unsigned> loop_lengths(std::span<const interp::Block* const> blocks);
    const Label* internal(int64_t target_off) const;
    void edge(int64_t target_off, size_t retired, const RegCache::Map& now, bool last = false);
    void reconcile(const RegCache::Map& now, const RegCache::Map& want);
    void leave_at(int64_t target_off);
    void emit_body(const interp::Block& b, int32_t base, Chased chased, Stats& stats);
    void side_entries(std::span<const interp::Block* const> order);
    void emit_fallback(const DecodedInsn& d, size_t index, int32_t off);
    void call_fallback(const DecodedInsn& d);
    void leave_after_fallback(size_t index);

    // One emit function per translated mnemonic family.
    void emit_lui(const DecodedInsn& d) {
        if (d.rd == 32) return;
        bool cached = false;
        mov(dest(d.rd, cached), static_cast<uint64_t>(static_cast<int64_t>(d.imm)));
    }
    void emit_auipc(const DecodedInsn& d, int32_t off);
    void emit_jal(const DecodedInsn& d, size_t index, int32_t off);
    void emit_jalr(const DecodedInsn& d, size_t index, int32_t off);
    void emit_branch(const DecodedInsn& d, size_t index, int32_t off, Op op);
    void jump_if(Op op, bool taken, const Label& to);
    void branch_into_next(Op op, bool other_taken, int64_t other_off, int64_t next_block_off, size_t index,
                          const RegCache::Map& now);
    void tlb_probe(const DecodedInsn& d, unsigned size, size_t tag_offset, Label& slow,
                   uint64_t and_mask = ~uint64_t{0}, bool table_in_rdx = false);
    void tlb_entry();
    void entry_offset();
    void plan_groups(const interp::Block& b);
    void group_probe(const AccessGroup& g);
    Xbyak::RegExp group_address(const DecodedInsn& d, size_t index, Label& probe);
    void load_value(const Xbyak::RegExp& at, unsigned size, bool sign, const Reg64& to);
    void store_value(const Xbyak::RegExp& at, unsigned size, const Reg64& v);
    void call_slow(uint64_t fn, bool keep_rdi);
    bool has_memo(const DecodedInsn& d, size_t index) const;
    bool any_group(std::span<const interp::Block* const> blocks);
    // rdi is the last cache register, where no access group needs it for its addend.
    unsigned cache_registers(bool groups) const {
        const unsigned n = m_wide ? RegCache::kRegs : RegCache::kRegs - 2;
        return groups ? n - 1 : n;
    }
    Xbyak::RegExp memo_address(const DecodedInsn& d, unsigned size, unsigned site, Label& miss);
    int pinned_memo(const interp::Block& b, int32_t base) const;
    Xbyak::Address memo_addend(unsigned site) const { return qword[rsp + kFrameMemoAddends + 8 * site]; }
    void take_memo(unsigned site);
    void renew_translation();
    void forget_memos();
    void take_data_view();
    struct Mem {
        unsigned size;
        bool store;
        bool sign;         // a load's sign extension
        bool fp = false;   // to or from an f register (flw, fld, fsw, fsd)
    };
    void emit_memory(const DecodedInsn& d, size_t index, int32_t off, Mem m);

    // The F and D extensions (emit_fp.cpp).
    bool emit_fp(const DecodedInsn& d, size_t index, int32_t off, Op op);
    Xbyak::Address F(unsigned r) const { return qword[rbx + m_l.freg(r)]; }
    void fp_enabled_or(Label& other);
    void mark_fs_dirty();
    void set_fs_dirty_code();
    void nearest_or(const DecodedInsn& d, Label& other);
    void legal_rm_or(const DecodedInsn& d, Label& other);
    void boxed_or(unsigned r, Label& other);
    void write_f32(unsigned rd, const Xbyak::Reg32& v);
    void store_f32(unsigned rd, const Xbyak::Reg32& v);
    void write_f64(unsigned rd, const Reg64& v);
    // f registers pinned to xmm8-xmm15 in a loop region (emit_fp.cpp).
    static constexpr int8_t kFpPins = 8;
    struct FpPin {
        int8_t xmm = -1;  // the pin (xmm8 + this), or -1
        bool single = false;
    };
    void plan_fp_pins(std::span<const interp::Block* const> blocks);
    void load_fp_pins();
    int pin_of(unsigned r, bool single) const;
    static Xbyak::Xmm pin_xmm(int i) { return Xbyak::Xmm(8 + i); }
    void load_f(const Xbyak::Xmm& to, unsigned r, bool single);
    Xbyak::Xmm f_operand(unsigned r, bool single, const Xbyak::Xmm& scratch);
    void mirror_f(unsigned rd, bool single, const Xbyak::Xmm& v);
    void write_f_loaded(unsigned rd, unsigned size, const Reg64& r);
    void fp_flags_pending();
    void accrue_fp_flags(bool check_here = false);
    void call_host(const Reg64& fn);
    void emit_accrue_stub();
    void finish_f(const DecodedInsn& d, size_t index, int32_t off, bool single, Label& other,
                  Label& done);
    void finish_x(const DecodedInsn& d, size_t index, int32_t off, Label& other, Label& done);
    void emit_fp_memory(const DecodedInsn& d, size_t index, int32_t off, Op op);
    bool emit_fp_arith(const DecodedInsn& d, size_t index, int32_t off, Op op);
    void emit_fp_compare(const DecodedInsn& d, size_t index, int32_t off, Op op);
    bool emit_fp_to_int(const DecodedInsn& d, size_t index, int32_t off, Op op);
    void to_integer_checks(const DecodedInsn& d, bool single, Label& other);
    bool emit_fp_to_unsigned(const DecodedInsn& d, size_t index, int32_t off, Op op);
    void emit_fp_min_max(const DecodedInsn& d, size_t index, int32_t off, Op op);
    bool emit_int_to_fp(const DecodedInsn& d, size_t index, int32_t off, Op op);
    bool emit_fp_convert(const DecodedInsn& d, size_t index, int32_t off, Op op);
    void emit_fp_sign(const DecodedInsn& d, size_t index, int32_t off, Op op);
    void emit_fp_move(const DecodedInsn& d, size_t index, int32_t off, Op op);
    void emit_fp_csr(const DecodedInsn& d, size_t index, int32_t off, Op op);
    void emit_alu_imm(const DecodedInsn& d, Op op);
    void emit_alu(const DecodedInsn& d, Op op);
    Reg64 source_reg(unsigned x);
    void compare(const Reg64& a, unsigned x, int host);
    void set_flag(unsigned rd, bool is_signed);
    void emit_shift(const DecodedInsn& d, Op op);
    void emit_word(const DecodedInsn& d, Op op);
    static bool is_zext_w(const DecodedInsn& first, const DecodedInsn& second);
    void emit_zext_w(const DecodedInsn& d);
    // A rotation written with two shifts and an OR (RV64GC has no rotate): rd = x rotated
    // right by `amount`, in the low 32 bits and sign-extended if `word` (plan_rotations).
    struct Rotation {
        unsigned x = 0;
        unsigned rd = 0;
        uint8_t amount = 0;  // 0: none
        bool word = false;
    };
    // A skipped shift's result, which the guest holds from instruction `first` to `last` but
    // the translation never computes: an access's slow path stores it (store_pending) before
    // a trap or a dispatcher exit can show it. x is not written in between.
    struct PendingShift {
        unsigned t = 0;
        unsigned x = 0;
        uint8_t amount = 0;
        bool left = false;
        bool word = false;
        size_t first = 0;
        size_t last = 0;
    };
    struct RotationPlan {
        std::vector<Rotation> at;  // per instruction: the OR that becomes a rotation
        std::vector<bool> skip;    // per instruction: a shift whose only use is such an OR
        std::vector<PendingShift> pending;
    };
    void plan_rotations(const interp::Block& b, RotationPlan& plan) const;
    void emit_rotation(const Rotation& r);
    std::vector<PendingShift> pending_at(size_t index) const;
    void store_pending(const std::vector<PendingShift>& pending);
    void word_imm(const Xbyak::Reg32& r, const DecodedInsn& d, Op op);
    void emit_mul(const DecodedInsn& d, Op op);
    void emit_div(const DecodedInsn& d, Op op);
    void emit_divw(const DecodedInsn& d, Op op);
    void emit_zba(const DecodedInsn& d, Op op);
    void emit_zbb(const DecodedInsn& d, Op op);
    void emit_zbs(const DecodedInsn& d, Op op);
    void emit_bitcount(const DecodedInsn& d, Op op);
    void emit_mulhsu(const DecodedInsn& d);
    void emit_atomic(const DecodedInsn& d, size_t index, int32_t off, Op op);
    void emit_sc(const DecodedInsn& d, bool w32);
    void emit_amo_rmw(const DecodedInsn& d, Op op, bool w32);
    void emit_cbo_zero(const DecodedInsn& d, size_t index, int32_t off);
    void emit_sstatus(const DecodedInsn& d, size_t index, int32_t off, bool clear_sie);
    void emit_then_chain(const DecodedInsn& d, size_t index, int32_t off, bool recheck_fetch);
    void emit_sstatus_set(const DecodedInsn& d, size_t index, int32_t off, bool immediate);
    void emit_time(const DecodedInsn& d, size_t index, int32_t off);
    bool emit_plain_csr(const DecodedInsn& d, size_t index, int32_t off, Op op);
    void cold_fallback(const DecodedInsn& d, size_t index, int32_t off, Label other, Label done,
                       bool result);

    const Layout m_l;
    static constexpr unsigned kPcSlot = 33;  // m_x_addr: x0..x31, the write sink x32, then pc
    std::vector<Xbyak::Address> m_x_addr;
    SlotArena& m_slots;
    uint64_t m_jump_cache_mask;
    const Xbyak::Address m_pc_slot;    // pc() and left() in a wide region
    const Xbyak::Address m_left_slot;
    const void* m_epilogue = nullptr;
    const void* m_link_stub = nullptr;
    const void* m_recheck = nullptr;
    bool m_has_bitcount = false;  // host LZCNT, TZCNT (BMI1) and POPCNT
    bool m_has_fma = false;       // host FMA3 (the fused multiply-adds)

    // Per block.
    uint32_t m_page_off = 0;  // page offset of the block's first instruction
    int32_t m_pc_off = 0;     // rbp is the region head's pc + m_pc_off
    int64_t m_fall_off = -1;  // the offset of the region's block laid out next (-1, odd: none)
    bool m_ended = false;     // the last instruction emitted the block's exits
    // What this block knows of mstatus.FS here (checked or set since its start or last call).
    enum class FsKnown : uint8_t { Unknown, On, Dirty };
    FsKnown m_fs = FsKnown::Unknown;
    std::array<FpPin, 32> m_fpins{};  // per f register (plan_fp_pins)
    unsigned m_fpins_used = 0;        // how many of them hold a pin
    unsigned m_dest_evicted = 0;  // the guest register the last dest() evicted (0: none)
    RegCache m_regs;
    // Lazy sign extension (see emit_body): bit i set while cache register i holds a value
    // whose low 32 bits are right and whose upper 32 bits are not yet their sign extension.
    RegCache::Mask m_lazy = 0;
    bool m_may_defer_sext = false;  // emit_body allows the instruction being emitted to
    bool m_result_lazy = false;     // the instruction just emitted left its result lazy
    // The region's blocks: byte offset of each from the head's pc, and the label of its code.
    std::vector<std::pair<int64_t, Label>> m_entries;
    RegCache::Map m_canon{};     // the register cache at every block start of the region
    Label m_leave_canon;  // stores the canonical registers and leaves
    std::vector<Emitter::Patch> m_patches;  // this block's direct jumps
    std::vector<Emitter::Entry> m_side_entries;
    size_t m_hot_size = 0;          // see Emitter::hot_size
    std::vector<uint32_t> m_cross;  // see Emitter::cross
    Label m_plain;     // exit without a successor to link
    Label m_plain_regs;  // the same, in a wide region once Restored
    Label m_stale_key;  // to the trampoline's recheck (follow_cross_page)
    bool m_stale_key_used = false;
    std::vector<std::function<void()>> m_cold;
    std::vector<std::function<void()>> m_warm;
    std::vector<AccessGroup> m_groups;  // the block's (plan_groups)
    std::vector<int> m_group_of;        // per instruction: the group it belongs to, or -1
    RotationPlan m_rotations;           // the block's (plan_rotations)
    bool m_group_live = false;          // rdi holds a group's addend here (slow paths keep it)
    std::vector<Chased> m_chased;       // per instruction of a loop region's block: chased before it
    Chased m_written = 0;               // the loop region's written registers (chased.hpp)
    unsigned m_memo_accesses = 0;       // the region's accesses through memos (for Stats)
    unsigned m_pinned_memos = 0;        // the region's blocks with a pinned memo (for Stats)
    // A block that jumps to itself keeps one memo's addend in rsi (pinned_memo): the memo,
    // or -1; the block's own offset from the head; where its jump to itself lands (after rsi
    // is loaded), one label per such block of the region (a deque: edge() holds a pointer to
    // the newest while others are added).
    int m_pinned = -1;
    int64_t m_pinned_block = -1;
    std::deque<Label> m_pinned_loops;
    bool m_loop = false;                // the region loops (several blocks, or one jumping to itself)
    // A wide region: a loop region whose registers outnumber the cache's eight host registers
    // keeps the pc and the budget units left in the frame (kFramePc, kFrameLeft) while it runs,
    // and rbp and r13 in its cache (ten registers). It stores them there on entry and loads
    // them back on every way out (Restored): the trampoline and other translations keep them
    // in registers, which costs branchy code of short blocks less than the frame's
    // read-modify-writes at each block exit (see docs/architecture.md).
    bool m_wide = false;
    bool m_restored = false;  // code being emitted for a way out of a wide region (Restored)
    Labels m_labels{*this};  // the translation's jump targets (Label), emptied by start_code
    uint64_t m_head_pa = 0;             // the region head's guest-physical address
};

}  // namespace trapeze::rv64::jit
