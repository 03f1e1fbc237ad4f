// Hart: one RISC-V hart — its architectural state plus what executing it needs:
// privilege and trap logic, CSRs, address translation with an ASID-tagged software
// TLB, PMP, and guest memory access (RAM through host pointers, the rest through
// the MMIO bus).
//
// Guest-caused conditions (page faults, illegal instructions, ...) are traps: the
// access helpers return false after the trap has been taken (pc points to the
// handler), and the executing instruction returns false to leave its block.
//
// Thread: the thread that runs this hart; lines from devices use set_irq_pin(), and other
// harts (CodeCoherence) has_write_entries(), which are safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "base/bits.hpp"
#include "base/page_allocator.hpp"
#include "base/result.hpp"
#include "base/guest_clock.hpp"
#include "bus/mmio_bus.hpp"
#include "memory/guest_memory.hpp"
#include "rv64/csr.hpp"
#include "rv64/debug_points.hpp"
#include "rv64/decoded_insn.hpp"
#include "rv64/hart_state.hpp"

namespace trapeze::rv64 {

namespace jit {
struct Layout;
}

enum class Access : uint8_t { Read, Write, Execute };

// Told when code pages are written, so decoded blocks of them can be dropped.
class CodeWatch {
public:
    virtual ~CodeWatch() = default;
    // True if decoded blocks exist for the 4 KiB guest-physical page holding `pa`.
    virtual bool is_code_page(uint64_t pa) const = 0;
    // Called when a store changed such a page (an AMO: before it does).
    virtual void invalidate_code_page(uint64_t pa) = 0;
    // FENCE.I: from now on the hart's fetches see every store that happens before it (unpriv
    // spec §6.1). Nothing to do where stores drop decoded code at once (interp::CodeCache).
    virtual void fence_i() {}
};

// Why a hart stopped for the debugger (DebugPoints): it is before the instruction at its pc,
// which has not run.
struct DebugEvent {
    enum class Kind : uint8_t { None, Breakpoint, Watch } kind = Kind::None;
    uint64_t addr = 0;  // Watch: an address inside the watched range that the access touched
    WatchKind watch = WatchKind::Write;  // Watch: the watchpoint's kind
};

struct HartConfig {
    uint64_t hartid = 0;
    bool sstc = true;  // advertise and implement the Sstc extension (stimecmp)
    // The hypervisor extension (priv spec ch. 8): V, VS/VU modes, two-stage translation,
    // with GEILEN = 0 (no guest external interrupt files) and VMIDLEN = 0.
    bool hypervisor = false;
};

class Hart {
public:
    // One TLB entry per (mode, set); tags are page VA | tag id (see m_space_tag), kInvalidTag,
    // or 0 in an entry never filled or cleared when the ids ran out (no tag id is 0).
    struct TlbEntry {
        uint64_t tag_r;
        uint64_t tag_w;
        uint64_t tag_x;
        uintptr_t addend;  // host address = va + addend
        // Whether a tag of the entry (not kInvalidTag) is for `page`, under any tag id.
        bool holds(uint64_t page) const {
            auto on = [page](uint64_t t) { return t != kInvalidTag && (t & ~0xfffull) == page; };
            return on(tag_r) || on(tag_w) || on(tag_x);
        }
    };
    // 128 MiB of 4 KiB pages per view (4 MiB of entries per hart for the four, resident only
    // where entries are filled: m_tlb_memory). Real programs'
    // working sets (xz -6 touches about 90 MiB) missed often enough at 2048 sets that 8192 ran
    // xz 5-14% faster and a kernel boot about 6%, and 32768 xz about 8% faster again
    // (bench/programs.sh; the fills' page walks and PMP checks were 7% of xz's time at 8192);
    // 65536 was slower than 32768 (more of the host's cache and TLB for the same entries).
    static constexpr unsigned kTlbSets = 32768;
    static constexpr uint64_t kInvalidTag = ~0ull;
    // The data/fetch views that translate differently: U, S, S with SUM, M.
    enum MmuIndex : unsigned { kMmuU = 0, kMmuS = 1, kMmuSSum = 2, kMmuM = 3, kMmuCount = 4 };

