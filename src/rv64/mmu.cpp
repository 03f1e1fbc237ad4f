// Address translation (priv spec §4.3–4.6: Sv39/Sv48/Sv57), PMP (§3.7), the
// software TLB and the slow paths of guest memory access.
//
// The TLB maps a page VA, tagged with the current ASID, to a host address offset.
// An entry is filled only when the whole 4 KiB page has one PMP verdict and is RAM;
// a write entry only when the page holds no decoded code, so that stores to code
// always reach the slow path and invalidate the blocks first.
#include <algorithm>
#include <bit>
#include <cstring>

#include "rv64/hart.hpp"

namespace trapeze::rv64 {

using namespace csr;

namespace {

// PTE bits (priv spec §4.3.1, figure 4.18).
constexpr uint64_t PTE_V = 1 << 0, PTE_R = 1 << 1, PTE_W = 1 << 2, PTE_X = 1 << 3, PTE_U = 1 << 4,
                   PTE_A = 1 << 6, PTE_D = 1 << 7;
constexpr uint64_t kPteReservedMask = 0xffc0'0000'0000'0000ull;  // N, PBMT, reserved: not implemented
constexpr uint64_t kPagePpnMask = (1ull << 44) - 1;

// PMP configuration fields (priv spec §3.7.1).
constexpr uint8_t PMP_R = 1, PMP_W = 2, PMP_X = 4, PMP_A = 0x18, PMP_L = 0x80;
constexpr uint8_t PMP_A_TOR = 0x08, PMP_A_NA4 = 0x10, PMP_A_NAPOT = 0x18;
constexpr unsigned kPmpEntries = 16;

uint64_t page_fault_cause(Access acc) {
    switch (acc) {
        case Access::Read: return EXC_LOAD_PAGE_FAULT;
        case Access::Write: return EXC_STORE_PAGE_FAULT;
        case Access::Execute: return EXC_INST_PAGE_FAULT;
    }
    return EXC_LOAD_PAGE_FAULT;
}

uint64_t access_fault_cause(Access acc) {
    switch (acc) {
        case Access::Read: return EXC_LOAD_ACCESS;
        case Access::Write: return EXC_STORE_ACCESS;
        case Access::Execute: return EXC_INST_ACCESS;
    }
    return EXC_LOAD_ACCESS;
}

uint64_t guest_page_fault_cause(Access acc) {
    switch (acc) {
        case Access::Read: return EXC_LOAD_GUEST_PAGE_FAULT;
        case Access::Write: return EXC_STORE_GUEST_PAGE_FAULT;
        case Access::Execute: return EXC_INST_GUEST_PAGE_FAULT;
    }
    return EXC_LOAD_GUEST_PAGE_FAULT;
}

// The pseudoinstructions of a VS-stage walk's PTE accesses (§8.6.3, table "special pseudoinstruction
// values"): a 64-bit read, and the 64-bit write of its A/D update.
constexpr uint64_t kTinstPteRead = 0x3000;
constexpr uint64_t kTinstPteWrite = 0x3020;

unsigned levels_for(uint64_t mode) { return mode == SATP_MODE_SV39 ? 3 : mode == SATP_MODE_SV48 ? 4 : 5; }

}  // namespace

// --- PMP ------------------------------------------------------------------------------------

namespace {

bool pmp_verdict(uint8_t cfg, Access acc, Priv priv) {
    if (priv == Priv::M && (cfg & PMP_L) == 0) return true;
    const uint8_t need = acc == Access::Read ? PMP_R : acc == Access::Write ? PMP_W : PMP_X;
    return (cfg & need) != 0;
}

}  // namespace

// [lo, hi) of entry i in bytes, or an empty range when the entry is off (§3.7.1).
std::pair<uint64_t, uint64_t> Hart::pmp_range(unsigned i) const {
    const uint8_t a = s.pmpcfg[i] & PMP_A;
    const uint64_t addr = s.pmpaddr[i];
    if (a == PMP_A_TOR) return {i == 0 ? 0 : s.pmpaddr[i - 1] << 2, addr << 2};
    if (a == PMP_A_NA4) return {addr << 2, (addr << 2) + 4};
    if (a == PMP_A_NAPOT) {
        const unsigned ones = static_cast<unsigned>(std::countr_one(addr));
        if (ones >= 54) return {0, ~0ull};
        const uint64_t lo = (addr & ~((1ull << ones) - 1)) << 2;
        return {lo, lo + (8ull << ones)};
    }
    return {0, 0};
}

bool Hart::pmp_allows(uint64_t pa, uint64_t size, Access acc, Priv priv) const {
    const uint64_t last = pa + size - 1;
    // Most checks land in the range of an entry that matched lately (TLB fills, the levels of
    // a page walk, a device's accesses between them): see pmp_remember().
    if (pa >= m_pmp_hits[0].lo && last < m_pmp_hits[0].hi) return pmp_verdict(m_pmp_hits[0].cfg, acc, priv);
    if (pa >= m_pmp_hits[1].lo && last < m_pmp_hits[1].hi) {
        std::swap(m_pmp_hits[0], m_pmp_hits[1]);
        return pmp_verdict(m_pmp_hits[0].cfg, acc, priv);
    }
    for (unsigned i = 0; i < kPmpEntries; ++i) {
        const auto [lo, hi] = pmp_range(i);
        if (lo >= hi || pa >= hi || last < lo) continue;
        if (pa < lo || last >= hi) return false;  // partial match fails (§3.7.1)
        pmp_remember(i, lo, hi, pa, last);
        return pmp_verdict(s.pmpcfg[i], acc, priv);
    }
    return priv == Priv::M;  // no match: M succeeds, S/U fail because entries are implemented
}

// Caches, for the fast path, the part of entry i's range around [pa, last] that no
// lower-numbered entry touches: entry i is the first match for every access inside it.
// (OpenSBI's last entry covers all memory, carved by the firmware's own regions below it.)
void Hart::pmp_remember(unsigned i, uint64_t lo, uint64_t hi, uint64_t pa, uint64_t last) const {
    for (unsigned j = 0; j < i; ++j) {
        const auto [jlo, jhi] = pmp_range(j);
        if (jlo >= jhi) continue;
        if (jhi <= pa)
            lo = std::max(lo, jhi);
        else if (jlo > last)
            hi = std::min(hi, jlo);
        else
            return;  // cannot happen: entry j would have matched first
    }
    m_pmp_hits[1] = m_pmp_hits[0];
    m_pmp_hits[0] = PmpHit{lo, hi, s.pmpcfg[i]};
}

bool Hart::pmp_page_uniform(uint64_t page, Access acc, Priv priv) const {
    return pmp_allows(page, GuestMemory::kPageSize, acc, priv);
}

bool Hart::write_pmp(uint16_t num, uint64_t v) {
    if (num >= PMPCFG0 && num <= PMPCFG15) {
        if (num & 1) return false;  // RV64: odd pmpcfg registers do not exist
        const unsigned base = static_cast<unsigned>(num - PMPCFG0) * 4;
        for (unsigned i = 0; i < 8; ++i) {
            const unsigned e = base + i;
            if (e >= kPmpEntries || (s.pmpcfg[e] & PMP_L) != 0) continue;
            uint8_t c = static_cast<uint8_t>(v >> (8 * i)) & 0x9f;
            if ((c & (PMP_R | PMP_W)) == PMP_W) c &= static_cast<uint8_t>(~PMP_W);  // W without R is reserved
            s.pmpcfg[e] = c;
        }
    } else {
        const unsigned e = num - PMPADDR0;
        if (e >= kPmpEntries) return true;
        const bool locked = (s.pmpcfg[e] & PMP_L) != 0;
        const bool next_tor_locked = e + 1 < kPmpEntries && (s.pmpcfg[e + 1] & PMP_L) != 0 &&
                                     (s.pmpcfg[e + 1] & PMP_A) == PMP_A_TOR;
        if (!locked && !next_tor_locked) s.pmpaddr[e] = v & ((1ull << 54) - 1);
    }
    m_pmp_hits = {};
    flush_tlb();
    return true;
}

// --- translation ------------------------------------------------------------------------------

Hart::Translation Hart::translate(uint64_t va, Access acc, AccessMode mode) {
    if (mode.virt) return translate_guest(va, GuestWalk{acc, acc, mode.priv});
    const uint64_t satp_mode = s.satp >> 60;
    if (mode.priv == Priv::M || satp_mode == SATP_MODE_BARE) return {va, 0, true};
    return walk(va, acc, mode.priv, satp_mode);
}

Hart::Tables Hart::satp_tables() const {
    return Tables{(s.satp & SATP_PPN_MASK) << 12, levels_for(s.satp >> 60), 9, nullptr};
}

// Finds the leaf PTE for va (§4.3.2 steps 1-4): no permission check yet. The caller has
// checked that va is an address of the mode (§4.3.1: sign-extended; §8.5.1: zero-extended).
// A VS-stage walk reads each PTE at the supervisor-physical address the G-stage gives its
// guest-physical one; a G-stage fault there is a guest-page fault at that address (§8.5.1).
Hart::LeafStatus Hart::find_leaf(uint64_t va, const Tables& t, Leaf& leaf, uint64_t& fault_gpa) const {
    uint64_t table = t.root;
    for (int level = static_cast<int>(t.levels) - 1; level >= 0; --level) {
        const unsigned index_bits = level == static_cast<int>(t.levels) - 1 ? t.root_index_bits : 9;
        const uint64_t vpn = (va >> (12 + 9 * level)) & mask_low(index_bits);
        uint64_t pte_addr = table + vpn * 8;
        const uint64_t pte_gpa = pte_addr;
        if (t.guest != nullptr) {
            const Translation g = gstage(pte_gpa, Access::Read, t.guest->acc, t.guest->peek);
            if (!g.ok) {
                fault_gpa = g.gpa;
                return g.cause == access_fault_cause(t.guest->acc) ? LeafStatus::AccessFault : LeafStatus::GuestPageFault;
            }
            pte_addr = g.pa;
        }
        auto pte_span = m_mem.span(Gpa(pte_addr), 8);
        if (pte_span.empty() || !pmp_allows(pte_addr, 8, Access::Read, Priv::S)) return LeafStatus::AccessFault;
        const uint64_t pte = load_le<uint64_t>(pte_span.data());
        if ((pte & PTE_V) == 0 || ((pte & PTE_R) == 0 && (pte & PTE_W) != 0) || (pte & kPteReservedMask) != 0)
            return LeafStatus::PageFault;
        const uint64_t ppn = (pte >> 10) & kPagePpnMask;
        if ((pte & (PTE_R | PTE_X)) == 0) {  // pointer to the next level
            table = ppn << 12;
            continue;
        }
        // Misaligned superpage (§4.3.2 step 6).
        if ((ppn & ((1ull << (9 * level)) - 1)) != 0) return LeafStatus::PageFault;
        leaf = Leaf{pte, pte_span.data(), pte_addr, static_cast<unsigned>(level), pte_gpa};
        return LeafStatus::Ok;
    }
    return LeafStatus::PageFault;
}

uint64_t Hart::Leaf::pa_of(uint64_t va) const {
    const uint64_t ppn = (pte >> 10) & kPagePpnMask;
    const uint64_t page_off_mask = (1ull << (12 + 9 * level)) - 1;
    return ((ppn << 12) & ~page_off_mask) | (va & page_off_mask);
}

bool Hart::leaf_permits(uint64_t pte, Access acc, Priv priv) const {
    return leaf_permits(pte, acc, priv, (s.mstatus & MSTATUS_SUM) != 0, (s.mstatus & MSTATUS_MXR) != 0);
}

bool Hart::leaf_permits(uint64_t pte, Access acc, Priv priv, bool sum, bool mxr) {
    const bool user = (pte & PTE_U) != 0;
    if (priv == Priv::U && !user) return false;
    if (priv == Priv::S && user && (acc == Access::Execute || !sum)) return false;
    const bool readable = (pte & PTE_R) != 0 || (mxr && (pte & PTE_X) != 0);
    switch (acc) {
        case Access::Read: return readable;
        case Access::Write: return (pte & PTE_W) != 0;
        case Access::Execute: return (pte & PTE_X) != 0;
    }
    return false;
}

Hart::Translation Hart::walk(uint64_t va, Access acc, Priv priv, uint64_t mode) {
    // The VA must be sign-extended from its top bit (§4.3.1).
    if (sext(va, 12 + 9 * levels_for(mode)) != static_cast<int64_t>(va)) return {0, page_fault_cause(acc), false};
    Leaf leaf;
    uint64_t unused = 0;
    switch (find_leaf(va, satp_tables(), leaf, unused)) {
        case LeafStatus::Ok: break;
        case LeafStatus::PageFault: case LeafStatus::GuestPageFault: return {0, page_fault_cause(acc), false};
        case LeafStatus::AccessFault: return {0, access_fault_cause(acc), false};
    }
    if (!leaf_permits(leaf.pte, acc, priv)) return {0, page_fault_cause(acc), false};
    if (!set_accessed_dirty(leaf, acc)) return {0, access_fault_cause(acc), false};
    return {leaf.pa_of(va), 0, true};
}

// A/D are updated by the hart (§4.3.2 step 7, the hardware-update option).
bool Hart::set_accessed_dirty(const Leaf& leaf, Access acc) const {
    const uint64_t want = PTE_A | (acc == Access::Write ? PTE_D : 0);
    if ((leaf.pte & want) == want) return true;
    if (!pmp_allows(leaf.pte_addr, 8, Access::Write, Priv::S)) return false;
    store_le<uint64_t>(leaf.host, leaf.pte | want);
    m_mem.mark_dirty(Gpa(leaf.pte_addr), 8);  // a store like any other (diff snapshots)
    return true;
}

// The translation of the hart's current mode (its fetch view: gdb reads code at pc and the
// data around it), with the permission and A/D steps left out.
bool Hart::debug_translate(uint64_t va, uint64_t& pa) const {
    if (s.virt) {
        const Translation t = translate_guest(va, GuestWalk{Access::Read, Access::Read, s.priv, true, true});
        pa = t.pa;
        return t.ok;
    }
    const uint64_t mode = s.satp >> 60;
    if (s.priv == Priv::M || mode == SATP_MODE_BARE) {
        pa = va;
        return true;
    }
    if (sext(va, 12 + 9 * levels_for(mode)) != static_cast<int64_t>(va)) return false;
    Leaf leaf;
    uint64_t unused = 0;
    if (find_leaf(va, satp_tables(), leaf, unused) != LeafStatus::Ok) return false;
    pa = leaf.pa_of(va);
    return true;
}

// --- two-stage translation (priv spec §8.5) -----------------------------------------------------

Hart::Tables Hart::hgatp_tables() const {
    return Tables{(s.hgatp & SATP_PPN_MASK) << 12, levels_for(s.hgatp >> 60), 11, nullptr};
}

Hart::Translation Hart::gstage(uint64_t gpa, Access perm, Access acc, bool peek) const {
    const uint64_t mode = s.hgatp >> 60;
    if (mode == SATP_MODE_BARE) return {gpa, 0, true};
    const Tables t = hgatp_tables();
    const Translation fault{0, guest_page_fault_cause(acc), false, gpa};
    // A guest-physical address has two bits more than the mode's virtual addresses, and is
    // zero-extended rather than sign-extended (§8.5.1: Sv39x4 takes 41-bit addresses).
    if ((gpa >> (14 + 9 * t.levels)) != 0) return fault;
    Leaf leaf;
    uint64_t unused = 0;
    switch (find_leaf(gpa, t, leaf, unused)) {
        case LeafStatus::Ok: break;
        case LeafStatus::AccessFault: return {0, access_fault_cause(acc), false};
        case LeafStatus::PageFault: case LeafStatus::GuestPageFault: return fault;
    }
    // Every G-stage access is user-level, so the leaf needs U (§8.5.1); only mstatus.MXR,
    // not vsstatus.MXR, makes executable pages readable here (§8.2.11... §8.5.1).
    if (!leaf_permits(leaf.pte, perm, Priv::U, false, (s.mstatus & MSTATUS_MXR) != 0)) return fault;
    if (!peek && !set_accessed_dirty(leaf, perm)) return {0, access_fault_cause(acc), false};
    return {leaf.pa_of(gpa), 0, true};
}

Hart::Translation Hart::translate_guest(uint64_t va, const GuestWalk& w) const {
    const uint64_t mode = s.vsatp >> 60;
    uint64_t gpa = va;  // vsatp Bare: the guest virtual address is the guest-physical one
    if (mode != SATP_MODE_BARE) {
        const Translation page_fault{0, page_fault_cause(w.acc), false};
        const unsigned levels = levels_for(mode);
        if (sext(va, 12 + 9 * levels) != static_cast<int64_t>(va)) return page_fault;
        Leaf leaf;
        uint64_t fault_gpa = 0;
        switch (find_leaf(va, Tables{(s.vsatp & SATP_PPN_MASK) << 12, levels, 9, &w}, leaf, fault_gpa)) {
            case LeafStatus::Ok: break;
            case LeafStatus::PageFault: return page_fault;
            case LeafStatus::AccessFault: return {0, access_fault_cause(w.acc), false};
            case LeafStatus::GuestPageFault: return {0, guest_page_fault_cause(w.acc), false, fault_gpa, kTinstPteRead};
        }
        // vsstatus's SUM and MXR, and mstatus.MXR too, govern the VS-stage (§8.2.11).
        const bool sum = (s.vsstatus & MSTATUS_SUM) != 0;
        const bool mxr = ((s.vsstatus | s.mstatus) & MSTATUS_MXR) != 0;
        if (!w.any_permission && !leaf_permits(leaf.pte, w.perm, w.priv, sum, mxr)) return page_fault;
        const uint64_t want = PTE_A | (w.acc == Access::Write ? PTE_D : 0);
        if (!w.peek && (leaf.pte & want) != want) {
            // Updating the PTE is a write to guest-physical memory: the G-stage must allow it.
            Translation g = gstage(leaf.pte_gpa, Access::Write, w.acc, false);
            if (!g.ok) {
                if (g.gpa != 0) g.tinst = kTinstPteWrite;
                return g;
            }
            if (!set_accessed_dirty(leaf, w.acc)) return {0, access_fault_cause(w.acc), false};
        }
        gpa = leaf.pa_of(va);
    }
    return gstage(gpa, w.any_permission ? Access::Read : w.perm, w.acc, w.peek);
}

// One access of an HLV/HSV: translated as V=1 at hstatus.SPVP's privilege, checked by PMP at
// the same nominal privilege; faults carry the guest virtual address (GVA).
bool Hart::hyp_access(uint64_t va, unsigned size, Access acc, bool exec, uint64_t& pa, bool& is_ram) {
    const Priv priv = (s.hstatus & HSTATUS_SPVP) != 0 ? Priv::S : Priv::U;
    const Translation t = translate_guest(va, GuestWalk{acc, exec ? Access::Execute : acc, priv});
    if (!t.ok) return raise_guest(t.cause, va, t.gpa, t.tinst);
    if (!pmp_allows(t.pa, size, acc, priv)) return raise_guest(access_fault_cause(acc), va, 0);
    pa = t.pa;
    is_ram = m_mem.contains(Gpa(pa), size);
    if (is_ram && acc == Access::Write) m_mem.mark_dirty(Gpa(pa), size);
    return true;
}

namespace {

// A naturally aligned access of `size` bytes to RAM as one host load or store: single-copy
// atomic for harts on other threads (RVWMO, unpriv spec §17.1), as the inline hit paths are, and
// no call into a variable-size memcpy on the path after every TLB miss (load_slow,
// store_slow, and the hypervisor's HLV/HSV).
uint64_t load_ram(const uint8_t* p, unsigned size) {
    switch (size) {
        case 1: return *p;
        case 2: return load_le<uint16_t>(p);
        case 4: return load_le<uint32_t>(p);
        default: return load_le<uint64_t>(p);
    }
}

void store_ram(uint8_t* p, unsigned size, uint64_t v) {
    switch (size) {
        case 1: *p = static_cast<uint8_t>(v); break;
        case 2: store_le<uint16_t>(p, static_cast<uint16_t>(v)); break;
        case 4: store_le<uint32_t>(p, static_cast<uint32_t>(v)); break;
        default: store_le<uint64_t>(p, v); break;
    }
}

}  // namespace

bool Hart::hyp_load(uint64_t va, unsigned size, bool exec, uint64_t& out) {
    uint64_t pa = 0;
    bool is_ram = false;
    if ((va & (size - 1)) == 0) {
        if (!hyp_access(va, size, Access::Read, exec, pa, is_ram)) return false;
        if (!is_ram) {
            auto v = m_bus.read(Gpa(pa), size);
            if (!v) return raise_guest(EXC_LOAD_ACCESS, va, 0);
            out = *v;
            return true;
        }
        out = load_ram(m_mem.span(Gpa(pa), size).data(), size);
        return true;
    }
    // Misaligned: completed from RAM byte by byte, as load_slow does.
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) {
        if (!hyp_access(va + i, 1, Access::Read, exec, pa, is_ram)) return false;
        if (!is_ram) return raise_guest(EXC_LOAD_ACCESS, va, 0);
        v |= static_cast<uint64_t>(*m_mem.span(Gpa(pa), 1).data()) << (8 * i);
    }
    out = v;
    return true;
}

