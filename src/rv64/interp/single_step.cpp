#include "rv64/interp/single_step.hpp"

#include "rv64/interp/dispatch.hpp"
#include "rv64/isa/decoder.hpp"

namespace trapeze::rv64::interp {

namespace {

// The instruction at pc: one parcel, or two when its low bits say 32 bits (unpriv spec §1.5),
// each fetched with its own translation and fault (the upper half may be on the next page).
bool fetch_instruction(Hart& h, uint32_t& raw) {
    uint16_t lo = 0;
    if (!h.fetch16(h.s.pc, lo)) return false;
    raw = lo;
    if ((lo & 3) != 3) return true;
    uint16_t hi = 0;
    if (!h.fetch16(h.s.pc + 2, hi)) return false;
    raw |= static_cast<uint32_t>(hi) << 16;
    return true;
}

}  // namespace

StepOutcome step_instruction(Hart& h, bool take_interrupts) {
    h.s.wfi = false;
    if (take_interrupts && (h.mip() & h.s.mie) != 0 && h.check_interrupts()) return StepOutcome::Interrupt;
    uint32_t raw = 0;
    if (!fetch_instruction(h, raw)) {
        h.clear_trapped();
        return StepOutcome::Trapped;
    }
    DecodedInsn d = decode(raw);
    d.fn = exec_for(d);
    if (d.fn(h, d)) {
        h.s.pc += d.len;
        account_retired(h, 1);
        return StepOutcome::Retired;
    }
    // False without a trap: it retired and set pc itself (a taken branch, WFI, ...).
    const bool trapped = h.trapped();
    h.clear_trapped();
    if (h.debug_stopped()) return StepOutcome::Stopped;
    if (trapped) return StepOutcome::Trapped;
    account_retired(h, 1);
    return StepOutcome::Retired;
}

}  // namespace trapeze::rv64::interp