    Hart(const HartConfig& cfg, GuestMemory& mem, MmioBus& bus, const GuestClock& clock);
    Hart(const Hart&) = delete;
    Hart& operator=(const Hart&) = delete;

    HartState s;  // public: the interpreter and JIT operate on it directly
    // Set by the interpreter's threaded dispatch to the instruction that left its block.
    const DecodedInsn* exit_insn = nullptr;
    // What the engine that runs this hart keeps for it (set by its attach). Translated code
    // reaches the JIT's per-hart exit slots and jump cache off the Hart pointer.
    struct EngineData {
        void* context = nullptr;     // the engine's own per-hart state
        void* exit_slots = nullptr;  // jit::Jit: this hart's slots of exits across pages
        void* jump_cache = nullptr;  // jit::Jit: this hart's jump cache
    };
    EngineData engine;

    // --- reset and interrupts -------------------------------------------------------------
    void reset(uint64_t pc);
    // Takes a snapshot's state (its encoding already checked): everything derived from it
    // (TLB, data views, Sstc) is derived again; the device pins are the devices' to drive.
    // An error if the state belongs to another hart.
    Result<void> restore(const HartState& state);
    // A device line into mip (MSIP, MTIP, MEIP, SEIP). Ordering: relaxed is enough because
    // the hart re-reads the pins at every block boundary (the JIT: right after the device
    // access that raised `attention`, see attention()) and the waker also signals the
    // machine's condition variable, which orders the wake-up.
    void set_irq_pin(uint64_t mip_bit, bool level) {
        if (level) {
            if ((m_pins.fetch_or(mip_bit, std::memory_order_relaxed) & mip_bit) == 0)
                m_attention.store(1, std::memory_order_relaxed);
        } else {
            m_pins.fetch_and(~mip_bit, std::memory_order_relaxed);
        }
    }
    // Raised by every rising edge of a pin; translated code leaves for the dispatcher when
    // it sees it. The dispatcher takes it before it looks at the pins, so an edge after that
    // look raises it again (an edge racing with a load that saw 0 leaves it raised). Changes
    // the hart makes itself (CSR writes, xRET) end their block when they make an interrupt
    // deliverable.
    // Whether a pin rose since the dispatcher last took attention. Translated code looks at it
    // after its own helper calls (MMIO, fallbacks), which may raise it, and leaves for the
    // dispatcher after that instruction. A pin raised by another thread (harts in parallel:
    // another hart's device access, the I/O thread) is seen at the next dispatch: under the
    // interpreter before the next block, under the JIT within jit::Jit::kPromptUnits.
    bool attention() const { return m_attention.load(std::memory_order_relaxed) != 0; }
    bool take_attention() {
        // The plain load first: the locked exchange only when there is something to take.
        return m_attention.load(std::memory_order_relaxed) != 0 && m_attention.exchange(0) != 0;
    }
    uint64_t mip() const {
        const uint64_t sw = m_stce ? (s.mip & ~csr::MIP_STIP) : s.mip;  // Sstc owns STIP while STCE=1
        return sw | m_pins.load(std::memory_order_relaxed);
    }
    // Re-evaluates the Sstc comparison time >= stimecmp into the STIP pin. Called after
    // stimecmp/menvcfg writes and periodically by the machine (bounded timer latency).
    void update_sstc();
    // Pending interrupts that are enabled at the current privilege (priv spec §3.1.9).
    uint64_t deliverable_interrupts() const;
    // Takes the highest-priority deliverable interrupt if there is one. Returns true if taken.
    bool check_interrupts();
    // True if an interrupt is pending and locally enabled (wakes WFI, ignoring global enables).
    bool wfi_wakeup() const { return (mip() & s.mie) != 0; }
    // The next guest tick at which this hart's own timer (stimecmp) fires, or UINT64_MAX.
    uint64_t next_timer_tick() const;