bool Hart::hyp_store(uint64_t va, unsigned size, uint64_t value) {
    uint64_t pa = 0;
    bool is_ram = false;
    if ((va & (size - 1)) == 0) {
        if (!hyp_access(va, size, Access::Write, false, pa, is_ram)) return false;
        if (!is_ram) return m_bus.write(Gpa(pa), value, size) || raise_guest(EXC_STORE_ACCESS, va, 0);
        store_ram(m_mem.span(Gpa(pa), size).data(), size, value);
        drop_code_written(pa);
        return true;
    }
    uint64_t pas[8];
    for (unsigned i = 0; i < size; ++i) {
        if (!hyp_access(va + i, 1, Access::Write, false, pas[i], is_ram)) return false;
        if (!is_ram) return raise_guest(EXC_STORE_ACCESS, va, 0);
    }
    for (unsigned i = 0; i < size; ++i) {
        *m_mem.span(Gpa(pas[i]), 1).data() = static_cast<uint8_t>(value >> (8 * i));
        drop_code_written(pas[i]);
    }
    return true;
}

void Hart::hfence_vvma(bool has_va, uint64_t va, bool has_asid, uint64_t asid) {
    if (has_va) {
        flush_tlb_va(va);  // every space: more than the guest's, which is allowed (§8.3.2)
    } else if (has_asid) {
        m_space_tag[kGuestSpace + (asid & mask_low(kAsidBits))] = 0;
        m_tag = tag_for(m_space);
        update_fetch_key();
        bump_context_gen();
    } else {
        flush_guest_tlb();
    }
}

