// Record and replay on the RISC-V board (machine::HostInputs, issue 24): which devices take
// their host input through it, where the run loop stands when it does, and how an idle machine
// moves guest time. The loop itself is run_in_turn (riscv_machine.cpp); a machine with inputs
// always runs its harts in turn.
#include <algorithm>
#include <utility>
#include <cassert>

#include "machine/riscv_machine.hpp"
#include "rv64/interp/single_step.hpp"

namespace trapeze::machine {

namespace {

// How often the loop looks at the console while a hart stopped for the debugger.
constexpr uint64_t kInputIoTickNs = 5'000'000;

// A hart's slice with inputs: exact instruction counts (see run_exact), the translator's size
// for both engines. Larger than without inputs: the last instructions of every slice run one
// by one, which costs about a microsecond a slice.
constexpr uint64_t kSliceSingle = 1'000'000;
constexpr uint64_t kSliceSmp = 200'000;

}  // namespace

// Guest time follows the instructions retired; the RTC reads the recorded wall clock plus guest
// time; console output is hashed; disk reads, entropy and network frames go through the inputs.
void RiscvMachine::wire_inputs() {
    HostInputs& in = *m_inputs;
    m_icount = in.start_icount();
    m_hart_icount.assign(m_harts.size(), 0);
    m_clock.set_manual(in.ticks_at(m_icount));
    m_rtc.set_host_clock([this] { return m_inputs->wall_clock_start_ns() + m_clock.ticks() * (1'000'000'000 / GuestClock::kHz); });
    m_console.set_output_tap([this](std::span<const uint8_t> bytes) { m_inputs->output(bytes); });
    for (size_t slot = 0; slot < m_virtio.size(); ++slot) {
        const auto source = static_cast<uint16_t>(slot);
        virtio::VirtioDevice& d = m_virtio[slot]->device();
        if (auto* blk = dynamic_cast<virtio::VirtioBlk*>(&d)) {
            blk->set_input_hook(
                [&in, source](uint64_t offset, const virtio::ByteSpans& data, const virtio::VirtioBlk::HostRead& host) {
                    return in.disk_read(source, offset, data, host);
                },
                in.disk_writes());
        } else if (auto* rng = dynamic_cast<virtio::VirtioRng*>(&d)) {
            rng->set_entropy([&in, source](std::span<uint8_t> out) {
                return in.entropy(source, out, &virtio::VirtioRng::host_entropy);
            });
        }
    }
}

uint64_t RiscvMachine::icount() const { return m_inputs != nullptr ? m_icount : m_engine->retired(); }

// Before a slice, and at a round's end before its inputs: the inputs learn where the machine
// is, and the guest clock reads what it reads there (time moves only between slices, so every
// engine sees it move at the same instructions).
void RiscvMachine::inputs_position(bool round_end) {
    const uint64_t at = icount();
    m_inputs->position(at, round_end);
    m_clock.set_manual(m_inputs->ticks_at(at));
    if (round_end) {
        for (auto& h : m_harts) sync_instruction_time(*h);
    }
}

// The hart's time CSR reads guest time at the machine's position from here on, moving with
// the instructions it retires (Hart::time).
void RiscvMachine::sync_instruction_time(rv64::Hart& h) {
    h.set_instruction_time({m_inputs->tick_base(), m_icount, h.s.minstret, m_inputs->instructions_per_tick()});
}

// Every hart waits: guest time moves to the earliest timer deadline or until host input came
// (a recording sleeps in host time meanwhile; a replay takes the recorded step at once).
void RiscvMachine::idle_with_inputs() {
    uint64_t deadline = UINT64_MAX;
    {
        std::lock_guard lock(m_devices);
        deadline = m_clint.next_deadline();
    }
    for (const auto& h : m_harts) deadline = std::min(deadline, h->next_timer_tick());
    const uint64_t now = m_clock.ticks();
    const uint64_t until = deadline > now ? deadline - now : 0;
    // At most 50 ms at a time, as an idle machine without inputs: a long wait is several steps.
    static constexpr uint64_t kMaxSleepNs = 50'000'000;
    m_inputs->idle(until, [this](uint64_t ns) { wait_for_io(std::min(ns, kMaxSleepNs)); });
    m_clock.set_manual(m_inputs->ticks_at(icount()));
    for (auto& h : m_harts) sync_instruction_time(*h);
}

// Under the device lock, at a round's end.
void RiscvMachine::feed_console_from_inputs() {
    const auto terminal = [this](uint8_t& b) { return m_console.pop(b); };
    uint8_t byte = 0;
    if (m_vconsole != nullptr) {
        while (m_vconsole->can_accept_input() && m_inputs->console_byte(byte, terminal)) m_vconsole->push_input(byte);
        return;
    }
    while (m_uart.can_accept_input() && m_inputs->console_byte(byte, terminal)) m_uart.push_input(byte);
}

// A replay that reached the recording's end, or left it, stops here (a recording never does);
// under a debugger that may rewind it, the end of the recording is the end of its history.
bool RiscvMachine::inputs_stop_here() {
    std::string why;
    if (!m_inputs->stop_here(why)) return false;
    const bool complete = why.rfind("replay complete", 0) == 0;
    if (complete && holds_history()) {
        stop_for_travel(0, true);
        return true;
    }
    std::lock_guard lock(m_devices);
    m_console.flush();
    m_stop_message = why;
    finish({complete ? RunResult::Kind::Quit : RunResult::Kind::Fail, complete ? 0 : 1});
    return true;
}

// The loop of harts in turn with inputs: like run_in_turn, but each slice is an exact count of
// retired instructions, whatever the engine, and a slice the debugger stopped goes on where it
// stopped, so that where instructions run (and inputs enter) depends on nothing but the guest.
// Under a debugger a replay never ends by itself: at the recording's end (or the guest's) it
// stops for the debugger, which may rewind it (time travel); only gdb's kill ends it then.
RunResult RiscvMachine::run_with_inputs() {
    runloop::CpuQuota quota(m_cfg.cpu_quota_percent);
    {
        std::lock_guard control(m_control);
        m_turn_loop_started = true;
    }
    for (;;) {
        if (m_finished.load(std::memory_order_acquire) && !hold_at_history_end()) break;
        if (m_pause_requested.load(std::memory_order_acquire)) {
            park_in_turn();
            continue;
        }
        if (m_debug_stop.load(std::memory_order_acquire)) {
            {
                std::lock_guard lock(m_devices);
                poll_io();  // takes no input here: only Ctrl-A x and the console's output
            }
            wait_for_io(kInputIoTickNs);
            continue;
        }
        if (m_history_end) {  // resumed at the end of the history: it stops there again
            if (holds_history()) {
                stop_for_travel(0, true);
                continue;
            }
            m_history_end = false;  // the debugger let go there: the replay ends
            if (inputs_stop_here()) continue;
        }
        if (!std::exchange(m_resume_after_round_end, false)) {
            if (!run_round()) continue;  // stopped for the debugger: the round goes on later
            poll_devices();
            if (inputs_stop_here()) continue;
        }
        if (const uint64_t ns = quota.charge()) wait_for_io(ns);
        if (!m_finished.load(std::memory_order_acquire) && all_waiting()) {
            idle_with_inputs();
            poll_devices();
        }
    }
    std::lock_guard lock(m_devices);
    return *m_result;
}

// The guest ended (or the replay did) with a debugger attached to a replay: the debugger hears
// of it as the end of the history and may rewind the machine; true while it has not ended it.
bool RiscvMachine::hold_at_history_end() {
    if (!holds_history()) return false;
    if (!m_history_end) stop_for_travel(0, true);
    return true;
}

// A debugger that can rewind the replay is attached and has not ended it.
bool RiscvMachine::holds_history() const {
    return m_debugger && m_inputs != nullptr && m_inputs->rewindable() &&
           m_debugger_attached.load(std::memory_order_acquire) && !m_killed.load(std::memory_order_acquire);
}

// The loop of harts in turn is about to return: finished, and no debugger holds a replay's end
// (a held loop parks for a pause as a running one does).
bool RiscvMachine::loop_ending() const {
    return m_finished.load(std::memory_order_acquire) && !holds_history();
}

// The rest of the round from m_turn; false if a hart stopped for the debugger (or a travel
// arrived) before its end.
bool RiscvMachine::run_round() {
    const uint64_t slice = m_harts.size() > 1 ? kSliceSmp : kSliceSingle;
    for (; m_turn.hart < m_harts.size(); m_turn = Turn{m_turn.hart + 1, 0}) {
        const unsigned i = m_turn.hart;
        if (m_turn.done == 0) {
            inputs_position(false);
            sync_instruction_time(*m_harts[i]);
        }
        sync_debug(i);
        bool budget_spent = true;
        while (m_turn.done < slice) {
            if (travel_arrived(i)) return false;
            const ExactRun r = run_exact(i, travel_limit(i, slice - m_turn.done));
            m_icount += r.retired;
            m_turn.done += r.retired;
            note_history(i, r.retired);
            if (r.exit == EngineExit::Debug) {
                if (scan_hit(i)) continue;
                debug_stopped(i);
                return false;
            }
            if (r.exit == EngineExit::Wfi || r.retired == 0) {
                budget_spent = false;  // waits in WFI, or takes trap after trap: its slice ends
                break;
            }
        }
        if (travel_arrived(i)) return false;
        if (budget_spent && m_harts.size() > 1) {
            // Harts take turns: a reservation cannot survive another hart's slice, which may
            // have stored to it (unpriv spec §8.2 allows failing the SC).
            for (auto& other : m_harts) {
                if (other.get() != m_harts[i].get()) other->s.reservation_valid = false;
            }
        }
    }
    m_turn = Turn{};
    return true;
}

// --- time travel --------------------------------------------------------------------------------

// At most n instructions of hart i, fewer if the travel's goal comes first.
uint64_t RiscvMachine::travel_limit(unsigned i, uint64_t n) const {
    if (!m_travel) return n;
    if (m_travel->position && *m_travel->position > m_icount) n = std::min(n, *m_travel->position - m_icount);
    if (m_travel->hart_count && m_travel->hart_count->first == i && m_travel->hart_count->second > m_hart_icount[i])
        n = std::min(n, m_travel->hart_count->second - m_hart_icount[i]);
    return n;
}

// The travel's goal is here, before hart i's next instruction: the debugger hears of it.
bool RiscvMachine::travel_arrived(unsigned i) {
    if (!m_travel) return false;
    const bool at = (m_travel->position && *m_travel->position <= m_icount) ||
                    (m_travel->hart_count && m_travel->hart_count->first == i &&
                     m_travel->hart_count->second <= m_hart_icount[i]);
    if (!at) return false;
    stop_for_travel(i, false);
    return true;
}

void RiscvMachine::stop_for_travel(unsigned hart, bool history_end) {
    m_travel.reset();
    m_history_end = history_end;
    m_travel_stop = true;
    debug_stopped(hart);
}

// A point hit while scanning: noted, and the instruction run with the points out of the way.
bool RiscvMachine::scan_hit(unsigned i) {
    if (!m_travel || !m_travel->scan) return false;
    rv64::Hart& h = *m_harts[i];
    m_scan_hits.push_back(ScanHit{m_icount, i, h.debug_event()});
    h.clear_debug_event();
    const rv64::DebugPoints* points = h.debug_points();
    h.set_debug_points(nullptr);
    const auto outcome = rv64::interp::step_instruction(h, true);
    h.set_debug_points(points);
    h.flush_tlb();  // what the step cached may bypass a watchpoint
    if (outcome == rv64::interp::StepOutcome::Retired) {
        ++m_icount;
        ++m_turn.done;
        note_history(i, 1);
    }
    return true;
}

// Only a replay under the debugger keeps its schedule (a recording, or a replay nothing can
// rewind, would grow it with every turn of its harts for nothing).
void RiscvMachine::note_history(unsigned i, uint64_t retired) {
    if (retired == 0 || !m_debugger || !m_inputs->rewindable()) return;
    m_hart_icount[i] += retired;
    if (!m_history.empty() && m_history.back().hart == i && m_history.back().end == m_icount - retired) {
        m_history.back().end = m_icount;
        return;
    }
    m_history.push_back(Segment{i, m_icount - retired, m_icount});
}

RiscvMachine::LoopState RiscvMachine::loop_state() const {
    LoopState s{m_icount, m_turn, m_resume_after_round_end, {}};
    for (const auto& h : m_harts) s.times.push_back(h->instruction_time());
    return s;
}

// The schedule up to the loop's position is what it was (the replay is deterministic): the
// history is cut there and the harts' counts follow from it.
Result<void> RiscvMachine::rewind(const snapshot::SnapshotContents& snap, int memory_fd, const LoopState& loop) {
    assert(paused() && m_inputs != nullptr);
    {
        std::lock_guard lock(m_devices);
        m_console.flush();
    }
    TRAPEZE_TRY(m_mem.replace_from_file(memory_fd));
    TRAPEZE_TRY(restore_state(snap));
    m_engine->flush_code();
    m_icount = loop.icount;
    m_turn = loop.turn;
    m_resume_after_round_end = loop.after_round_end;
    for (size_t i = 0; i < m_harts.size() && i < loop.times.size(); ++i) m_harts[i]->set_instruction_time(loop.times[i]);
    while (!m_history.empty() && m_history.back().start >= m_icount) m_history.pop_back();
    if (!m_history.empty()) m_history.back().end = std::min(m_history.back().end, m_icount);
    std::fill(m_hart_icount.begin(), m_hart_icount.end(), 0);
    for (const Segment& seg : m_history) m_hart_icount[seg.hart] += seg.end - seg.start;
    m_travel.reset();
    m_scan_hits.clear();
    m_history_end = false;
    m_travel_stop = false;
    for (auto& h : m_harts) h->clear_debug_event();
    m_debug_stop.store(false, std::memory_order_release);
    std::lock_guard lock(m_devices);
    m_result.reset();
    m_finished.store(false, std::memory_order_release);
    return ok();
}

// Hart `i` runs until it retired exactly `n` instructions, waits in WFI, or stops for the
// debugger. The engine runs it in slices that cannot overshoot (a slice ends at a block
// boundary at most a block past its budget, and budget units are at least the instructions
// retired); the last instructions run one at a time through the interpreter's semantics,
// which take interrupts and treat WFI where the engines' dispatchers do (before an
// instruction: the only places an interrupt can become deliverable are where blocks end).
// A hart that retires nothing for a whole engine run, or for as many steps as a tail holds,
// takes trap after trap: its slice ends there (as a slice of budget units would).
RiscvMachine::ExactRun RiscvMachine::run_exact(unsigned i, uint64_t n) {
    constexpr uint64_t kTail = 2 * rv64::interp::CodeCache::kMaxBlockInsns;
    rv64::Hart& h = *m_harts[i];
    ExactRun r;
    uint64_t idle_steps = 0;
    while (r.retired < n) {
        const uint64_t left = n - r.retired;
        if (left > kTail) {
            const uint64_t before = m_engine->retired();
            r.exit = m_engine->run(h, left - rv64::interp::CodeCache::kMaxBlockInsns);
            const uint64_t retired = m_engine->retired() - before;
            r.retired += retired;
            if (r.exit != EngineExit::Budget || retired == 0) return r;
            continue;
        }
        if (idle_steps++ == kTail) return r;
        if (h.s.wfi) {
            if (!h.wfi_wakeup()) return {r.retired, EngineExit::Wfi};
            h.s.wfi = false;
        }
        h.take_attention();
        const rv64::DebugPoints* points = h.debug_points();
        if (points != nullptr && points->is_breakpoint(h.s.pc)) {
            h.stop_at_breakpoint();
            return {r.retired, EngineExit::Debug};
        }
        switch (rv64::interp::step_instruction(h, true)) {
            case rv64::interp::StepOutcome::Retired:
                ++r.retired;
                idle_steps = 0;
                break;
            case rv64::interp::StepOutcome::Stopped: return {r.retired, EngineExit::Debug};
            default: break;  // a trap or an interrupt taken: nothing retired
        }
    }
    r.exit = EngineExit::Budget;
    return r;
}

Result<snapshot::MemorySaveStats> RiscvMachine::save_snapshot_in_loop(const SnapshotTarget& target) {
    assert(m_inputs != nullptr);
    // The loop stands between rounds: no hart runs, as if paused (the clock is the inputs').
    {
        std::lock_guard control(m_control);
        ++m_pauses;
    }
    auto saved = save_snapshot(target);
    std::lock_guard control(m_control);
    --m_pauses;
    return saved;
}

}  // namespace trapeze::machine