    // --- traps ----------------------------------------------------------------------------
    // Takes exception `cause` at s.pc with mtval/stval = tval. Always returns false so an
    // instruction can `return h.raise(...)`.
    bool raise(uint64_t cause, uint64_t tval);
    bool raise_illegal(const DecodedInsn& d) { return raise(csr::EXC_ILLEGAL_INST, d.raw); }
    // Virtual instruction (priv spec §8.6.1): an instruction that V=1 forbids but HS-mode
    // would allow; tval holds its bits, as for illegal instruction.
    bool raise_virtual(const DecodedInsn& d) { return raise(csr::EXC_VIRTUAL_INST, d.raw); }
    // A fault of an access to a guest virtual address (V=1, or HLV/HSV): the trap's GVA bit
    // is set, and for guest-page faults htval/mtval2 get the guest-physical address >> 2.
    bool raise_guest(uint64_t cause, uint64_t gva, uint64_t gpa, uint64_t tinst = 0);
    bool trapped() const { return m_trapped; }
    void clear_trapped() { m_trapped = false; }
    bool exec_mret();
    bool exec_sret();

    // --- hypervisor extension (priv spec ch. 8) --------------------------------------------
    bool has_hypervisor() const { return m_cfg.hypervisor; }
    uint64_t misa() const;  // RV64 and the extensions this hart implements (priv spec §3.1.1)
    // HLV/HLVX/HSV (§8.3.1): an access as V=1 at the privilege of hstatus.SPVP would make it,
    // whatever the hart's mode (the caller checks that the instruction is allowed). `exec`
    // (HLVX) asks for execute permission instead of read. False after raising the fault.
    bool hyp_load(uint64_t va, unsigned size, bool exec, uint64_t& out);
    bool hyp_store(uint64_t va, unsigned size, uint64_t value);
    // HFENCE.VVMA (rs1/rs2 as given: 0 for "all") and HFENCE.GVMA (§8.3.2), and SFENCE.VMA
    // executed in VS-mode, which fences the VS-stage like HFENCE.VVMA (§8.2.1).
    void hfence_vvma(bool has_va, uint64_t va, bool has_asid, uint64_t asid);
    void hfence_gvma();

    // --- CSRs (csr.cpp) -------------------------------------------------------------------
    // False if the access is illegal (the caller raises illegal instruction).
    bool csr_read(uint16_t num, uint64_t& out);
    bool csr_write(uint16_t num, uint64_t value);
    // The exception a refused csr_read/csr_write raises: illegal instruction, or virtual
    // instruction where V=1 forbids what HS-mode would allow (priv spec §8.6.1).
    uint64_t csr_refusal() const { return m_csr_refusal; }

    // --- floating point state -----------------------------------------------------------------
    // With V=1 both mstatus.FS and vsstatus.FS gate it, and both become Dirty (priv spec §8.2.11).
    bool fp_enabled() const {
        return (s.mstatus & csr::MSTATUS_FS) != csr::FS_OFF && (!s.virt || (s.vsstatus & csr::MSTATUS_FS) != csr::FS_OFF);
    }
    void set_fs_dirty() {
        s.mstatus |= csr::MSTATUS_FS | csr::MSTATUS_SD;
        if (s.virt) s.vsstatus |= csr::MSTATUS_FS | csr::MSTATUS_SD;
    }

    // --- memory access ------------------------------------------------------------------------
    template <typename T>
    bool load(uint64_t va, T& out) {
        const TlbEntry& e = m_data_tlb[(va >> 12) % kTlbSets];
        if (e.tag_r == ((va & ~0xfffull) | m_tag) && (va & (sizeof(T) - 1)) == 0) [[likely]] {
            out = load_le<T>(reinterpret_cast<const void*>(va + e.addend));
            return true;
        }
        uint64_t v = 0;
        if (!load_slow(va, sizeof(T), v)) return false;
        out = static_cast<T>(v);
        return true;
    }