// VMIDLEN is 0 and guest-physical addresses are not cached apart from the combined
// translations: any HFENCE.GVMA drops every V=1 translation.
void Hart::hfence_gvma() { flush_guest_tlb(); }

// --- TLB ----------------------------------------------------------------------------------------

uint64_t Hart::tag_for(unsigned space) {
    if (m_space_tag[space] == 0) {
        if (m_next_tag > kLastTagId) {  // ids exhausted: clear for real and start over
            std::memset(static_cast<void*>(m_tlb), 0, kTlbBytes);  // a zeroed entry matches nothing
            std::memset(static_cast<void*>(&m_tlb2[0]), 0, m_tlb2.size() * sizeof(Tlb2Set));
            m_io_tlb.fill(IoTlbEntry{});
            m_write_entries.fill(0);
            m_space_tag.fill(0);
            m_next_tag = kFirstTagId;
            ++m_fetch_gen;  // ids are reused: keys taken before must not match again
        }
        m_space_tag[space] = static_cast<uint16_t>(m_next_tag);
        m_tag_space[m_next_tag / kTagIdStep] = space;
        m_next_tag += kTagIdStep;
    }
    return m_space_tag[space];
}

bool Hart::tag_id_live(uint64_t id) const {
    return id >= kFirstTagId && id < m_next_tag && m_space_tag[m_tag_space[id / kTagIdStep]] == id;
}

