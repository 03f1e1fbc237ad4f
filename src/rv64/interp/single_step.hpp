// step_instruction: exactly one instruction of a hart, for the debugger's single step. Both
// engines share HartState and the interpreter's semantics are the reference for both, so one
// step works whichever engine runs the hart; it decodes straight from memory and touches no
// code cache (a breakpoint is not checked: the debugger asked for this instruction to run).
//
// Thread: the hart's own thread, or any thread while the hart is paused.
#pragma once

#include "rv64/hart.hpp"

namespace trapeze::rv64::interp {

enum class StepOutcome : uint8_t {
    Retired,    // the instruction ran; pc is the next one
    Trapped,    // it (or its fetch) trapped; pc is the trap handler's
    Interrupt,  // an interrupt was taken instead (take_interrupts); pc is the handler's
    Stopped,    // a watchpoint stopped it before its access (Hart::debug_event); pc unchanged
};

// take_interrupts: a pending, enabled interrupt is taken first, and that is the step (as
// QEMU's single step with NOIRQ clear). Otherwise the instruction at pc runs and interrupts
// wait. A hart waiting in WFI is woken by the step (WFI may complete at any time, priv spec
// §3.3.3), so the next instruction runs.
StepOutcome step_instruction(Hart& h, bool take_interrupts);

}  // namespace trapeze::rv64::interp
