// Hart: reset, trap entry and return, interrupt delivery (priv spec §3.1.6–3.1.9, §3.3.2, §4.1.1).
#include "rv64/hart.hpp"

#include <cassert>
#include <limits>

namespace trapeze::rv64 {

using namespace csr;

namespace {

constexpr uint64_t misa_bit(char ext) { return 1ull << (ext - 'A'); }

// RV64 (MXL=2) with the extensions this hart implements (priv spec §3.1.1).
constexpr uint64_t kMisa = (2ull << 62) | misa_bit('I') | misa_bit('M') | misa_bit('A') | misa_bit('F') |
                           misa_bit('D') | misa_bit('C') | misa_bit('S') | misa_bit('U');

// Interrupts in decreasing priority order (priv spec §3.1.9, and §8.4.3 for the H extension's):
// MEI, MSI, MTI, SEI, SSI, STI, SGEI, VSEI, VSSI, VSTI.
constexpr unsigned kIrqPriority[] = {IRQ_M_EXT,  IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT,   IRQ_S_SOFT,
                                     IRQ_S_TIMER, IRQ_S_GEXT, IRQ_VS_EXT, IRQ_VS_SOFT, IRQ_VS_TIMER};

// Exceptions whose tval is an address (priv spec §3.1.16, §8.6.3): with V=1 a guest virtual one.
constexpr uint64_t kAddressCauses = (1ull << EXC_INST_MISALIGNED) | (1ull << EXC_INST_ACCESS) |
                                    (1ull << EXC_BREAKPOINT) | (1ull << EXC_LOAD_MISALIGNED) |
                                    (1ull << EXC_LOAD_ACCESS) | (1ull << EXC_STORE_MISALIGNED) |
                                    (1ull << EXC_STORE_ACCESS) | (1ull << EXC_INST_PAGE_FAULT) |
                                    (1ull << EXC_LOAD_PAGE_FAULT) | (1ull << EXC_STORE_PAGE_FAULT) |
                                    (1ull << EXC_INST_GUEST_PAGE_FAULT) | (1ull << EXC_LOAD_GUEST_PAGE_FAULT) |
                                    (1ull << EXC_STORE_GUEST_PAGE_FAULT);

uint64_t set_field(uint64_t reg, uint64_t mask, uint64_t value) {
    return (reg & ~mask) | ((value * (mask & ~(mask << 1))) & mask);
}

uint64_t get_field(uint64_t reg, uint64_t mask) { return (reg & mask) / (mask & ~(mask << 1)); }

// The registers of a trap into S-mode: HS-mode's (sstatus is mstatus), or VS-mode's.
struct SupervisorTrapCsrs {
    uint64_t& cause;
    uint64_t& epc;
    uint64_t& tval;
    uint64_t& status;
    uint64_t tvec;
};

// Trap entry into S-mode (priv spec §4.1.1, §4.1.2): `code` is the cause number the handler
// sees. The caller sets V.
void enter_supervisor(HartState& s, const SupervisorTrapCsrs& c, uint64_t code, uint64_t tval, bool interrupt) {
    c.cause = code | (interrupt ? CAUSE_INTERRUPT : 0);
    c.epc = s.pc;
    c.tval = tval;
    c.status = set_field(c.status, MSTATUS_SPP, s.priv == Priv::S ? 1 : 0);
    c.status = set_field(c.status, MSTATUS_SPIE, get_field(c.status, MSTATUS_SIE));
    c.status &= ~MSTATUS_SIE;
    s.priv = Priv::S;
    const bool vectored = (c.tvec & 3) == 1 && interrupt;
    s.pc = (c.tvec & ~3ull) + (vectored ? 4 * code : 0);
}

}  // namespace

uint64_t Hart::misa() const { return kMisa | (m_cfg.hypervisor ? misa_bit('H') : 0); }

Hart::Hart(const HartConfig& cfg, GuestMemory& mem, MmioBus& bus, const GuestClock& clock)
    : m_cfg(cfg),
      m_mem(mem),
      m_bus(bus),
      m_clock(clock),
      m_context_gen(kContextGenStride + cfg.hartid),
      // In 4 KiB pages, resident as filled: in huge pages (Pages::huge, 4 MiB resident per
      // hart) the suite ran at 0.971 of this (bench/programs.py --baseline, 5 rounds).
      m_tlb_memory(size_t{kMmuCount} * kTlbSets),
      m_tlb(reinterpret_cast<TlbEntry (*)[kTlbSets]>(&m_tlb_memory[0])),
      m_tlb2(size_t{kMmuCount} * kTlb2Sets),
      m_write_pages((mem.size() / GuestMemory::kPageSize + 63) / 64) {
    assert(cfg.hartid < kContextGenStride);
    reset(mem.base().value);
}

void Hart::reset(uint64_t pc) {
    s = HartState{};
    s.pc = pc;
    s.priv = Priv::M;
    s.mhartid = m_cfg.hartid;
    s.misa = misa();
    // UXL = SXL = 2 (64-bit), read-only (priv spec §3.1.6.2).
    s.mstatus = (2ull << 32) | (2ull << 34);
    if (m_cfg.hypervisor) {
        // VSXL and vsstatus.UXL are 64-bit too, read-only (§8.2.1, §8.2.11); the VS-level
        // interrupts and SGEI are always delegated past M (mideleg read-only one, §8.4.1).
        s.hstatus = 2ull << 32;
        s.vsstatus = 2ull << 32;
        s.mideleg = VS_INTERRUPTS;
    }
    m_pins.store(0, std::memory_order_relaxed);
    m_trapped = false;
    m_stce = false;
    m_pmp_hits = {};
    flush_tlb();
    update_mmu_view();
}

Result<void> Hart::restore(const HartState& state) {
    if (state.mhartid != m_cfg.hartid)
        return make_error("hart {}'s state says it is hart {}", m_cfg.hartid, state.mhartid);
    if (state.misa != misa()) return make_error("hart {}: misa {:#x} is not this hart's {:#x}", m_cfg.hartid, state.misa, misa());
    if (auto legal = check_csrs(state); !legal) return std::move(legal).context(fmt::format("hart {}", m_cfg.hartid));
    s = state;
    m_trapped = false;
    m_pmp_hits = {};
    flush_tlb();
    update_mmu_view();
    update_sstc();
    return ok();
}

void Hart::update_sstc() {
    // Sstc: STIP reflects time >= stimecmp while menvcfg.STCE is set, and VSTIP the guest's
    // time >= vstimecmp while henvcfg.STCE is (ORed with hvip.VSTIP, which is in mip).
    // One clock read for both (this runs between every two slices): the guest's time is
    // time + htimedelta, as guest_time() says.
    m_stce = m_cfg.sstc && (s.menvcfg & MENVCFG_STCE) != 0;
    const uint64_t now = time();
    set_irq_pin(MIP_STIP, m_stce && now >= s.stimecmp);
    if (m_cfg.hypervisor) set_irq_pin(MIP_VSTIP, vstce() && now + s.htimedelta >= s.vstimecmp);
}

uint64_t Hart::next_timer_tick() const {
    if (!m_cfg.sstc || (s.menvcfg & MENVCFG_STCE) == 0) return std::numeric_limits<uint64_t>::max();
    if (!vstce()) return s.stimecmp;
    // The host tick at which time + htimedelta reaches vstimecmp (now, if it wrapped past it).
    const uint64_t vs_tick = s.vstimecmp >= s.htimedelta ? s.vstimecmp - s.htimedelta : 0;
    return std::min(s.stimecmp, vs_tick);
}

// An interrupt is taken by the level mideleg and hideleg send it to, when that level is above
// the hart's, or is the hart's with its xIE set (priv spec §3.1.9, §8.4.3): M, HS (V=1 is
// always below it), VS (only while V=1; vsstatus.SIE in VS-mode).
uint64_t Hart::deliverable_interrupts() const {
    const uint64_t pending = mip() & s.mie;
    if (pending == 0) return 0;
    const bool m_enabled = s.priv != Priv::M || (s.mstatus & MSTATUS_MIE) != 0;
    const bool hs_enabled = s.virt || s.priv == Priv::U || (s.priv == Priv::S && (s.mstatus & MSTATUS_SIE) != 0);
    const bool vs_enabled = s.virt && (s.priv == Priv::U || (s.vsstatus & MSTATUS_SIE) != 0);
    uint64_t deliverable = 0;
    if (m_enabled) deliverable |= pending & ~s.mideleg;
    if (hs_enabled) deliverable |= pending & s.mideleg & ~s.hideleg;
    if (vs_enabled) deliverable |= pending & s.mideleg & s.hideleg;
    return deliverable;
}

bool Hart::check_interrupts() {
    const uint64_t deliverable = deliverable_interrupts();
    if (deliverable == 0) return false;
    for (unsigned irq : kIrqPriority) {
        if ((deliverable >> irq) & 1) {
            take_trap(irq, 0, true, TrapExtra{});
            return true;
        }
    }
    return false;
}

bool Hart::raise(uint64_t cause, uint64_t tval) {
    take_trap(cause, tval, false, TrapExtra{});
    m_trapped = true;
    return false;
}

bool Hart::raise_guest(uint64_t cause, uint64_t gva, uint64_t gpa, uint64_t tinst) {
    take_trap(cause, gva, false, TrapExtra{gpa, true, tinst});
    m_trapped = true;
    return false;
}

void Hart::take_trap(uint64_t cause, uint64_t tval, bool interrupt, TrapExtra extra) {
    const uint64_t deleg = interrupt ? s.mideleg : s.medeleg;
    const bool to_s = s.priv != Priv::M && ((deleg >> cause) & 1) != 0;
    const uint64_t xcause = cause | (interrupt ? CAUSE_INTERRUPT : 0);
    s.wfi = false;
    // An LR's classification (rv64/isa/lr_sequence.hpp) holds only for the SC it found after
    // it, and the handler may run anything, and return anywhere, before some SC: no
    // reservation survives a trap. (Unpriv spec §8.3: a trap is one of the events that end a
    // constrained loop, and an SC may fail for any reason as long as such loops progress.)
    s.reservation_valid = false;
    // H (§8.6.4): a trap from V=1 that hedeleg/hideleg delegate stays in the guest, VS-mode.
    const uint64_t hdeleg = interrupt ? s.hideleg : s.hedeleg;
    if (to_s && s.virt && ((hdeleg >> cause) & 1) != 0) {
        trap_to_vs(cause, tval, interrupt);
        return;
    }
    // Otherwise it leaves the guest: V=0, and the trap records where it came from (§8.6.4):
    // the guest virtual address in tval (GVA) and a guest-page fault's address >> 2.
    const bool gva = !interrupt && (extra.gva || (s.virt && ((kAddressCauses >> cause) & 1) != 0));
    const uint64_t tval2 = extra.gpa >> 2;
    const bool was_virt = s.virt;
    s.virt = false;
    if (to_s) {
        if (m_cfg.hypervisor) {
            s.hstatus = set_field(s.hstatus, HSTATUS_SPV, was_virt ? 1 : 0);
            if (was_virt) s.hstatus = set_field(s.hstatus, HSTATUS_SPVP, s.priv == Priv::S ? 1 : 0);
            s.hstatus = set_field(s.hstatus, HSTATUS_GVA, gva ? 1 : 0);
            s.htval = tval2;
            s.htinst = extra.tinst;
        }
        enter_supervisor(s, {s.scause, s.sepc, s.stval, s.mstatus, s.stvec}, cause, tval, interrupt);
    } else {
        if (m_cfg.hypervisor) {
            s.mstatus = set_field(s.mstatus, MSTATUS_MPV, was_virt ? 1 : 0);
            s.mstatus = set_field(s.mstatus, MSTATUS_GVA, gva ? 1 : 0);
            s.mtval2 = tval2;
            s.mtinst = extra.tinst;
        }
        s.mcause = xcause;
        s.mepc = s.pc;
        s.mtval = tval;
        s.mstatus = set_field(s.mstatus, MSTATUS_MPP, static_cast<uint64_t>(s.priv));
        s.mstatus = set_field(s.mstatus, MSTATUS_MPIE, get_field(s.mstatus, MSTATUS_MIE));
        s.mstatus &= ~MSTATUS_MIE;
        s.priv = Priv::M;
        const bool vectored = (s.mtvec & 3) == 1 && interrupt;
        s.pc = (s.mtvec & ~3ull) + (vectored ? 4 * cause : 0);
    }
    update_mmu_view();
}

// A trap into VS-mode (§8.6.4): the guest's own CSRs, its vstvec; V stays 1. The VS-level
// interrupts arrive as the supervisor ones they stand for (VSSI as SSI, ... §8.2.12).
void Hart::trap_to_vs(uint64_t cause, uint64_t tval, bool interrupt) {
    const uint64_t code = interrupt ? cause - 1 : cause;
    enter_supervisor(s, {s.vscause, s.vsepc, s.vstval, s.vsstatus, s.vstvec}, code, tval, interrupt);
    update_mmu_view();
}

// priv spec §3.3.2: MRET; with H, MPV says whether it returns into the guest (§8.6.4).
bool Hart::exec_mret() {
    const auto mpp = static_cast<Priv>(get_field(s.mstatus, MSTATUS_MPP));
    s.mstatus = set_field(s.mstatus, MSTATUS_MIE, get_field(s.mstatus, MSTATUS_MPIE));
    s.mstatus |= MSTATUS_MPIE;
    s.mstatus = set_field(s.mstatus, MSTATUS_MPP, static_cast<uint64_t>(Priv::U));
    if (mpp != Priv::M) s.mstatus &= ~MSTATUS_MPRV;
    s.virt = mpp != Priv::M && (s.mstatus & MSTATUS_MPV) != 0;
    s.mstatus &= ~MSTATUS_MPV;
    s.priv = mpp;
    s.pc = s.mepc;
    update_mmu_view();
    return false;
}

// priv spec §3.3.2 / §4.1.1: SRET. In VS-mode it returns within the guest through vsstatus
// and vsepc; in HS-mode hstatus.SPV says whether it enters the guest (§8.6.4).
bool Hart::exec_sret() {
    if (s.virt) {
        const Priv spp = (s.vsstatus & MSTATUS_SPP) != 0 ? Priv::S : Priv::U;
        s.vsstatus = set_field(s.vsstatus, MSTATUS_SIE, get_field(s.vsstatus, MSTATUS_SPIE));
        s.vsstatus |= MSTATUS_SPIE;
        s.vsstatus &= ~MSTATUS_SPP;
        s.priv = spp;
        s.pc = s.vsepc;
        update_mmu_view();
        return false;
    }
    s.virt = (s.hstatus & HSTATUS_SPV) != 0;
    s.hstatus &= ~HSTATUS_SPV;
    const Priv spp = (s.mstatus & MSTATUS_SPP) != 0 ? Priv::S : Priv::U;
    s.mstatus = set_field(s.mstatus, MSTATUS_SIE, get_field(s.mstatus, MSTATUS_SPIE));
    s.mstatus |= MSTATUS_SPIE;
    s.mstatus &= ~MSTATUS_SPP;
    s.mstatus &= ~MSTATUS_MPRV;  // the new privilege is below M
    s.priv = spp;
    s.pc = s.sepc;
    update_mmu_view();
    return false;
}

Priv Hart::effective_data_priv() const { return effective_data_mode().priv; }

// MPRV makes M-mode loads and stores those of MPP, and of V=MPV below M (§3.1.6.3, §8.2.?).
Hart::AccessMode Hart::effective_data_mode() const {
    if (s.priv == Priv::M && (s.mstatus & MSTATUS_MPRV) != 0) {
        const auto mpp = static_cast<Priv>(get_field(s.mstatus, MSTATUS_MPP));
        return {mpp, mpp != Priv::M && (s.mstatus & MSTATUS_MPV) != 0};
    }
    return {s.priv, s.virt};
}

void Hart::update_mmu_view() {
    // The data accesses' address space names the TLB tag. Fetches share it: they differ only
    // under MPRV, in M-mode, whose view (kMmuM) holds identity entries under any tag.
    const AccessMode data = effective_data_mode();
    const uint64_t atp = data.virt ? s.vsatp : s.satp;
    const unsigned base = data.virt ? kGuestSpace : 0;
    m_space = base + ((atp >> 60) == SATP_MODE_BARE ? kBareSpace
                                                     : static_cast<unsigned>((atp >> SATP_ASID_SHIFT) & mask_low(kAsidBits)));
    m_tag = tag_for(m_space);
    const uint64_t status = data.virt ? s.vsstatus : s.mstatus;
    auto index_for = [&](Priv p, bool is_data) -> unsigned {
        if (p == Priv::M) return kMmuM;
        if (p == Priv::U) return kMmuU;
        return is_data && (status & MSTATUS_SUM) != 0 ? kMmuSSum : kMmuS;
    };
    m_data_index = index_for(data.priv, true);
    m_fetch_index = index_for(s.priv, false);
    m_data_tlb = m_tlb[m_data_index];
    update_fetch_key();
}

void Hart::update_fetch_key() {
    // 1 | generation * stride + hartid | view (2 bits) | tag id (12 bits, see m_space_tag);
    // the top bit keeps it from ever being 0 (see fetch_key).
    static_assert(kMmuCount <= 4 && kLastTagId < (1u << 12));
    m_fetch_key = uint64_t{1} << 63 | (m_fetch_gen * kContextGenStride + m_cfg.hartid) << 14 |
                  uint64_t{m_fetch_index} << 12 | m_tag;
}

}  // namespace trapeze::rv64