void Hart::flush_tlb() {
    m_space_tag.fill(0);
    // No write entry can match again (their ids are retired until the ids run out, which
    // clears the entries), so none needs dropping: Linux flushes all at once thousands of
    // times in a boot (set_memory), and drop_write_entries would visit them all again.
    m_write_entries.fill(0);
    m_tag = tag_for(m_space);
    update_fetch_key();
    bump_context_gen();
}

// Every V=1 translation: they all depend on hgatp (VMIDLEN is 0, so there is one guest at a
// time, §8.2.10), and the guest's spaces are a copy of satp's ASID spaces.
void Hart::flush_guest_tlb() {
    std::fill(m_space_tag.begin() + kGuestSpace, m_space_tag.end(), 0);
    m_tag = tag_for(m_space);
    update_fetch_key();
    bump_context_gen();
}

void Hart::flush_tlb_va(uint64_t va) {
    const uint64_t page = va & ~0xfffull;
    for (unsigned v = 0; v < kMmuCount; ++v) {
        TlbEntry& e = m_tlb[v][(va >> 12) % kTlbSets];
        if (e.holds(page)) e = TlbEntry{kInvalidTag, kInvalidTag, kInvalidTag, 0};  // any ASID
    }
    tlb2_drop_page(page);
    for (unsigned v = 0; v < kMmuCount; ++v) {
        IoTlbEntry& e = io_tlb_entry(v, va);
        if (e.va_page() == page) e = IoTlbEntry{};
    }
    ++m_fetch_gen;
    update_fetch_key();
    bump_context_gen();
}

