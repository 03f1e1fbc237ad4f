// RiscvMachine's side of the debugger (the gdb stub is src/gdb/riscv_target): breakpoints and
// watchpoints reach the harts and engines through rv64::DebugPoints, a hart that hits one
// stops its engine (EngineExit::Debug) and the debugger pauses the machine through the pause
// rendezvous, so gdb always sees every hart stopped at an instruction boundary. Harts gdb did
// not resume are held (hold_harts): the run loops skip them, so a hart held mid-spin (waiting
// for an IPI from a held hart, say) only spins, as under QEMU's gdbstub.
#include <cassert>

#include "machine/riscv_machine.hpp"
#include "rv64/interp/single_step.hpp"

namespace trapeze::machine {

void RiscvMachine::enable_debugger(std::function<void()> on_stop) {
    assert(!m_debugger);
    m_debugger = true;
    m_on_debug_stop = std::move(on_stop);
    m_watch_gen_seen.assign(m_harts.size(), m_debug_points.watchpoint_generation());
    for (auto& h : m_harts) h->set_debug_points(&m_debug_points);
    m_engine->cache().set_debug_points(&m_debug_points);
}

// Before hart i runs (its thread, or the debugger's while paused): TLB entries cached before
// a watchpoint was set would let accesses to its page bypass the slow path.
void RiscvMachine::sync_debug(unsigned hart) {
    if (!m_debugger) return;
    const uint64_t gen = m_debug_points.watchpoint_generation();
    if (m_watch_gen_seen[hart] == gen) return;
    m_watch_gen_seen[hart] = gen;
    m_harts[hart]->flush_tlb();
}

// The hart's thread (or the loop of harts in turn). The first hart to stop tells the debugger;
// until it has paused the machine and taken the stop, no hart runs another slice.
void RiscvMachine::debug_stopped(unsigned hart) {
    bool expected = false;
    if (!m_debug_stop.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return;
    m_debug_stop_hart.store(hart, std::memory_order_relaxed);
    m_on_debug_stop();
}

std::optional<RiscvMachine::DebugStop> RiscvMachine::take_debug_stop() {
    if (!m_debug_stop.load(std::memory_order_acquire)) return std::nullopt;
    const unsigned first = m_debug_stop_hart.load(std::memory_order_relaxed);
    std::optional<DebugStop> stop;
    if (m_harts[first]->debug_stopped()) stop = DebugStop{first, m_harts[first]->debug_event()};
    if (std::exchange(m_travel_stop, false)) stop = DebugStop{first, {}, true, m_history_end};
    for (auto& h : m_harts) h->clear_debug_event();  // the others meet theirs again when resumed
    m_debug_stop.store(false, std::memory_order_release);
    return stop;
}

std::optional<rv64::DebugEvent> RiscvMachine::step_hart(unsigned i, bool take_interrupts) {
    sync_debug(i);
    rv64::Hart& h = *m_harts[i];
    if (rv64::interp::step_instruction(h, take_interrupts) != rv64::interp::StepOutcome::Stopped) return std::nullopt;
    const rv64::DebugEvent hit = h.debug_event();
    h.clear_debug_event();
    return hit;
}

void RiscvMachine::hold_harts(std::vector<bool> held) {
    assert(held.empty() || held.size() == m_harts.size());
    if (m_inputs != nullptr) return;  // the schedule picks the hart (riscv_inputs.cpp)
    m_held = std::move(held);
}

void RiscvMachine::end_from_debugger() {
    m_killed.store(true, std::memory_order_release);
    std::lock_guard lock(m_devices);
    finish({RunResult::Kind::Quit, 0});
}

}  // namespace trapeze::machine