    template <typename T>
    bool store(uint64_t va, T value) {
        const TlbEntry& e = m_data_tlb[(va >> 12) % kTlbSets];
        if (e.tag_w == ((va & ~0xfffull) | m_tag) && (va & (sizeof(T) - 1)) == 0) [[likely]] {
            store_le<T>(reinterpret_cast<void*>(va + e.addend), value);
            return true;
        }
        return store_slow(va, sizeof(T), static_cast<uint64_t>(value));
    }

    // Host pointer for an aligned read-modify-write (AMO, LR/SC) of `size` bytes in RAM, or
    // nullptr after raising the fault (misaligned AMOs raise store/AMO address misaligned).
    // acc is Read for LR (load causes), Write for SC and AMOs (store/AMO causes).
    uint8_t* amo_pointer(uint64_t va, unsigned size, Access acc, uint64_t* pa_out);
    // Translates and permission-checks va for acc without accessing it (CMO instructions);
    // false after raising the fault.
    bool probe(uint64_t va, Access acc);

    // Guest-physical address of an instruction fetch at va; false after raising the fault.
    bool translate_fetch(uint64_t va, uint64_t& pa);
    // translate_fetch's miss without the fault: walks, checks PMP and fills the fetch TLB's
    // entry for va; false where the fetch would fault or not reach RAM (translate_fetch then
    // raises it; the JIT's fetch recheck leaves it to the dispatcher).
    bool refill_fetch(uint64_t va, uint64_t& pa);
    // Fetches one 16-bit parcel (used by the decoder across page ends).
    bool fetch16(uint64_t va, uint16_t& out);
    // The parcels of code from va on, as this hart's fetches would see them now (its fetch
    // TLB, else a page walk with the fetch permission checks, and PMP), with no side effect:
    // no trap, no TLB fill, no A bit set. Stops at the first parcel a fetch could not read (it
    // would fault, or it is not RAM); returns how many it read into `out`.
    size_t peek_code(uint64_t va, std::span<uint16_t> out) const;

    // --- translation control ------------------------------------------------------------------
    void flush_tlb();                        // everything (satp MODE change, PMP change, ...)
    void flush_tlb_va(uint64_t va);          // sfence.vma va (all ASIDs)
    void flush_tlb_asid(uint64_t asid);      // sfence.vma x0, asid
    // Forgets write permission cached for the guest-physical page holding pa (it now holds
    // decoded code); translations and fetch entries stay valid.
    void drop_write_entries(uint64_t pa);
    // Whether this hart may hold write entries for the page of pa. Any thread (seq_cst: see
    // CodeCoherence).
    bool has_write_entries(uint64_t pa) const;
    // FENCE.I (unpriv spec §6.1): the code watch makes this hart's fetches see prior stores.
    void fence_i() {
        if (m_code != nullptr) m_code->fence_i();
    }
    // Generation of everything fetch translation depends on; cached block links compare it.
    // Generations are unique across the harts of a machine (hartid in the low bits), so a
    // value recorded by one hart never validates something for another.
    uint64_t context_gen() const { return m_context_gen; }
    void bump_context_gen() { m_context_gen += kContextGenStride; }
    static constexpr uint64_t kContextGenStride = 64;  // more than the most harts a machine has
    // Names everything the fetch translation of every page depends on: the fetch view, the
    // address space's TLB tag id and a generation bumped by single-page flushes (sfence.vma
    // with an address) and by tag-id recycling. While it is unchanged, any page translates
    // for fetch as it did when the key was read, so translated code compares it instead of
    // probing the fetch TLB on every jump across pages (jit::ExitSlot). Unique across the
    // harts of a machine, as context_gen is, and never 0 (a zeroed slot is an unfilled one).
    uint64_t fetch_key() const { return m_fetch_key; }