// Global mappings share their ASID's tag id, so they go too: flushing more than required
// is always allowed (priv spec §4.2.1).
void Hart::flush_tlb_asid(uint64_t asid) {
    // In VS-mode, sfence.vma's ASID is the guest's (vsatp's, §8.2.1).
    m_space_tag[(s.virt ? kGuestSpace : 0) + (asid & mask_low(kAsidBits))] = 0;
    m_tag = tag_for(m_space);
    update_fetch_key();
    bump_context_gen();
}

std::pair<std::atomic_ref<uint64_t>, uint64_t> Hart::write_page_bit(const uint8_t* host_page) const {
    const auto index = static_cast<size_t>(host_page - m_mem.host_base()) / GuestMemory::kPageSize;
    return {std::atomic_ref<uint64_t>(const_cast<uint64_t&>(m_write_pages[index / 64])), uint64_t{1} << (index % 64)};
}

bool Hart::has_write_entries(uint64_t pa) const {
    const uint8_t* host_page = m_mem.host_page(Gpa(pa));
    if (host_page == nullptr) return false;
    auto [word, bit] = write_page_bit(host_page);
    return (word.load() & bit) != 0;
}

void Hart::drop_write_entries(uint64_t pa) {
    const uint8_t* host_page = m_mem.host_page(Gpa(pa));
    if (host_page == nullptr) return;
    auto [word, bit] = write_page_bit(host_page);
    if ((word.load(std::memory_order_relaxed) & bit) == 0) return;
    word.fetch_and(~bit);
    const auto host = reinterpret_cast<uintptr_t>(host_page);
    for (size_t w = 0; w < m_write_entries.size(); ++w) {
        for (uint64_t bits = m_write_entries[w]; bits != 0; bits &= bits - 1) {
            const size_t i = 64 * w + static_cast<size_t>(std::countr_zero(bits));
            TlbEntry& e = m_tlb[i / kTlbSets][i % kTlbSets];
            // An entry of a retired id can never match: it goes too, so it is visited once.
            if (e.tag_w != kInvalidTag && ((e.tag_w & ~0xfffull) + e.addend == host || !tag_id_live(e.tag_w & 0xfff)))
                e.tag_w = kInvalidTag;
            if (e.tag_w == kInvalidTag) m_write_entries[w] &= ~(uint64_t{1} << (i % 64));
        }
    }
}

