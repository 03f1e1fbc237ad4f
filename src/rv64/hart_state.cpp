// HartState's snapshot encoding: one field after another, in declaration order, so the file
// documents itself against hart_state.hpp. x[32] (the decoder's write sink) is no state.
#include "rv64/hart_state.hpp"

#include "snapshot/state_stream.hpp"

namespace trapeze::rv64 {

namespace {

// One list of the 64-bit CSR fields, used by both directions so they cannot drift apart.
template <typename State, typename F>
void each_csr(State& s, F f) {
    for (auto* p : {&s.mhartid, &s.mstatus, &s.misa, &s.medeleg, &s.mideleg, &s.mie, &s.mip, &s.mtvec,
                    &s.mscratch, &s.mepc, &s.mcause, &s.mtval, &s.mcounteren, &s.mcountinhibit, &s.menvcfg,
                    &s.mseccfg, &s.mcycle, &s.minstret, &s.stvec, &s.sscratch, &s.sepc, &s.scause, &s.stval,
                    &s.satp, &s.scounteren, &s.senvcfg, &s.stimecmp})
        f(*p);
}

template <typename State, typename F>
void each_h_csr(State& s, F f) {
    for (auto* p : {&s.hstatus, &s.hedeleg, &s.hideleg, &s.hcounteren, &s.henvcfg, &s.htimedelta, &s.htval,
                    &s.htinst, &s.hgatp, &s.mtval2, &s.mtinst, &s.vsstatus, &s.vstvec, &s.vsscratch, &s.vsepc,
                    &s.vscause, &s.vstval, &s.vsatp, &s.vstimecmp})
        f(*p);
}

}  // namespace

void HartState::write_h(snapshot::StateWriter& w) const {
    w.boolean(virt);
    each_h_csr(*this, [&](uint64_t v) { w.u64(v); });
}

void HartState::read_h(snapshot::StateReader& r) {
    virt = r.boolean();
    each_h_csr(*this, [&](uint64_t& v) { v = r.u64(); });
}

void HartState::write(snapshot::StateWriter& w) const {
    for (size_t i = 0; i < 32; ++i) w.u64(x[i]);
    for (const uint64_t v : f) w.u64(v);
    w.u64(pc);
    w.u8(static_cast<uint8_t>(priv));
    w.u8(fflags);
    w.u8(frm);
    w.boolean(wfi);
    w.boolean(reservation_valid);
    w.u64(reservation);
    w.u64(reservation_value);
    each_csr(*this, [&](uint64_t v) { w.u64(v); });
    w.raw(pmpcfg);
    for (const uint64_t v : pmpaddr) w.u64(v);
}

HartState HartState::read(snapshot::StateReader& r) {
    HartState s;
    for (size_t i = 0; i < 32; ++i) s.x[i] = r.u64();
    s.x[0] = 0;  // hardwired (unpriv spec §2.1), whatever the file says
    for (uint64_t& v : s.f) v = r.u64();
    s.pc = r.u64();
    const uint8_t priv = r.u8();
    if (priv != 0 && priv != 1 && priv != 3) r.fail(fmt::format("privilege level {} does not exist", priv));
    s.priv = static_cast<Priv>(priv);
    s.fflags = r.u8();
    s.frm = r.u8();
    if (s.fflags > 0x1f || s.frm > 7) r.fail("fcsr fields out of range");
    s.wfi = r.boolean();
    s.reservation_valid = r.boolean();
    s.reservation = r.u64();
    s.reservation_value = r.u64();
    each_csr(s, [&](uint64_t& v) { v = r.u64(); });
    r.raw(s.pmpcfg);
    for (uint64_t& v : s.pmpaddr) v = r.u64();
    return s;
}

}  // namespace trapeze::rv64
