#include "rv64/jit/layout.hpp"

#include <cassert>

namespace trapeze::rv64::jit {

namespace {

// The field's offset from rbx (the Hart plus kHartBias), modulo 2^64.
size_t offset(const void* base, const void* field) {
    return static_cast<size_t>(reinterpret_cast<const char*>(field) - reinterpret_cast<const char*>(base)) -
           Layout::kHartBias;
}

}  // namespace

Layout Layout::of(const Hart& h) {
    Layout l;
    l.x = offset(&h, &h.s.x[0]);
    l.f = offset(&h, &h.s.f[0]);
    l.fflags = offset(&h, &h.s.fflags);
    l.frm = offset(&h, &h.s.frm);
    l.pc = offset(&h, &h.s.pc);
    l.mcountinhibit = offset(&h, &h.s.mcountinhibit);
    l.mcycle = offset(&h, &h.s.mcycle);
    l.minstret = offset(&h, &h.s.minstret);
    l.data_tlb = offset(&h, &h.m_data_tlb);
    l.tlb_tag = offset(&h, &h.m_tag);
    l.tlb = offset(&h, &h.m_tlb);
    l.fetch_index = offset(&h, &h.m_fetch_index);
    l.fetch_key = offset(&h, &h.m_fetch_key);
    l.priv = offset(&h, &h.s.priv);
    l.virt = offset(&h, &h.s.virt);
    l.mstatus = offset(&h, &h.s.mstatus);
    l.vsstatus = offset(&h, &h.s.vsstatus);
    l.mip = offset(&h, &h.s.mip);
    l.mie = offset(&h, &h.s.mie);
    l.pins = offset(&h, &h.m_pins);
    l.menvcfg = offset(&h, &h.s.menvcfg);
    l.mcounteren = offset(&h, &h.s.mcounteren);
    l.sscratch = offset(&h, &h.s.sscratch);
    l.sepc = offset(&h, &h.s.sepc);
    l.scause = offset(&h, &h.s.scause);
    l.stval = offset(&h, &h.s.stval);
    l.mscratch = offset(&h, &h.s.mscratch);
    l.mepc = offset(&h, &h.s.mepc);
    l.mcause = offset(&h, &h.s.mcause);
    l.mtval = offset(&h, &h.s.mtval);
    l.scounteren = offset(&h, &h.s.scounteren);
    l.senvcfg = offset(&h, &h.s.senvcfg);
    l.reservation_valid = offset(&h, &h.s.reservation_valid);
    l.reservation = offset(&h, &h.s.reservation);
    l.reservation_value = offset(&h, &h.s.reservation_value);
    l.exit_slots = offset(&h, &h.engine.exit_slots);
    l.jump_cache = offset(&h, &h.engine.jump_cache);
    l.host_to_pa = h.m_mem.base().value - reinterpret_cast<uint64_t>(h.m_mem.host_base());
    // What kHartBias is for: x1-x31 within a disp8 of rbx.
    assert(static_cast<int64_t>(l.xreg(1)) >= -128 && static_cast<int64_t>(l.xreg(31)) <= 127);
    return l;
}

bool Layout::fetch_addend(const Hart& h, uint64_t va, uintptr_t& addend) {
    const Hart::TlbEntry& e = h.m_tlb[h.m_fetch_index][(va >> 12) % Hart::kTlbSets];
    if (e.tag_x != ((va & ~0xfffull) | h.m_tag)) return false;
    addend = e.addend;
    return true;
}

}  // namespace trapeze::rv64::jit