void Hart::fill_tlb(uint64_t va, uint64_t pa, Access acc, unsigned mmu_index) {
    uint8_t* host_page = m_mem.host_page(Gpa(pa));
    if (host_page == nullptr) return;
    m_mem.note_use(host_page);  // a first use of fresh RAM has the chunks after it populated
    const uint64_t page = pa & ~0xfffull;
    // PMP checks the supervisor-physical address with the nominal privilege (VS as S, VU as U).
    const Priv priv = mmu_index == kMmuM ? (acc == Access::Execute ? s.priv : effective_data_priv())
                                         : (mmu_index == kMmuU ? Priv::U : Priv::S);
    if (!pmp_page_uniform(page, acc, priv)) return;
    // A watched page's accesses must all reach the slow path, where watch_stops() looks.
    if (m_debug != nullptr && acc != Access::Execute && m_debug->has_watchpoints() &&
        m_debug->watches_page(va, acc == Access::Write))
        return;
    if (acc == Access::Write) {
        // The write bit goes up before the code check (both seq_cst), so a hart that decodes
        // the page's first block meanwhile either sees the bit or is seen (CodeCoherence).
        auto [word, bit] = write_page_bit(host_page);
        const bool had = (word.fetch_or(bit) & bit) != 0;
        if (m_code != nullptr && m_code->is_code_page(pa)) {
            if (!had) word.fetch_and(~bit);  // no entry was cached, none will be
            return;
        }
    }
    TlbEntry& e = m_tlb[mmu_index][(va >> 12) % kTlbSets];
    const uint64_t tag = (va & ~0xfffull) | m_tag;
    const uintptr_t addend = reinterpret_cast<uintptr_t>(host_page) - (va & ~0xfffull);
    tlb2_keep(mmu_index, e, tag);  // what this fill may replace
    if (e.addend != addend || ((e.tag_r & ~0xfffull) != (va & ~0xfffull) && e.tag_r != kInvalidTag) ||
        ((e.tag_w & ~0xfffull) != (va & ~0xfffull) && e.tag_w != kInvalidTag) ||
        ((e.tag_x & ~0xfffull) != (va & ~0xfffull) && e.tag_x != kInvalidTag)) {
        e = TlbEntry{kInvalidTag, kInvalidTag, kInvalidTag, addend};
    }
    if (acc == Access::Read) e.tag_r = tag;
    if (acc == Access::Write) {
        e.tag_w = tag;
        const size_t i = mmu_index * size_t{kTlbSets} + (va >> 12) % kTlbSets;
        m_write_entries[i / 64] |= uint64_t{1} << (i % 64);
    }
    if (acc == Access::Execute) e.tag_x = tag;
}

// The guest-physical address of va through an entry's addend (host address = va + addend).
uint64_t Hart::entry_pa(uint64_t va, uintptr_t addend) const {
    return (va + addend) - reinterpret_cast<uintptr_t>(m_mem.host_base()) + m_mem.base().value;
}

// An entry whose read or fetch tag is about to be replaced (by `incoming`, a fill's or a
// refill's tag), into the second level: its read and fetch tags of live tag ids, other than
// `incoming` (a write tag is never kept). Only live ids: after a flush (Linux flushes
// everything thousands of times in a boot) every entry is of a retired id, and keeping those
// would only cost. Not twice: a way that holds the same tags already stays as it is.
void Hart::tlb2_keep(unsigned view, const TlbEntry& e, uint64_t incoming) {
    auto keeps = [&](uint64_t t) { return t != kInvalidTag && t != 0 && t != incoming && tag_id_live(t & 0xfff); };
    const bool r = keeps(e.tag_r), x = keeps(e.tag_x);
    if (!r && !x) return;
    const TlbEntry kept{r ? e.tag_r : kInvalidTag, kInvalidTag, x ? e.tag_x : kInvalidTag, e.addend};
    const uint64_t page = (r ? e.tag_r : e.tag_x) & ~0xfffull;
    Tlb2Set& set = m_tlb2[view * size_t{kTlb2Sets} + (page >> 12) % kTlb2Sets];
    for (const TlbEntry& w : set.ways) {
        if (w.addend == kept.addend && w.tag_r == kept.tag_r && w.tag_x == kept.tag_x) return;
    }
    set.ways[set.next] = kept;
    set.next = (set.next + 1) % kTlb2Ways;
}

// On a miss of view's entry for va: if the second level holds va's page under the current
// tag id for acc (a read or a fetch), the two swap (the first level's entry is kept in its
// place) and pa is set. Such an entry was filled by fill_tlb after a walk and PMP check in
// the same view, and every flush that could have dropped it reached it (flush_tlb_va here,
// others by retiring its tag id), so it stands for that walk. Not while watchpoints are set:
// fill_tlb leaves their pages out of the TLB.
bool Hart::tlb2_refill(unsigned view, uint64_t va, Access acc, uint64_t& pa) {
    if (acc == Access::Write || (m_debug != nullptr && m_debug->has_watchpoints())) return false;
    TlbEntry& e = m_tlb[view][(va >> 12) % kTlbSets];
    // A set never filled evicted nothing: its pages' first touches (most of a boot's misses)
    // go straight to the walk.
    if (e.addend == 0 && e.tag_r == 0 && e.tag_w == 0 && e.tag_x == 0) return false;
    const uint64_t page = va & ~0xfffull;
    const uint64_t tag = page | m_tag;
    Tlb2Set& set = m_tlb2[view * size_t{kTlb2Sets} + (page >> 12) % kTlb2Sets];
    for (TlbEntry& w : set.ways) {
        if ((acc == Access::Read ? w.tag_r : w.tag_x) != tag) continue;
        const TlbEntry found = w;
        if (e.holds(page) && e.addend == found.addend) {
            // The entry kept its other tags (a write tag, say): add this one back, and keep the
            // one it replaces.
            tlb2_keep(view, e, tag);
            if (acc == Access::Read) e.tag_r = found.tag_r;
            else e.tag_x = found.tag_x;
        } else {
            w = TlbEntry{kInvalidTag, kInvalidTag, kInvalidTag, 0};
            tlb2_keep(view, e, tag);
            // Replaced whole: a write tag the old entry had goes, so its bit can go too.
            const size_t i = view * size_t{kTlbSets} + (va >> 12) % kTlbSets;
            if (e.tag_w != kInvalidTag) m_write_entries[i / 64] &= ~(uint64_t{1} << (i % 64));
            e = found;
        }
        pa = entry_pa(va, found.addend);
        return true;
    }
    return false;
}