    void set_code_watch(CodeWatch* w) { m_code = w; }

    // --- debugger (DebugPoints) ---------------------------------------------------------------
    // The machine's breakpoints and watchpoints, or nullptr (no debugger: nothing is checked).
    void set_debug_points(const DebugPoints* points) { m_debug = points; }
    const DebugPoints* debug_points() const { return m_debug; }
    // Set when the hart stopped for the debugger; the engines return Exit::Debug when they see
    // it (between blocks), and the machine clears it once the debugger has taken the stop.
    bool debug_stopped() const { return m_debug_event.kind != DebugEvent::Kind::None; }
    const DebugEvent& debug_event() const { return m_debug_event; }
    void clear_debug_event() { m_debug_event = DebugEvent{}; }
    void stop_at_breakpoint() { m_debug_event = DebugEvent{DebugEvent::Kind::Breakpoint, s.pc, WatchKind::Write}; }
    // Guest-physical address of `va` as the hart's data accesses would see it now, for the
    // debugger: no permission check (gdb reads kernel code from user mode too), no A/D update,
    // no fault, no TLB fill. False if va is not mapped.
    bool debug_translate(uint64_t va, uint64_t& pa) const;
    GuestMemory& memory() { return m_mem; }
    const GuestClock& clock() const { return m_clock; }
    // The time CSR. With record and replay (machine::HostInputs) guest time follows the
    // instructions retired, and inside a slice too: the machine sets where the slice starts,
    // and the instructions the hart retired since (minstret, exact wherever a CSR is read)
    // move it on, so a guest polling the time sees it pass as the clock's ticks would.
    uint64_t time() const {
        if (m_itime.per_tick == 0) return m_clock.ticks();
        return m_itime.tick_base + (m_itime.icount + (s.minstret - m_itime.minstret)) / m_itime.per_tick;
    }
    // The time VS and VU modes see (priv spec §8.2.7).
    uint64_t guest_time() const { return time() + s.htimedelta; }
    struct InstructionTime {
        uint64_t tick_base = 0;  // ticks at instruction 0, the idle warps included
        uint64_t icount = 0;     // the machine's instructions when the slice started
        uint64_t minstret = 0;   // the hart's minstret then
        uint64_t per_tick = 0;   // 0: time is the clock's
    };
    void set_instruction_time(const InstructionTime& t) { m_itime = t; }
    const InstructionTime& instruction_time() const { return m_itime; }

    // Re-derives the cached data-TLB view after a change of priv, MPRV/MPP, SUM or satp.
    void update_mmu_view();

private:
    friend class HartTestPeer;
    friend struct jit::Layout;  // the JIT's emitted code reads the TLB and its tag id

    struct Translation {
        uint64_t pa = 0;
        uint64_t cause = 0;  // 0: ok (no translation fault has cause 0: misaligned fetch is checked elsewhere)
        bool ok = false;
        uint64_t gpa = 0;  // a guest-page fault's guest-physical address
        // A guest-page fault of the VS-stage walk's own PTE access: the pseudoinstruction
        // htinst/mtinst get (priv spec §8.6.3: 0x3000 a 64-bit read, 0x3020 its A/D write).
        uint64_t tinst = 0;
    };
    // Who makes an access: the privilege and V (MPRV/MPV apply to data, §3.1.6.3, §8.2.?).
    struct AccessMode {
        Priv priv = Priv::M;
        bool virt = false;
    };
    // How a two-stage translation goes (mmu_two_stage.cpp).
    struct GuestWalk {
        Access acc;           // the access, whose causes a fault takes
        Access perm;          // the permission it needs: Execute for HLVX, else acc
        Priv priv;            // VS (S) or VU (U)
        bool peek = false;    // no A/D updates (the debugger, the translator's code reads)
        bool any_permission = false;  // no permission checks either (the debugger)
    };

