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

// Interrupts in decreasing priority order (priv spec §3.1.9): MEI, MSI, MTI, SEI, SSI, STI.
constexpr unsigned kIrqPriority[] = {IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER};

uint64_t set_field(uint64_t reg, uint64_t mask, uint64_t value) {
    return (reg & ~mask) | ((value * (mask & ~(mask << 1))) & mask);
}

uint64_t get_field(uint64_t reg, uint64_t mask) { return (reg & mask) / (mask & ~(mask << 1)); }

}  // namespace

Hart::Hart(const HartConfig& cfg, GuestMemory& mem, MmioBus& bus, const GuestClock& clock)
    : m_cfg(cfg),
      m_mem(mem),
      m_bus(bus),
      m_clock(clock),
      m_context_gen(kContextGenStride + cfg.hartid),
      m_write_pages((mem.size() / GuestMemory::kPageSize + 63) / 64) {
    assert(cfg.hartid < kContextGenStride);
    reset(mem.base().value);
}

void Hart::reset(uint64_t pc) {
    s = HartState{};
    s.pc = pc;
    s.priv = Priv::M;
    s.mhartid = m_cfg.hartid;
    s.misa = kMisa;
    // UXL = SXL = 2 (64-bit), read-only (priv spec §3.1.6.2).
    s.mstatus = (2ull << 32) | (2ull << 34);
    m_pins.store(0, std::memory_order_relaxed);
    m_trapped = false;
    m_stce = false;
    m_pmp_hit = PmpHit{};
    flush_tlb();
    update_mmu_view();
}

Result<void> Hart::restore(const HartState& state) {
    if (state.mhartid != m_cfg.hartid)
        return make_error("hart {}'s state says it is hart {}", m_cfg.hartid, state.mhartid);
    if (state.misa != kMisa) return make_error("hart {}: misa {:#x} is not this hart's {:#x}", m_cfg.hartid, state.misa, kMisa);
    if (auto legal = check_csrs(state); !legal) return std::move(legal).context(fmt::format("hart {}", m_cfg.hartid));
    s = state;
    m_trapped = false;
    m_pmp_hit = PmpHit{};
    flush_tlb();
    update_mmu_view();
    update_sstc();
    return ok();
}

void Hart::update_sstc() {
    // Sstc: STIP reflects time >= stimecmp while menvcfg.STCE is set.
    m_stce = m_cfg.sstc && (s.menvcfg & MENVCFG_STCE) != 0;
    set_irq_pin(MIP_STIP, m_stce && time() >= s.stimecmp);
}

uint64_t Hart::next_timer_tick() const {
    if (!m_cfg.sstc || (s.menvcfg & MENVCFG_STCE) == 0) return std::numeric_limits<uint64_t>::max();
    return s.stimecmp;
}

uint64_t Hart::deliverable_interrupts() const {
    const uint64_t pending = mip() & s.mie;
    if (pending == 0) return 0;
    const bool m_enabled = s.priv != Priv::M || (s.mstatus & MSTATUS_MIE) != 0;
    const bool s_enabled = s.priv == Priv::U || (s.priv == Priv::S && (s.mstatus & MSTATUS_SIE) != 0);
    uint64_t deliverable = 0;
    if (m_enabled) deliverable |= pending & ~s.mideleg;
    if (s_enabled) deliverable |= pending & s.mideleg;
    return deliverable;
}

bool Hart::check_interrupts() {
    const uint64_t deliverable = deliverable_interrupts();
    if (deliverable == 0) return false;
    for (unsigned irq : kIrqPriority) {
        if ((deliverable >> irq) & 1) {
            take_trap(irq, 0, true);
            return true;
        }
    }
    return false;
}

bool Hart::raise(uint64_t cause, uint64_t tval) {
    take_trap(cause, tval, false);
    m_trapped = true;
    return false;
}

void Hart::take_trap(uint64_t cause, uint64_t tval, bool interrupt) {
    const uint64_t deleg = interrupt ? s.mideleg : s.medeleg;
    const bool to_s = s.priv != Priv::M && ((deleg >> cause) & 1) != 0;
    const uint64_t xcause = cause | (interrupt ? CAUSE_INTERRUPT : 0);
    s.wfi = false;
    // An LR's classification (rv64/isa/lr_sequence.hpp) holds only for the SC it found after
    // it, and the handler may run anything, and return anywhere, before some SC: no
    // reservation survives a trap. (Unpriv spec §8.3: a trap is one of the events that end a
    // constrained loop, and an SC may fail for any reason as long as such loops progress.)
    s.reservation_valid = false;
    if (to_s) {
        s.scause = xcause;
        s.sepc = s.pc;
        s.stval = tval;
        s.mstatus = set_field(s.mstatus, MSTATUS_SPP, s.priv == Priv::S ? 1 : 0);
        s.mstatus = set_field(s.mstatus, MSTATUS_SPIE, get_field(s.mstatus, MSTATUS_SIE));
        s.mstatus &= ~MSTATUS_SIE;
        s.priv = Priv::S;
        const bool vectored = (s.stvec & 3) == 1 && interrupt;
        s.pc = (s.stvec & ~3ull) + (vectored ? 4 * cause : 0);
    } else {
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

// priv spec §3.3.2: MRET.
bool Hart::exec_mret() {
    const auto mpp = static_cast<Priv>(get_field(s.mstatus, MSTATUS_MPP));
    s.mstatus = set_field(s.mstatus, MSTATUS_MIE, get_field(s.mstatus, MSTATUS_MPIE));
    s.mstatus |= MSTATUS_MPIE;
    s.mstatus = set_field(s.mstatus, MSTATUS_MPP, static_cast<uint64_t>(Priv::U));
    if (mpp != Priv::M) s.mstatus &= ~MSTATUS_MPRV;
    s.priv = mpp;
    s.pc = s.mepc;
    update_mmu_view();
    return false;
}

// priv spec §3.3.2 / §4.1.1: SRET.
bool Hart::exec_sret() {
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

Priv Hart::effective_data_priv() const {
    if (s.priv == Priv::M && (s.mstatus & MSTATUS_MPRV) != 0) return static_cast<Priv>(get_field(s.mstatus, MSTATUS_MPP));
    return s.priv;
}

void Hart::update_mmu_view() {
    const uint64_t mode = s.satp >> 60;
    m_space = mode == SATP_MODE_BARE ? kBareSpace : static_cast<unsigned>((s.satp >> SATP_ASID_SHIFT) & mask_low(kAsidBits));
    m_tag = tag_for(m_space);
    auto index_for = [&](Priv p, bool data) -> unsigned {
        if (p == Priv::M) return kMmuM;
        if (p == Priv::U) return kMmuU;
        return data && (s.mstatus & MSTATUS_SUM) != 0 ? kMmuSSum : kMmuS;
    };
    m_data_index = index_for(effective_data_priv(), true);
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