// sfence.vma of a page (any address space): the second level's entries for it go too.
void Hart::tlb2_drop_page(uint64_t page) {
    for (unsigned v = 0; v < kMmuCount; ++v) {
        for (TlbEntry& w : m_tlb2[v * size_t{kTlb2Sets} + (page >> 12) % kTlb2Sets].ways) {
            if (w.holds(page)) w = TlbEntry{kInvalidTag, kInvalidTag, kInvalidTag, 0};
        }
    }
}

// A device page's translation for va under the current tag id, for a load or a store (the
// walk that filled a write tag set D, as fill_tlb's write entries need).
bool Hart::io_tlb_lookup(unsigned view, uint64_t va, Access acc, uint64_t& pa) {
    if (acc == Access::Execute) return false;
    const IoTlbEntry& e = io_tlb_entry(view, va);
    const uint64_t tag = (va & ~0xfffull) | m_tag;
    if ((acc == Access::Read ? e.tag_r : e.tag_w) != tag) return false;
    pa = e.pa_page | (va & 0xfff);
    return true;
}

// After a walk for a load or store that reached no RAM: a page with no RAM in it keeps its
// translation (a page holding both takes the walk every time).
void Hart::io_tlb_fill(unsigned view, uint64_t va, uint64_t pa, Access acc) {
    const uint64_t page = pa & ~0xfffull;
    if (acc == Access::Execute || m_mem.contains(Gpa(page), 1) || m_mem.contains(Gpa(page + 0xfff), 1)) return;
    IoTlbEntry& e = io_tlb_entry(view, va);
    const uint64_t tag = (va & ~0xfffull) | m_tag;
    if (e.pa_page != page || e.va_page() != (va & ~0xfffull)) e = IoTlbEntry{};
    e.pa_page = page;
    (acc == Access::Read ? e.tag_r : e.tag_w) = tag;
}

// --- slow paths -----------------------------------------------------------------------------------

// Translates and checks one naturally contained access; raises the fault and returns false on failure.
bool Hart::access_one(uint64_t va, unsigned size, Access acc, uint64_t& pa, bool& is_ram) {
    const AccessMode mode = acc == Access::Execute ? AccessMode{s.priv, s.virt} : effective_data_mode();
    const Priv priv = mode.priv;
    const unsigned view = acc == Access::Execute ? m_fetch_index : m_data_index;
    if (tlb2_refill(view, va, acc, pa)) {
        is_ram = true;  // only RAM pages have entries, and the access is within the page
        return true;
    }
    if (!io_tlb_lookup(view, va, acc, pa)) {
        const Translation t = translate(va, acc, mode);
        if (!t.ok) return mode.virt ? raise_guest(t.cause, va, t.gpa, t.tinst) : raise(t.cause, va);
        pa = t.pa;
    }
    if (!pmp_allows(pa, size, acc, priv))
        return mode.virt ? raise_guest(access_fault_cause(acc), va, 0) : raise(access_fault_cause(acc), va);
    is_ram = m_mem.contains(Gpa(pa), size);
    if (!is_ram) {
        io_tlb_fill(view, va, pa, acc);
        return true;
    }
    // Every store reaches RAM through here or through a writable TLB entry filled just below,
    // so the page is dirty from now on (a diff snapshot's flush_tlb makes the next store come
    // back here).
    if (acc == Access::Write) m_mem.mark_dirty(Gpa(pa), size);
    fill_tlb(va, pa, acc, view);
    return true;
}

bool Hart::load_slow(uint64_t va, unsigned size, uint64_t& out) {
    if ((va & (size - 1)) == 0) {
        uint64_t pa = 0;
        bool is_ram = false;
        if (!access_one(va, size, Access::Read, pa, is_ram)) return false;
        if (watch_stops(va, size, false)) return false;
        if (is_ram) {
            out = load_ram(m_mem.span(Gpa(pa), size).data(), size);
            return true;
        }
        auto v = m_bus.read(Gpa(pa), size);
        if (!v) return raise(EXC_LOAD_ACCESS, va);
        out = *v;
        return true;
    }
    // Misaligned: completed byte by byte from RAM once every byte translates (priv spec §3.6.3.3
    // allows the emulator to complete it; MMIO accesses must be aligned and fault instead).
    uint64_t pas[8];
    for (unsigned i = 0; i < size; ++i) {
        bool is_ram = false;
        if (!access_one(va + i, 1, Access::Read, pas[i], is_ram)) return false;
        if (!is_ram) return raise(EXC_LOAD_ACCESS, va);
    }
    if (watch_stops(va, size, false)) return false;
    out = 0;
    for (unsigned i = 0; i < size; ++i) out |= static_cast<uint64_t>(*m_mem.span(Gpa(pas[i]), 1).data()) << (8 * i);
    return true;
}

bool Hart::store_slow(uint64_t va, unsigned size, uint64_t value) {
    if ((va & (size - 1)) == 0) {
        uint64_t pa = 0;
        bool is_ram = false;
        if (!access_one(va, size, Access::Write, pa, is_ram)) return false;
        if (watch_stops(va, size, true)) return false;
        if (is_ram) {
            store_ram(m_mem.span(Gpa(pa), size).data(), size, value);
            drop_code_written(pa);
            return true;
        }
        if (!m_bus.write(Gpa(pa), value, size)) return raise(EXC_STORE_ACCESS, va);
        return true;
    }
    uint64_t pas[8];
    for (unsigned i = 0; i < size; ++i) {
        bool is_ram = false;
        if (!access_one(va + i, 1, Access::Write, pas[i], is_ram)) return false;
        if (!is_ram) return raise(EXC_STORE_ACCESS, va);
    }
    if (watch_stops(va, size, true)) return false;
    for (unsigned i = 0; i < size; ++i) *m_mem.span(Gpa(pas[i]), 1).data() = static_cast<uint8_t>(value >> (8 * i));
    for (unsigned i = 0; i < size; ++i) drop_code_written(pas[i]);
    return true;
}