    Priv effective_data_priv() const;
    AccessMode effective_data_mode() const;
    Translation translate(uint64_t va, Access acc, AccessMode mode);
    // Both stages (§8.5); A/D updates write guest RAM, no state of the hart's. The G-stage
    // alone: every access it checks is a user-level one (§8.5.1).
    Translation translate_guest(uint64_t va, const GuestWalk& w) const;
    Translation gstage(uint64_t gpa, Access perm, Access acc, bool peek) const;
    // A page walk's leaf PTE (priv spec §4.3.2 steps 1-4 and 6), before permissions.
    struct Leaf {
        uint64_t pte = 0;
        uint8_t* host = nullptr;  // where the PTE is in RAM
        uint64_t pte_addr = 0;
        unsigned level = 0;
        uint64_t pte_gpa = 0;     // VS-stage: the PTE's guest-physical address
        uint64_t pa_of(uint64_t va) const;
    };
    enum class LeafStatus : uint8_t { Ok, PageFault, AccessFault, GuestPageFault };
    // The tables a walk reads: satp's (or hgatp's, whose root is 4 times larger: x4 modes,
    // §8.5.1), or vsatp's, whose PTE addresses are guest-physical and go through the G-stage.
    struct Tables {
        uint64_t root = 0;
        unsigned levels = 3;
        unsigned root_index_bits = 9;
        const GuestWalk* guest = nullptr;  // VS-stage: the walk whose PTE reads go through hgatp
    };
    Tables satp_tables() const;
    Tables hgatp_tables() const;
    LeafStatus find_leaf(uint64_t va, const Tables& t, Leaf& leaf, uint64_t& fault_gpa) const;
    Translation walk(uint64_t va, Access acc, Priv priv, uint64_t mode);
    // A leaf's permissions (§4.3.2 step 5); sum and mxr from the stage's status register.
    static bool leaf_permits(uint64_t pte, Access acc, Priv priv, bool sum, bool mxr);
    bool leaf_permits(uint64_t pte, Access acc, Priv priv) const;
    // §4.3.2 step 7 (the hart updates A/D): false if PMP forbids the PTE's write (an access fault).
    bool set_accessed_dirty(const Leaf& leaf, Access acc) const;
    bool hyp_access(uint64_t va, unsigned size, Access acc, bool exec, uint64_t& pa, bool& is_ram);
    bool peek_fetch_page(uint64_t va, uint64_t& pa) const;
    bool pmp_allows(uint64_t pa, uint64_t size, Access acc, Priv priv) const;
    std::pair<uint64_t, uint64_t> pmp_range(unsigned i) const;
    void pmp_remember(unsigned i, uint64_t lo, uint64_t hi, uint64_t pa, uint64_t last) const;
    bool pmp_page_uniform(uint64_t page, Access acc, Priv priv) const;
    bool load_slow(uint64_t va, unsigned size, uint64_t& out);
    bool store_slow(uint64_t va, unsigned size, uint64_t value);
    void drop_code_written(uint64_t pa);
    bool watch_stops(uint64_t va, uint64_t size, bool write);
    bool access_one(uint64_t va, unsigned size, Access acc, uint64_t& pa, bool& is_ram);
    void fill_tlb(uint64_t va, uint64_t pa, Access acc, unsigned mmu_index);
    uint64_t tag_for(unsigned space);
    void update_fetch_key();
    // What a trap records besides cause and tval (H): the guest-physical address of a guest-page
    // fault (htval/mtval2) and whether tval is a guest virtual address (GVA).
    struct TrapExtra {
        uint64_t gpa = 0;
        bool gva = false;
        uint64_t tinst = 0;
    };
    void take_trap(uint64_t cause, uint64_t tval, bool interrupt, TrapExtra extra);
    void trap_to_vs(uint64_t cause, uint64_t tval, bool interrupt);
    bool csr_accessible(uint16_t num, bool write);
    bool csr_exists_in_hs(uint16_t num);
    bool hyp_csr_read(uint16_t num, uint64_t& out);
    bool hyp_csr_write(uint16_t num, uint64_t v);
    void write_vsatp(uint64_t v);
    void write_hgatp(uint64_t v);
    void flush_guest_tlb();
    Result<void> check_csrs(const HartState& st) const;
    uint64_t mstatus_writable() const;
    bool counter_enabled(uint16_t num);
    bool vs_redirect(uint16_t& num);
    void write_mstatus(uint64_t v);
    void write_satp(uint64_t v);
    bool write_pmp(uint16_t num, uint64_t v);