// After a store to RAM at pa: if the page holds decoded code, its blocks go (for every hart).
// After, not before: a hart decoding the page meanwhile then either reads the new bytes or has
// its blocks dropped here, since the store and the page's mark are each made before the other
// is read (this fence, and the seq_cst mark in interp::CodeCache::mark_code_page). Decoding
// in between an invalidation and the store would keep the old code for good.
void Hart::drop_code_written(uint64_t pa) {
    if (m_code == nullptr) return;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (m_code->is_code_page(pa)) m_code->invalidate_code_page(pa);
}

uint8_t* Hart::amo_pointer(uint64_t va, unsigned size, Access acc, uint64_t* pa_out) {
    // Misaligned atomics raise address-misaligned (unpriv spec §8.2, §8.4); atomics on
    // anything but RAM raise access faults (our devices have no atomic support).
    const bool write = acc == Access::Write;
    if ((va & (size - 1)) != 0) {
        raise(write ? EXC_STORE_MISALIGNED : EXC_LOAD_MISALIGNED, va);
        return nullptr;
    }
    uint64_t pa = 0;
    bool is_ram = false;
    if (!access_one(va, size, acc, pa, is_ram)) return nullptr;
    if (!is_ram) {
        raise(write ? EXC_STORE_ACCESS : EXC_LOAD_ACCESS, va);
        return nullptr;
    }
    if (watch_stops(va, size, write)) return nullptr;
    if (write && m_code != nullptr && m_code->is_code_page(pa)) m_code->invalidate_code_page(pa);
    if (pa_out != nullptr) *pa_out = pa;
    return m_mem.span(Gpa(pa), size).data();
}

// A watchpoint covers the access: the hart stops before it (the instruction does not retire
// and pc stays at it, as after a trap whose handler is the instruction itself), for the
// machine to report to the debugger (see DebugPoints).
bool Hart::watch_stops(uint64_t va, uint64_t size, bool write) {
    if (m_debug == nullptr || !m_debug->has_watchpoints()) [[likely]]
        return false;
    const Watchpoint* w = m_debug->watch_hit(va, size, write);
    if (w == nullptr) return false;
    m_debug_event = DebugEvent{DebugEvent::Kind::Watch, std::max(va, w->addr), w->kind};
    m_trapped = true;
    return true;
}

bool Hart::probe(uint64_t va, Access acc) {
    uint64_t pa = 0;
    bool is_ram = false;
    return access_one(va, 1, acc, pa, is_ram);
}

bool Hart::translate_fetch(uint64_t va, uint64_t& pa) {
    const TlbEntry& e = m_tlb[m_fetch_index][(va >> 12) % kTlbSets];
    if (e.tag_x == ((va & ~0xfffull) | m_tag)) [[likely]] {
        pa = entry_pa(va, e.addend);
        return true;
    }
    if (refill_fetch(va, pa)) return true;
    // The fetch faults: access_one walks again and raises what the walk or PMP refused.
    bool is_ram = false;
    if (!access_one(va, 2, Access::Execute, pa, is_ram)) return false;
    if (!is_ram) return raise(EXC_INST_ACCESS, va);
    return true;
}

bool Hart::refill_fetch(uint64_t va, uint64_t& pa) {
    if (tlb2_refill(m_fetch_index, va, Access::Execute, pa)) return true;
    const AccessMode mode{s.priv, s.virt};
    const Translation t = translate(va, Access::Execute, mode);
    if (!t.ok || !pmp_allows(t.pa, 2, Access::Execute, mode.priv) || !m_mem.contains(Gpa(t.pa), 2)) return false;
    fill_tlb(va, t.pa, Access::Execute, m_fetch_index);
    pa = t.pa;
    return true;
}

// The guest-physical address of the page of va as a fetch would translate it now: the fetch
// TLB's entry, else the page walk's (a clear A bit is no fault: the walk would set it).
bool Hart::peek_fetch_page(uint64_t va, uint64_t& pa) const {
    const uint64_t page = va & ~0xfffull;
    const TlbEntry& e = m_tlb[m_fetch_index][(va >> 12) % kTlbSets];
    if (e.tag_x == (page | m_tag)) {
        pa = entry_pa(page, e.addend);
        return true;
    }
    if (s.virt) {
        const Translation t = translate_guest(page, GuestWalk{Access::Execute, Access::Execute, s.priv, true});
        pa = t.pa;
        return t.ok;
    }
    const uint64_t mode = s.satp >> 60;
    if (s.priv == Priv::M || mode == SATP_MODE_BARE) {
        pa = page;
        return true;
    }
    if (sext(page, 12 + 9 * levels_for(mode)) != static_cast<int64_t>(page)) return false;
    Leaf leaf;
    uint64_t unused = 0;
    if (find_leaf(page, satp_tables(), leaf, unused) != LeafStatus::Ok ||
        !leaf_permits(leaf.pte, Access::Execute, s.priv))
        return false;
    pa = leaf.pa_of(page);
    return true;
}

size_t Hart::peek_code(uint64_t va, std::span<uint16_t> out) const {
    uint64_t page = ~0ull, page_pa = 0;
    for (size_t n = 0; n < out.size(); ++n, va += 2) {
        if ((va & ~0xfffull) != page) {
            if (!peek_fetch_page(va, page_pa)) return n;
            page = va & ~0xfffull;
        }
        const uint64_t pa = page_pa + (va & 0xfff);
        if (!pmp_allows(pa, 2, Access::Execute, s.priv) || !m_mem.contains(Gpa(pa), 2)) return n;
        out[n] = load_le<uint16_t>(m_mem.span(Gpa(pa), 2).data());
    }
    return out.size();
}

bool Hart::fetch16(uint64_t va, uint16_t& out) {
    uint64_t pa = 0;
    if (!translate_fetch(va, pa)) return false;
    out = load_le<uint16_t>(m_mem.span(Gpa(pa), 2).data());
    return true;
}

}  // namespace trapeze::rv64