    HartConfig m_cfg;
    GuestMemory& m_mem;
    MmioBus& m_bus;
    const GuestClock& m_clock;
    CodeWatch* m_code = nullptr;
    const DebugPoints* m_debug = nullptr;
    DebugEvent m_debug_event;
    InstructionTime m_itime;

    // The ranges of the two PMP entries that matched last, most recent first, each where it is
    // the first match for every access inside it (no lower entry overlaps). Two, because a
    // guest writing to a device alternates between the device's entry and RAM's (its page
    // walks): with one, every access missed and scanned the entries. Empty after reset and
    // every PMP write.
    struct PmpHit {
        uint64_t lo = 1, hi = 0;
        uint8_t cfg = 0;
    };
    mutable std::array<PmpHit, 2> m_pmp_hits{};

    std::atomic<uint64_t> m_pins{0};
    std::atomic<uint8_t> m_attention{0};
    bool m_trapped = false;
    bool m_stce = false;             // Sstc enabled: cached menvcfg.STCE && config.sstc
    // The guest's Sstc: henvcfg.STCE, which reads as zero while menvcfg.STCE is clear.
    bool vstce() const { return m_stce && (s.henvcfg & csr::MENVCFG_STCE) != 0; }
    uint64_t m_csr_refusal = csr::EXC_ILLEGAL_INST;  // see csr_refusal()
    // TLB tag ids: a tag id names one address space (an ASID, or bare translation) until
    // that space or the whole TLB is flushed; then the space gets a fresh id when next used,
    // so no entry filled before can match again. Flushes are O(1); only when the ids run
    // out are the entries really cleared. Ids fit a tag's low 12 bits and are the multiples
    // of 8 in [8, 0xff0]: the JIT compares the page | (misaligned low bits ^ id) with an
    // entry, and for low bits 1..7 that has nonzero low three bits, so it can match no entry
    // filled under any id (current or retired), no zeroed entry and not ~0 (kInvalidTag):
    // only an aligned access can match.
    // Spaces 0..kBareSpace are satp's (an ASID, or bare); the same again from kGuestSpace are
    // vsatp's under the current hgatp (V=1 translations, both stages in one entry).
    static constexpr unsigned kBareSpace = 1u << csr::kAsidBits;
    static constexpr unsigned kGuestSpace = kBareSpace + 1;
    static constexpr uint64_t kTagIdStep = 8;
    static constexpr uint64_t kFirstTagId = kTagIdStep;
    static constexpr uint64_t kLastTagId = 0xff0;
    std::array<uint16_t, 2 * (kBareSpace + 1)> m_space_tag{};  // 0: no id since the last flush
    // The space each id was given to: an id is live while that space still has it.
    std::array<uint32_t, kLastTagId / kTagIdStep + 1> m_tag_space{};
    bool tag_id_live(uint64_t id) const;
    uint64_t m_next_tag = kFirstTagId;
    unsigned m_space = kBareSpace;  // the current address space
    uint64_t m_tag = 0;             // its tag id
    uint64_t m_context_gen = 0;  // kContextGenStride + hartid at construction
    uint64_t m_fetch_gen = 0;    // see fetch_key
    uint64_t m_fetch_key = 0;
    TlbEntry* m_data_tlb = nullptr;  // m_tlb[index of current data view]
    unsigned m_data_index = kMmuM;
    unsigned m_fetch_index = kMmuM;
    // The entries of every view, in a mapping of their own (PageArray) that the host backs page
    // by page where sets are used: zeroed memory is an invalid entry (no tag id is 0), so
    // nothing is written up front. 4 KiB pages, not huge ones: an xz run under the JIT took 5%
    // more CPU time with the table on transparent huge pages (9 alternating runs).
    PageArray<TlbEntry> m_tlb_memory;
    TlbEntry (*m_tlb)[kTlbSets] = nullptr;  // m_tlb[view][set], in m_tlb_memory
    static constexpr size_t kTlbBytes = size_t{kMmuCount} * kTlbSets * sizeof(TlbEntry);
    // One bit per TLB entry (view * kTlbSets + set) that may hold a write tag: set by
    // fill_tlb, cleared when drop_write_entries finds the entry holds none. Its search reads
    // only these entries, not all of them (the TLB is large: a few pages per MiB of a
    // program's working set).
    std::array<uint64_t, kMmuCount * kTlbSets / 64> m_write_entries{};
    // The second level: entries the direct-mapped sets above evicted for another page, kept
    // in 4-way sets by virtual page, and moved back on a miss instead of a page walk. A process
    // and its fork use the same virtual addresses (and the kernel's pages are tagged per
    // address space), so at every switch between them each evicted the other's entries, and a
    // pipe round trip spent a third of its time walking page tables. Reads and fetches only:
    // a write tag is never kept here, so drop_write_entries never needs to look.
    static constexpr unsigned kTlb2Sets = 1024;
    static constexpr unsigned kTlb2Ways = 4;
    struct Tlb2Set {
        std::array<TlbEntry, kTlb2Ways> ways;
        unsigned next;  // the way the next eviction replaces
    };
    PageArray<Tlb2Set> m_tlb2;  // kMmuCount * kTlb2Sets, zeroed: no entry
    void tlb2_keep(unsigned view, const TlbEntry& e, uint64_t incoming);
    uint64_t entry_pa(uint64_t va, uintptr_t addend) const;
    bool tlb2_refill(unsigned view, uint64_t va, Access acc, uint64_t& pa);
    void tlb2_drop_page(uint64_t page);
    // Device pages: the translations of loads and stores that reached MMIO, which the TLB
    // (RAM pages only) cannot hold, so each such access walked the page tables again: three
    // levels for every byte a guest writes to the UART and every virtio notify. Per view,
    // direct-mapped, tagged as the TLB is (page | tag id: retired ids never match, cleared
    // when the ids run out, flush_tlb_va drops the page), a write tag only from a store's walk
    // (which set D). PMP is still checked at each access.
    static constexpr unsigned kIoTlbSets = 16;
    struct IoTlbEntry {
        uint64_t tag_r = 0, tag_w = 0;  // 0: none (no tag id is 0)
        uint64_t pa_page = 0;
        uint64_t va_page() const { return (tag_r | tag_w) & ~0xfffull; }  // both tags hold the same page
    };
    std::array<IoTlbEntry, kMmuCount * kIoTlbSets> m_io_tlb{};
    IoTlbEntry& io_tlb_entry(unsigned view, uint64_t va) { return m_io_tlb[view * kIoTlbSets + (va >> 12) % kIoTlbSets]; }
    bool io_tlb_lookup(unsigned view, uint64_t va, Access acc, uint64_t& pa);
    void io_tlb_fill(unsigned view, uint64_t va, uint64_t pa, Access acc);
    // One bit per RAM page: set when a write entry for the page is cached (fill_tlb), cleared
    // when drop_write_entries() has searched the TLB for them. A page that never had one
    // (most pages that become code) is not searched. Other
    // harts' threads read it (has_write_entries), so it is accessed atomically.
    std::vector<uint64_t> m_write_pages;
    std::pair<std::atomic_ref<uint64_t>, uint64_t> write_page_bit(const uint8_t* host_page) const;  // word, bit
};

}  // namespace trapeze::rv64
